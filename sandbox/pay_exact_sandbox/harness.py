"""Serve a WSGI app on a localhost port in a background thread (for the CLI and for tests)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without one access-log line per request (the request log has them)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class ServedApp:
    """A WSGI application listening on 127.0.0.1; port 0 picks a free port."""

    def __init__(self, app: object, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler
        )
        self.host = host
        self.port = self._server.server_port
        # A short poll interval keeps shutdown fast: tests start and stop many sandboxes.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def close(self) -> None:
        """Release the port of a server that was never started."""
        self._server.server_close()

    def serve_forever(self) -> None:
        """Block in the current thread (the CLI's foreground mode)."""
        self._server.serve_forever()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SharedServer:
    """A server one customer's sandbox shares with others: its URL; stopping it is the owner's.

    Handles of single customers on a multi-customer server carry this, so stopping a customer
    never stops the others' server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])

    def start(self) -> Self:
        return self

    def stop(self) -> None:
        return None
