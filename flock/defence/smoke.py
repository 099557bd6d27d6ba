"""The defence benchmark's CI smoke: a few attacks at the scale of `experiment=defence_smoke`,
flock's rule on the real contract, everything else simulated."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from flock.defence.chain import chain_run
from flock.defence.engine import simulate
from flock.defence.grid import (
    AGGREGATOR_DEFENCES,
    BASELINES,
    CONFIG_DIR,
    LOGGER,
    SMOKE_ATTACKS,
    SMOKE_ETA,
)
from flock.defence.summary import committee, figure_lines, summarise

log = logging.getLogger(LOGGER)

#: flock's rule on the contract and in its mirror, the variant with clipped accepted updates,
#: the paper's rule, the Flower baselines and flock's rules without a vote.
SMOKE_DEFENCES = (
    *("flock", "flock_mirror", "flock_clip", "flock_paper"),
    *BASELINES,
    *AGGREGATOR_DEFENCES,
)


def smoke(out_dir: Path) -> list[str]:
    """digits, eta 0.3, label flip, a colluding cartel, aggregate posters and weight inflation,
    1 seed, at the scale of
    `experiment=defence_smoke`: flock's rule on the real contract (the embedded EVM); its
    Python mirror, `flock_clip`, the paper's rule, the Flower baselines and flock's rules
    without a vote (geometric median, centered clipping) simulated."""
    results = []
    started = time.perf_counter()
    for attack in SMOKE_ATTACKS:
        for defence in SMOKE_DEFENCES:
            eta = "null" if attack == "none" else str(SMOKE_ETA)
            name = "flock" if defence == "flock_mirror" else defence
            with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
                cfg = compose(
                    config_name="config",
                    overrides=[
                        "+experiment=defence_smoke",
                        f"attack={attack}",
                        f"defence.attack_name={attack}",
                        f"defence.name={name}",
                        f"defence.eta={eta}",
                        "seed=0",
                    ],
                )
            if defence == "flock":
                result = chain_run(cfg, out_dir / f"chain_{attack}")
            else:
                result = simulate(cfg)
                result.defence = defence
            log.info(
                "%s/%s: %.4f in %.1f s", attack, defence, result.final_accuracy, result.seconds
            )
            results.append(result)
    first = results[0]
    header = [
        f"smoke: digits, K = {first.participants} participants, {first.rounds} rounds, "
        f"eta = {SMOKE_ETA}, seed 0 (the full grid: K = 50, 20 rounds, 3 seeds); flock's rule "
        "on the real contract (embedded EVM), flock_mirror its Python mirror, the rest simulated",
        f"smoke_seconds: {time.perf_counter() - started:.1f}",
        f"smoke_chain_seconds: {sum(r.seconds for r in results if r.on_chain):.1f}",
    ]
    return header + figure_lines(summarise(results, committee("defence_smoke")))
