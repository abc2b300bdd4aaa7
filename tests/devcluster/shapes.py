"""Compare a JSON document's shape with a recorded one: same types for shared keys."""

from __future__ import annotations


def merged_items(items: list) -> object:
    """One example standing for every element of a recorded list (dict keys merged)."""
    dicts = [i for i in items if isinstance(i, dict)]
    if not dicts:
        return items[0] if items else None
    merged: dict = {}
    for item in dicts:
        for key, value in item.items():
            if key not in merged or (isinstance(value, (dict, list)) and value):
                merged[key] = value
    return merged


def json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (dict, list, str, int, float)) or value is None:
        return type(value).__name__
    return repr(type(value))


def shape_mismatches(ours: object, recorded: object, path: str = "$") -> list[str]:
    """Paths where both documents have a value but of different JSON types."""
    if recorded is None:
        return []
    if json_type(ours) != json_type(recorded):
        return [f"{path}: {json_type(ours)} here, {json_type(recorded)} recorded"]
    problems: list[str] = []
    if isinstance(ours, dict):
        for key in ours.keys() & recorded.keys():
            problems += shape_mismatches(ours[key], recorded[key], f"{path}.{key}")
    elif isinstance(ours, list) and ours and recorded:
        example = merged_items(recorded)
        for index, item in enumerate(ours):
            problems += shape_mismatches(item, example, f"{path}[{index}]")
    return problems


def missing_keys(ours: object, recorded: object, path: str = "$") -> list[str]:
    """Keys the recorded document has (at any depth reached by both) that ours lacks."""
    out: list[str] = []
    if isinstance(ours, dict) and isinstance(recorded, dict):
        for key in recorded.keys() - ours.keys():
            out.append(f"{path}.{key}")
        for key in ours.keys() & recorded.keys():
            out += missing_keys(ours[key], recorded[key], f"{path}.{key}")
    elif isinstance(ours, list) and isinstance(recorded, list) and ours and recorded:
        out += missing_keys(ours[0], merged_items(recorded), f"{path}[]")
    return out
