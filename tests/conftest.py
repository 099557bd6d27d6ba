"""Suite-wide settings for running the tests on several pytest-xdist workers.

`scripts/test.sh` runs the suite on two workers (`-n 2 --dist loadgroup`). Tests that start
member processes, Ray or Flower's runtime check that none of their processes outlive them by
scanning `/proc`, so a second worker's processes would look like leftovers: those tests share
one xdist group and run one after another on one worker, while the other worker takes the rest.
Tests that share a module-scoped fixture of their own module (a played run, the defence smoke)
share a group too, so that the fixture is built once, not once per worker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Test folders (under tests/) whose tests start processes that other tests look for.
PROCESS_GROUP_DIRS = ("flower",)
PROCESS_GROUP = "processes"


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist each worker shares the 2 cores with another: one torch thread each, as the
    alliance's member processes do (two threads per process slow down sharply when another
    process holds a core)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


def _uses_own_module_fixture(item: pytest.Item, module_id: str) -> bool:
    """Whether `item` uses a module-scoped fixture defined in its own test module."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        d.scope == "module" and d.baseid == module_id
        for defs in info.name2fixturedefs.values()
        for d in defs
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put every test of PROCESS_GROUP_DIRS into one xdist group, and the tests of a module
    that share its module-scoped fixture into a group of that module (see the docstring).
    First of the hook's implementations: xdist's worker turns the groups into its scheduling
    scopes in its own implementation, and a mark added after that groups nothing."""
    root = Path(__file__).resolve().parent
    for item in items:
        parts = Path(str(item.path)).resolve().relative_to(root).parts
        if parts and parts[0] in PROCESS_GROUP_DIRS:
            item.add_marker(pytest.mark.xdist_group(PROCESS_GROUP))
            continue
        module_id = item.nodeid.split("::", 1)[0]
        if _uses_own_module_fixture(item, module_id):
            item.add_marker(pytest.mark.xdist_group(f"module:{module_id}"))
