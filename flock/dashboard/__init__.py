"""`flock dashboard`: a read-only web page that watches one task live, from its chain (views
and events) or from a run directory's event log; it holds no key."""

from flock.dashboard.app import Dashboard, create_app
from flock.dashboard.feeds import ChainFeed, Feed, FeedError, RunDirFeed, alliance_feed
from flock.dashboard.records import TaskRecords
from flock.dashboard.server import DashboardServer, DashboardServerError
from flock.dashboard.settings import DashboardSettings, dashboard_command
from flock.dashboard.snapshot import build_snapshot

__all__ = [
    "ChainFeed",
    "Dashboard",
    "DashboardServer",
    "DashboardServerError",
    "DashboardSettings",
    "Feed",
    "FeedError",
    "RunDirFeed",
    "TaskRecords",
    "alliance_feed",
    "build_snapshot",
    "create_app",
    "dashboard_command",
]
