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


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (`host`, `port`) (IPv6 when `host` has a colon; port 0: a free
    one; a given port is reused at once, for restarts), not yet listening.

    Raises
    ------
    OSError
        When the address cannot be bound (the socket is closed).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def run_in_thread(
    server: uvicorn.Server, sock: socket.socket, *, name: str, timeout: float
) -> threading.Thread:
    """Run uvicorn `server` on the bound `sock` in a daemon thread named `name`; return the
    thread once the server has started.

    Raises
    ------
    TimeoutError
        When it has not started within `timeout` seconds or its thread died (the server is
        asked to exit and its thread joined).
    """
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout)
            raise TimeoutError(f"{name} did not start within {timeout:g} s")
        time.sleep(0.01)
    return thread


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
        sock = self._socket = bind_socket(self.host, self.port)
        self.port = int(sock.getsockname()[1])
        self._server = uvicorn.Server(_config(self.app, "warning"))
        try:
            self._thread = run_in_thread(self._server, sock, name="flock-store", timeout=timeout)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"the store service did not start on {self.url}") from None
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
