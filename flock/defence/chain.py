"""The same run played on the real contract: `flock run`'s in-process alliance, recorded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from flock.attacks import plan_attacks
from flock.defence.config import resolve_variant, with_fraction
from flock.defence.result import RunResult
from flock.defence.world import attacker_indices


def chain_run(cfg: DictConfig, run_dir: Path) -> RunResult:
    """Play `cfg` under flock's rule on the real contract; record it as a simulated run is.

    This is `flock run`'s in-process alliance (:func:`flock.local.alliance.build_alliance` and
    :func:`~flock.local.experiment.play`): the contract deployed on the embedded chain, every
    participant sending its own transactions, the contract drawing the roles and settling each
    round. Same data, model, training and behaviours as
    :func:`~flock.defence.engine.simulate` for the same seed; the role draws differ (the
    contract's seeds are not the simulation's). Backdoor success is not recorded here.

    Parameters
    ----------
    cfg : DictConfig
        As for :func:`~flock.defence.engine.simulate`; `defence.name` must be flock's rule.
    run_dir : pathlib.Path
        Where the update store and nothing else is written.
    """
    from flock.contracts.connect import open_chain
    from flock.local.alliance import build_alliance
    from flock.local.experiment import play
    from flock.spec import validate_config

    started = time.perf_counter()
    label = str(cfg.defence.name)
    cfg = resolve_variant(with_fraction(cfg))
    if str(cfg.defence.name) != "flock":
        raise ValueError(f"only flock's rule runs on the contract, not {cfg.defence.name!r}")
    validate_config(cfg)
    torch.set_num_threads(int(cfg.torch_threads))
    with open_chain(cfg.chain) as chain:
        alliance = build_alliance(cfg, chain, run_dir)
        play(cfg, alliance)
    addresses = [m.address for m in alliance.members]
    index = {a: i for i, a in enumerate(addresses)}
    malicious = {m.address for m in alliance.members if m.proposer_behaviour != "honest"}
    plan = plan_attacks(
        cast(dict[str, Any], OmegaConf.to_container(cfg.attack)),
        n=len(addresses),
        seed=int(cfg.seed),
    )
    result = RunResult.for_run(
        cfg,
        defence=label,
        rule="flock",
        participants=len(addresses),
        attackers=attacker_indices(plan),
        on_chain=True,
    )
    bad = set(result.attackers)
    for record in alliance.records:
        if record.round > int(cfg.task.rounds):  # the closing round: attestations only
            for address, _, _ in record.slashes:
                result.first_slashed.setdefault(index[address], record.round)
            continue
        result.accuracy.append(round(record.quality, 6))
        stakes = [record.stakes[a] for a in addresses]
        honest = [s for i, s in enumerate(stakes) if i not in bad]
        attack = [s for i, s in enumerate(stakes) if i in bad]
        result.honest_stake.append(round(float(np.mean(honest)), 6) if honest else float("nan"))
        result.attacker_stake.append(round(float(np.mean(attack)), 6) if attack else float("nan"))
        for address, _, _ in record.slashes:
            result.first_slashed.setdefault(index[address], record.round)
        if not record.accepted:
            result.skipped_rounds += 1
        result.attack_updates += sum(a in malicious for a in record.accepted + record.rejected)
        result.attack_updates_accepted += sum(a in malicious for a in record.accepted)
    result.seconds = round(time.perf_counter() - started, 3)
    return result
