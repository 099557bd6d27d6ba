"""Sweep engine of the defence benchmark: one alliance under attack, played in process.

Everything but the chain is flock's own: the data splits, model and training of `flock run`, the
participants' :class:`~flock.roles.Proposer` and :class:`~flock.roles.Voter` with the behaviours
of the `attack` config group (:mod:`flock.attacks`), and the contract's role draw
(:func:`flock.roles.assign_roles`, on seeds drawn from the run's seed). A round is settled by

- ``flock``: flock's consensus rule through :func:`flock.protocol.settlement.settle_round`, the
  Python mirror that a differential test finds identical to `AllianceTask.settle`; the accepted
  updates are aggregated by the consensus rule, as `flock run` does;
- ``flock_paper``: the FLock paper's whole-aggregate vote (:mod:`flock.protocol.flock_paper`);
- a baseline of :data:`flock.defence.baselines.BASELINES`: no settlement, every proposer's update
  aggregated by the real Flower strategy.

The rules differ only in settlement and aggregation: the same seed gives the same splits,
initial model, role draws (until the paper's rule removes someone) and training.
:func:`chain_run` plays the same configuration on the real contract instead (`flock run`'s
in-process alliance), for the benchmark's smoke mode.

The benchmark over the engine (`benchmarks/defence.py` is its command line): the grid's names
and paths (:mod:`~flock.defence.grid`), its Hydra multiruns (:mod:`~flock.defence.sweep`), the
summaries and goals (:mod:`~flock.defence.summary`), the report (:mod:`~flock.defence.report`,
:mod:`~flock.defence.notes`, :mod:`~flock.defence.plots`), the CI smoke
(:mod:`~flock.defence.smoke`) and the diagnosis of honest rejections
(:mod:`~flock.defence.diagnose`).
"""

from flock.defence.chain import chain_run
from flock.defence.config import (
    DEFENCES,
    RULES,
    attack_with_fraction,
    resolve_variant,
    with_fraction,
)
from flock.defence.engine import simulate
from flock.defence.result import RunResult
from flock.defence.world import MemoryStore, attacker_indices, role_seed

__all__ = [
    "DEFENCES",
    "MemoryStore",
    "RULES",
    "RunResult",
    "attack_with_fraction",
    "attacker_indices",
    "chain_run",
    "resolve_variant",
    "role_seed",
    "simulate",
    "with_fraction",
]
