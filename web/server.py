"""Run a WSGI app under waitress in a background thread, with a clean, prompt `stop()`."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from waitress.server import BaseWSGIServer, create_server

from web.app import MAX_BODY_BYTES
from web.errors import WebConfigError

log = logging.getLogger(__name__)

SERVER_THREADS = 8
STOP_TIMEOUT_S = 10.0


@dataclass
class ServerHandle:
    """A running server: its bound `host` and `port`, `url`, and `stop()`."""

    host: str
    port: int
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def stop(self) -> None:
        """Close the listening socket and every connection, then end the worker threads.

        The closing happens on the server's own loop thread (through its trigger), because
        waitress's socket map may only be changed from there.
        """
        if not self._thread.is_alive():
            return
        server = self._server

        def close_everything() -> None:
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        server.trigger.pull_trigger(close_everything)
        self._thread.join(STOP_TIMEOUT_S)
        server.task_dispatcher.shutdown(timeout=STOP_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning("web server thread did not stop within %.0f s", STOP_TIMEOUT_S)
        else:
            log.info("web server on %s:%d stopped", self.host, self.port)


def serve(app: object, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
    """Start serving `app` on `host`:`port` (0 picks a free port) and return at once."""
    # waitress buffers a body of up to 1 GiB by default before the app sees the request; the
    # cap here makes it answer 413 at once instead (it refuses a body of `max` bytes or more).
    server = create_server(app, host=host, port=port, threads=SERVER_THREADS, ident="calico-dcos",
                           max_request_body_size=MAX_BODY_BYTES + 1)
    if not isinstance(server, BaseWSGIServer):
        raise WebConfigError(f"serve() binds exactly one socket, not {host!r}")
    bound_port = int(server.effective_port)
    thread = threading.Thread(target=server.run, name=f"web-{bound_port}", daemon=True)
    thread.start()
    log.info("web server listening on %s:%d", host, bound_port)
    return ServerHandle(host, bound_port, server, thread)
