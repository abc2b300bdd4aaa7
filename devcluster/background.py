"""An HTTP server (on 127.0.0.1 unless told otherwise) served from a background thread, with
a stop that is safe even when it never started."""

from __future__ import annotations

import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHUTDOWN_POLL_S = 0.05


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        """HTTPServer's bind also looks its address up in reverse DNS (socket.getfqdn), which
        waits out the resolver's timeout where no resolver answers, as inside a simulated
        host's network namespace. The name is only used for CGI variables: keep the address."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class BackgroundServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler] | object, name: str,
                 port: int = 0, host: str = "127.0.0.1") -> None:
        self.httpd = _HTTPServer((host, port), handler)
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": SHUTDOWN_POLL_S},
                                        daemon=True, name=name)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve loop that never ran
            self.httpd.shutdown()
        self.httpd.server_close()
