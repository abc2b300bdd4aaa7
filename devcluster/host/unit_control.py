"""Client of the master emulator's per-agent unit control endpoint (`control_url`).

POST {"action": "start"|"stop"|"restart"} -> 202; GET -> {"unit", "active_state",
"active_since", "restarts"}. http.client is imported on first use: most stand-in calls
never need it.
"""

from __future__ import annotations

import json

from devcluster.host.errors import UnitControlError

CONTROL_TIMEOUT_S = 10.0


def _exchange(url: str, method: str, body: bytes | None) -> tuple[int, bytes]:
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection)
    connection = connection_class(parts.netloc, timeout=CONTROL_TIMEOUT_S)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise UnitControlError(f"cannot reach {url}: {exc}") from exc
    finally:
        connection.close()


def post_action(url: str, action: str) -> None:
    status, body = _exchange(url, "POST", json.dumps({"action": action}).encode())
    if status != 202:
        detail = body.decode(errors="replace").strip()[:200]
        raise UnitControlError(f"{url} answered {status} to {action!r}: {detail}")


def get_state(url: str) -> dict:
    status, body = _exchange(url, "GET", None)
    if status != 200:
        raise UnitControlError(f"{url} answered {status}")
    try:
        state = json.loads(body)
    except ValueError as exc:
        raise UnitControlError(f"{url} answered with invalid JSON: {exc}") from exc
    if not isinstance(state, dict) or not isinstance(state.get("active_state"), str):
        raise UnitControlError(f"{url} answered without an active_state: {body[:200]!r}")
    return state
