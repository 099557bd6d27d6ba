"""Who may upload to a task's blob service, read from the chain: the task's members (its
roster, ``isParticipant``) and its creator (who publishes the initial model)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flock.contracts import TaskClient

#: A membership check: lowercase address in, whether it may upload out.
MemberCheck = Callable[[str], bool]


def task_membership(task: TaskClient) -> MemberCheck:
    """A check that asks `task`'s contract whether an address is on its roster or created it
    (the service remembers a yes for a while: ``ServiceSettings.membership_ttl_s``). Calls
    are serialised: the service's worker threads share one chain client."""
    lock = threading.Lock()
    creator: list[str] = []

    def is_member(address: str) -> bool:
        with lock:
            if not creator:
                creator.append(task.creator().lower())
            return address.lower() == creator[0] or task.is_participant(address)

    return is_member
