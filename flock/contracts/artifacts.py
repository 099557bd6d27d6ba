"""Compiled contract artifacts (ABI and bytecode) shipped as package data, loaded once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Artifact:
    """ABI and bytecode of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


@cache
def load_artifact(name: str) -> Artifact:
    """Load the shipped artifact of contract `name` (e.g. ``"AllianceTask"``).

    Raises
    ------
    FileNotFoundError
        If no artifact of that name is shipped (run ``python -m flock.contracts.build``).
    """
    path = resources.files("flock.contracts") / "artifacts" / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no contract artifact {name!r}; run `python -m flock.contracts.build`"
        )
    data = json.loads(path.read_text())
    return Artifact(
        name=name,
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
    )


def all_abis() -> list[list[dict[str, Any]]]:
    """ABIs of every shipped contract (used to decode custom errors from any of them)."""
    return [load_artifact(n).abi for n in ("AllianceTask", "TaskFactory", "FlockToken")]
