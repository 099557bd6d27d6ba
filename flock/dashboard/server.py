"""Serve the dashboard with uvicorn: in the foreground (`flock dashboard`) or in a thread
(tests, screenshots)."""

from __future__ import annotations

import logging
import socket
import threading
from types import FrameType, TracebackType

import uvicorn

from flock.dashboard.app import Dashboard, create_app
from flock.dashboard.settings import DashboardSettings
from flock.storeservice.server import bind_socket, run_in_thread

log = logging.getLogger(__name__)


class DashboardServerError(RuntimeError):
    """The dashboard could not listen (port taken, or it did not come up in time)."""


def _bind(host: str, port: int) -> socket.socket:
    try:
        return bind_socket(host, port)
    except OSError as exc:
        raise DashboardServerError(f"cannot listen on {host}:{port}: {exc}") from exc


class _Server(uvicorn.Server):
    """uvicorn's server that ends the dashboard's event streams as soon as it is asked to
    exit (open streams would otherwise hold the shutdown until its timeout)."""

    def __init__(self, config: uvicorn.Config, dashboard: Dashboard) -> None:
        super().__init__(config)
        self.dashboard = dashboard

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.dashboard.stop(timeout=0)
        super().handle_exit(sig, frame)


class DashboardServer:
    """One dashboard served by uvicorn; use as a context manager for a thread.

    Parameters
    ----------
    dashboard : Dashboard
        The snapshot poller (started and stopped with the server).
    settings : DashboardSettings
        Host (127.0.0.1 unless told otherwise), port (0: a free one) and the stream's timings.
    """

    def __init__(self, dashboard: Dashboard, settings: DashboardSettings) -> None:
        self.dashboard = dashboard
        self.settings = settings
        self.host = settings.host
        self.port = settings.port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """The page's URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def _prepare(self) -> tuple[uvicorn.Server, socket.socket]:
        if not self.settings.loopback:
            log.warning("the dashboard listens on %s: reachable from other machines", self.host)
        sock = self._socket = _bind(self.host, self.port)
        self.port = int(sock.getsockname()[1])
        self.dashboard.start()
        config = uvicorn.Config(
            create_app(self.dashboard, self.settings),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=int(max(1, self.settings.shutdown_s)),
        )
        self._server = _Server(config, self.dashboard)
        return self._server, sock

    def serve(self) -> None:
        """Serve in the foreground until SIGINT or SIGTERM."""
        server, sock = self._prepare()
        log.info("dashboard of %s at %s", self.dashboard.feed.source, self.url)
        try:
            server.run(sockets=[sock])
        finally:
            self._close()

    def start(self, timeout: float = 10.0) -> DashboardServer:
        """Serve in a daemon thread; return once the server runs."""
        server, sock = self._prepare()
        try:
            self._thread = run_in_thread(server, sock, name="flock-dashboard-http", timeout=timeout)
        except TimeoutError:
            self.stop()
            raise DashboardServerError(f"the dashboard did not start on {self.url}") from None
        log.info("dashboard of %s at %s", self.dashboard.feed.source, self.url)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and polling; release the port."""
        self.dashboard.stop()  # first: open event streams end
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()

    def _close(self) -> None:
        self.dashboard.stop()
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
