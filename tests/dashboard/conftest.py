"""Fixtures of the dashboard's tests."""

from __future__ import annotations

import pytest
from played_tasks import PlayedTask, play_task


@pytest.fixture(scope="session")
def played() -> PlayedTask:
    """One task of 6 members played to its end (2 rounds and the closing round)."""
    return play_task()
