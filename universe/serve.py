"""Serve a built repo the way Universe's server does, so `dcos package repo add` takes it.

Cosmos fetches the repo URL (`/repo`) with `Accept:` listing the repo media types it reads
(v5, v4, v3) and `User-Agent: ... dcos/<release>`. We answer with the index built for the
newest DC/OS release line not newer than the client's whose media version the client
accepts, labelled with that exact media type. A client that accepts none gets 406.
The built files are also served as they are (read only, never outside the build directory).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from universe.build import DCOS_RELEASES, MEDIA_TYPE, media_version
from universe.errors import UniverseError

LOG = logging.getLogger(__name__)
REPO_PATH = "/repo"
REPO_MEDIA = "application/vnd.dcos.universe.repo+json"
_DCOS_AGENT = re.compile(r"dcos/(\d+)\.(\d+)")
STATIC_TYPES = {".json": "application/json", ".mustache": "text/plain; charset=utf-8",
                ".content_type": "text/plain; charset=utf-8"}


@dataclass(frozen=True)
class MediaRange:
    type: str
    version: str | None
    quality: float


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header; none means the client takes anything."""
    if not header:
        return [MediaRange("*/*", None, 1.0)]
    ranges = []
    for part in header.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        params = dict(piece.partition("=")[::2] for piece in pieces[1:] if "=" in piece)
        params = {key.strip().lower(): value.strip().strip('"') for key, value in params.items()}
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            quality = 0.0
        ranges.append(MediaRange(pieces[0].lower(), params.get("version"), quality))
    return ranges


def accepts(ranges: list[MediaRange], version: str) -> bool:
    for media in ranges:
        if media.quality <= 0:
            continue
        if media.type in ("*/*", "application/*"):
            return True
        if media.type == REPO_MEDIA and media.version in (None, version):
            return True
    return False


def client_release(user_agent: str | None) -> str:
    """The DC/OS release line in `dcos/X.Y`; unknown or newer clients get the newest."""
    match = _DCOS_AGENT.search(user_agent or "")
    if match:
        key = (int(match.group(1)), int(match.group(2)))
        known = [r for r in DCOS_RELEASES if tuple(map(int, r.split("."))) <= key]
        if known:
            return known[-1]
        return DCOS_RELEASES[0]
    return DCOS_RELEASES[-1]


def choose_index(accept: str | None, user_agent: str | None) -> str | None:
    """The DC/OS release whose repo index answers this request, or None (406)."""
    ranges = parse_accept(accept)
    newest = DCOS_RELEASES.index(client_release(user_agent))
    for release in reversed(DCOS_RELEASES[:newest + 1]):
        if accepts(ranges, media_version(release)):
            return release
    return None


def make_handler(root: Path) -> type[BaseHTTPRequestHandler]:
    root = root.resolve()

    class RepoHandler(BaseHTTPRequestHandler):
        server_version = "calico-dcos-universe"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = unquote(self.path.split("?", 1)[0])
            if path == REPO_PATH:
                self._repo()
            else:
                self._static(path)

        def _repo(self) -> None:
            release = choose_index(self.headers.get("Accept"), self.headers.get("User-Agent"))
            if release is None:
                supported = ", ".join(MEDIA_TYPE.format(v) for v in ("v5", "v4", "v3"))
                self._send(HTTPStatus.NOT_ACCEPTABLE, "text/plain; charset=utf-8",
                           f"acceptable media types: {supported}\n".encode())
                return
            body = (root / f"repo-up-to-{release}.json").read_bytes()
            self._send(HTTPStatus.OK, MEDIA_TYPE.format(media_version(release)), body)

        def _static(self, path: str) -> None:
            target = (root / path.lstrip("/")).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")
                return
            content_type = STATIC_TYPES.get(target.suffix, "application/octet-stream")
            self._send(HTTPStatus.OK, content_type, target.read_bytes())

        def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            LOG.info("%s %s", self.address_string(), format % args)

    return RepoHandler


def make_server(root: Path, host: str, port: int) -> ThreadingHTTPServer:
    """A server for the built repo under `root`; call `serve_forever()` on it."""
    if not (root / f"repo-up-to-{DCOS_RELEASES[-1]}.json").is_file():
        raise UniverseError(f"no built repo under {root}; run `python -m universe build` first")
    return ThreadingHTTPServer((host, port), make_handler(root))
