"""The keys of a run's members: derived from the run seed on dev chains, random elsewhere."""

from __future__ import annotations

from eth_utils import keccak
from omegaconf import DictConfig

from flock.contracts.tx import Signer


def participant_signer(cfg: DictConfig, index: int) -> Signer:
    """Participant `index`'s key (-1: the task creator): derived from the run seed on dev chains
    (reproducible runs), fresh and random elsewhere."""
    if str(cfg.chain.kind) == "rpc" and not cfg.chain.get("dev"):
        return Signer.create()
    return Signer.from_key(keccak(f"flock/{cfg.seed}/participant/{index}".encode()))
