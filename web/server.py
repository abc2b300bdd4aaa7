"""Run a WSGI app under waitress in a background thread, with a clean, prompt `stop()`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from waitress.server import BaseWSGIServer, create_server

from web.app import MAX_BODY_BYTES
from web.errors import WebConfigError

log = logging.getLogger(__name__)

SERVER_THREADS = 8
STOP_TIMEOUT_S = 10.0


@dataclass
class ServerHandle:
    """A running server: its first bound `host`, the `port` every address shares, `url`,
    and `stop()`."""

    host: str
    port: int
    _running: list[tuple[BaseWSGIServer, threading.Thread]] = field(repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self) -> None:
        for server, thread in self._running:
            _stop(server, thread)


def _stop(server: BaseWSGIServer, thread: threading.Thread) -> None:
    """Close the listening socket and every connection, then end the worker threads.

    The closing happens on the server's own loop thread (through its trigger), because
    waitress's socket map may only be changed from there.
    """
    if not thread.is_alive():
        return

    def close_everything() -> None:
        for dispatcher in list(server._map.values()):
            dispatcher.close()

    try:
        server.trigger.pull_trigger(close_everything)
    except OSError as exc:
        # The loop's wake-up pipe is already closed (the loop closes it on a poll error):
        # nothing can wake it, so close from here; its next poll finds the map empty.
        log.warning("web server trigger unusable (%s); closing its sockets directly", exc)
        close_everything()
    thread.join(STOP_TIMEOUT_S)
    server.task_dispatcher.shutdown(timeout=STOP_TIMEOUT_S)
    if thread.is_alive():
        log.warning("web server thread did not stop within %.0f s", STOP_TIMEOUT_S)
    else:
        log.info("web server on %s:%s stopped", server.effective_host, server.effective_port)


def serve(app: object, host: str | Sequence[str] = "127.0.0.1", port: int = 0) -> ServerHandle:
    """Start serving `app` on each address in `host` (one or several) at `port` (0: the
    first address picks a free port and the others use the same) and return at once."""
    hosts = [host] if isinstance(host, str) else list(host)
    if not hosts:
        raise WebConfigError("serve() needs at least one address")
    running: list[tuple[BaseWSGIServer, threading.Thread]] = []
    try:
        for address in hosts:
            # waitress buffers a body of up to 1 GiB by default before the app sees the
            # request; this cap makes it answer 413 at once (it refuses `max` bytes or more).
            server = create_server(app, host=address, port=port, threads=SERVER_THREADS,
                                   ident="calico-dcos", max_request_body_size=MAX_BODY_BYTES + 1)
            if not isinstance(server, BaseWSGIServer):
                server.close()
                raise WebConfigError(f"{address!r} names more than one address")
            port = int(server.effective_port)
            thread = threading.Thread(target=server.run, name=f"web-{address}-{port}",
                                      daemon=True)
            thread.start()
            running.append((server, thread))
            log.info("web server listening on %s:%d", address, port)
    except BaseException:
        for server, thread in running:
            _stop(server, thread)
        raise
    return ServerHandle(hosts[0], port, running)
