"""Run the blob service: in this process's foreground (`flock store serve`) or in a thread
(tests, and the in-process `flock run store=http`)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` as (host, port).

    Raises
    ------
    ValueError
        For text without a numeric port.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"an address is host:port, got {address!r}")
    return host.strip("[]"), int(port)


def _config(app: Any, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        ws="none",
        timeout_keep_alive=30,
    )


def serve(app: Any, address: str, *, log_level: str = "info") -> None:
    """Serve `app` on `address` until SIGINT or SIGTERM (uvicorn stops gracefully)."""
    host, port = parse_address(address)
    config = _config(app, log_level.lower())
    config.host, config.port = host, port
    uvicorn.Server(config).run()


class ServiceThread:
    """The service on 127.0.0.1 in a daemon thread; use as a context manager.

    Parameters
    ----------
    app : ASGI app
        The service app (:func:`flock.storeservice.app.create_app`), or one wrapping it.
    host : str
        Interface to listen on.
    port : int
        Port (0: a free one; a given port is reused at once, for restarts).
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """The service's base URL."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServiceThread:
        """Bind, start serving and wait until the server runs."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        self._socket = sock
        self._server = uvicorn.Server(_config(self.app, "warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="flock-store", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the store service did not start on {self.url}")
            time.sleep(0.01)
        log.info("store service at %s", self.url)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (open connections are closed) and release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> ServiceThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
