"""Who may upload to a task's blob service, read from the chain: the task's members (its
roster, ``isParticipant``) and its creator (who publishes the initial model)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flock.contracts import TaskClient

#: A membership check: lowercase address in, whether it may upload out.
MemberCheck = Callable[[str], bool]


def task_membership(task: TaskClient, *, ttl_s: float = 10.0) -> MemberCheck:
    """A check that asks `task`'s contract whether an address is on its roster or created it.

    A yes is remembered for `ttl_s` seconds (a member who left is refused after that); a no
    is asked again every time (a member may have joined since). Calls are serialised: the
    service's worker threads share one chain client.
    """
    lock = threading.Lock()
    members: dict[str, float] = {}
    creator: list[str] = []

    def is_member(address: str) -> bool:
        address = address.lower()
        with lock:
            now = time.monotonic()
            if members.get(address, 0.0) > now:
                return True
            if not creator:
                creator.append(task.creator().lower())
            allowed = address == creator[0] or task.is_participant(address)
            if allowed:
                members[address] = now + ttl_s
            return allowed

    return is_member
