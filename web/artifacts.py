"""`GET /artifacts/<path>`: files the Mesos fetcher downloads (the installer .pyz and per-agent
rendered config files), served from one directory and never from outside it."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_file

from web.context import get_context
from web.errors import ApiError

bp = Blueprint("artifacts", __name__)


def resolve_artifact(root: Path, name: str) -> Path:
    """The regular file `name` under `root`; `ApiError` 404 for anything else, including
    names that climb out of `root` with `..`, absolute paths or symlinks pointing outside."""
    base = root.resolve()
    try:
        candidate = (base / name).resolve()
        found = candidate.is_relative_to(base) and candidate.is_file()
    except (ValueError, OSError):  # a NUL byte, a name too long: no such file either
        found = False
    if not found:
        raise ApiError(404, f"no artifact named {name!r}")
    return candidate


@bp.get("/artifacts/<path:name>")
def artifact(name: str) -> Response:
    root = get_context().artifacts_dir
    if root is None:
        raise ApiError(404, "this scheduler serves no artifacts")
    path = resolve_artifact(root, name)
    return send_file(path, mimetype="application/octet-stream", conditional=True, max_age=0)
