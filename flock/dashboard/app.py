"""The dashboard's web app (FastAPI): the page and its script from the package, the latest
snapshot as JSON, and a stream of snapshots as server-sent events. Read-only: GET only."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from flock.dashboard.feeds import Feed, FeedError
from flock.dashboard.settings import DashboardSettings
from flock.dashboard.snapshot import build_snapshot

log = logging.getLogger(__name__)

STATIC = resources.files("flock.dashboard") / "static"

#: Sent with every response: the page loads nothing from elsewhere and runs no inline code.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Dashboard:
    """Polls a feed in a thread and keeps the latest snapshot (as JSON text, with a version
    that changes only when the snapshot does).

    Parameters
    ----------
    feed : Feed
        Where the task is read.
    poll_s : float
        Seconds between two polls.
    """

    def __init__(self, feed: Feed, *, poll_s: float = DashboardSettings.poll_s) -> None:
        self.feed = feed
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._version = 0
        self._text = json.dumps({"ok": False, "error": "reading the task ...", "loading": True})
        self._last_good: dict[str, Any] | None = None
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop.is_set()

    def latest(self) -> tuple[int, str]:
        """(version, JSON text) of the latest snapshot."""
        with self._lock:
            return self._version, self._text

    def refresh(self) -> dict[str, Any]:
        """Poll the feed once and publish the new snapshot; on a read error, publish the
        error with the last data read (and log it once, until it changes)."""
        try:
            snapshot = build_snapshot(self.feed.poll())
            self._last_good = snapshot
            if self._last_error is not None:
                log.info("reading %s again", self.feed.source)
                self._last_error = None
        except (FeedError, ValueError) as exc:
            message = str(exc)
            if message != self._last_error:
                log.error("dashboard: %s", message)
                self._last_error = message
            snapshot = {
                **(self._last_good or {}),
                "ok": False,
                "error": message,
                "source": self.feed.source,
                "stale": self._last_good is not None,
            }
        text = json.dumps(snapshot, separators=(",", ":"))
        with self._lock:
            if text != self._text:
                self._text = text
                self._version += 1
        return snapshot

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.refresh()
            except Exception:  # a bug must not stop the page from updating
                log.exception("dashboard refresh failed")

    def start(self) -> Dashboard:
        """Read once now, then every `poll_s` in a daemon thread."""
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="flock-dashboard", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling (open event streams end)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def create_app(dashboard: Dashboard, settings: DashboardSettings | None = None) -> FastAPI:
    """The dashboard's app: ``/`` the page, ``/static/*`` its script and style, ``/api/snapshot``
    the latest snapshot, ``/api/stream`` snapshots as server-sent events, ``/healthz``."""
    cfg = settings or DashboardSettings()
    app = FastAPI(title="flock dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    page = (STATIC / "index.html").read_text()

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/api/snapshot")
    async def snapshot() -> Response:
        return Response(dashboard.latest()[1], media_type="application/json")

    @app.get("/healthz")
    async def health() -> dict[str, Any]:
        ok = json.loads(dashboard.latest()[1]).get("ok", False)
        return {"ok": bool(ok), "source": dashboard.feed.source}

    @app.get("/api/stream")
    async def stream(request: Request) -> StreamingResponse:
        return StreamingResponse(
            _events(request, dashboard, cfg),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )

    return app


async def _events(
    request: Request, dashboard: Dashboard, cfg: DashboardSettings
) -> AsyncIterator[str]:
    """Every new snapshot as one `snapshot` event; a comment when idle for `heartbeat_s`."""
    yield f"retry: {int(cfg.stream_retry_ms)}\n\n"
    sent, beat = -1, time.monotonic()
    while not dashboard.stopped:
        version, text = dashboard.latest()
        if version != sent:
            yield f"id: {version}\nevent: snapshot\ndata: {text}\n\n"
            sent, beat = version, time.monotonic()
        elif time.monotonic() - beat >= cfg.heartbeat_s:
            yield ": keep-alive\n\n"
            beat = time.monotonic()
        if await request.is_disconnected():
            break
        await asyncio.sleep(cfg.stream_check_s)
