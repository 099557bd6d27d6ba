"""Gas per participant per round and settlement gas, measured on the in-process EVM.

Prints `name: value` lines:
  gas_per_participant_round[N]: total gas of a round (all participants' txs + settle) / N,
      worst steady-state round (rounds >= 3, when per-round slots are reused; the closing
      round after the last one, voters attesting the last aggregate, counts as a round)
  gas_per_participant_round: the worst over the N played
  closing_round_gas[N]: total gas of the closing round (vote commits, reveals, settle)
  settle_gas_max: settlement gas at the largest committee the contract allows
  settle_block_share_pct: that gas as a share of a 30M block
"""

from __future__ import annotations

import argparse
import logging
import random
from collections import defaultdict

from eth_utils import keccak

from flock.contracts import (
    Chain,
    EmbeddedChain,
    RewardRule,
    RpcChain,
    TaskParams,
)
from flock.contracts.anvil import AnvilProcess
from flock.contracts.participant import ChainParticipant
from flock.local.devnet import deploy_local_alliance

log = logging.getLogger("benchmarks.gas")

TOKEN = 10**18
BLOCK_GAS = 30_000_000
MAX_PROPOSERS = 32  # AllianceTask.MAX_PROPOSERS
MAX_VOTERS = 64  # AllianceTask.MAX_VOTERS


def play(
    chain: Chain, n: int, proposers: int, voters: int, rounds: int, seed: int
) -> dict[str, float]:
    """Play `rounds` full rounds with `n` participants; return gas figures."""
    rng = random.Random(seed)
    params = TaskParams(
        spec_hash=b"\x01" * 32,
        initial_model_hash=b"\x02" * 32,
        min_stake=10 * TOKEN,
        max_participants=n,
        proposers_per_round=proposers,
        max_voters=voters,
        min_voters=1,
        rounds=rounds,
        enrol_period=3600,
        propose_period=600,
        commit_period=600,
        reveal_period=600,
        max_samples=1_000_000,
        slash_bps=1000,
        tolerance_bps=200,
        peer_tolerance_bps=1500,
        mad_multiplier_x100=300,
        min_deviation_bps=500,
        wash_mad_bps=1500,
        voter_share_bps=3000,
        reward_rule=RewardRule.GEOMETRIC,
        softmax_temperature_bps=100,
        base_band_bps=500,
        accept_tolerance_bps=200,
        accept_peer_tolerance_bps=1500,
    )
    driver = deploy_local_alliance(
        chain,
        params,
        participants=n,
        stake=50 * TOKEN,
        reward_pool=10_000 * TOKEN,
        token_supply=10**9 * TOKEN,
        tokens_each=100 * TOKEN,
    ).driver
    driver.start()
    task = driver.task

    def base_model() -> bytes:
        """The round's base model: the pending aggregate (a stand-in hash per round: no blobs
        here), else the adopted global model; what proposers train from and voters attest."""
        pending = task.pending_aggregate_round()
        return stand_in_aggregate(pending) if pending else task.global_model()[0]

    def propose(p: ChainParticipant, r: int) -> tuple[bytes, int, str, bytes]:
        digest = rng.randbytes(32)
        return digest, 100, f"file:///store/{digest.hex()}.safetensors", base_model()

    def score(p: ChainParticipant, r: int, proposals: list) -> tuple[list[int], bytes]:
        base = 8000 + rng.randint(-50, 50)
        return [base] + [8100 + rng.randint(-50, 50) for _ in proposals], base_model()

    for r in range(1, rounds + 1):
        driver.play_round(r, propose, score)
        log.info("n=%d round %d done", n, r)
    closing = rounds + 1
    if task.pending_aggregate_round():  # the closing round attests the last aggregate
        driver.play_round(closing, propose, score)
        log.info("n=%d closing round done", n)
    assert task.status()[1], "the task did not end"

    per_round: dict[int, int] = defaultdict(int)
    settle: dict[int, int] = {}
    per_fn: dict[str, list[int]] = defaultdict(list)
    for rec in driver.gas_log:
        per_round[rec.round] += rec.gas
        per_fn[rec.function].append(rec.gas)
        if rec.function == "settle":
            settle[rec.round] = rec.gas
    steady = [r for r in per_round if r >= 3] or [r for r in per_round if r >= 1]
    figures = {
        "gas_per_participant_round": max(per_round[r] for r in steady) / n,
        "settle_gas": max(settle.values()),
        "closing_round_gas": per_round.get(closing, 0),
    }
    for fn, values in per_fn.items():
        figures[f"max_gas_{fn}"] = max(values)
    steady_fn: dict[str, list[int]] = defaultdict(list)
    for rec in driver.gas_log:
        if rec.round in steady:
            steady_fn[rec.function].append(rec.gas)
    for fn, values in steady_fn.items():
        figures[f"steady_gas_{fn}"] = sum(values) / len(values)
    return figures


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-max-committee", action="store_true")
    parser.add_argument(
        "--chain", choices=["anvil", "embedded"], default="anvil", help="gas is the same on both"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.chain == "anvil":
        with AnvilProcess() as node:
            report(args, lambda: RpcChain(node.url, dev=True))
    else:
        report(args, EmbeddedChain)


def report(args: argparse.Namespace, new_chain) -> None:
    """Play every size and print the figures."""
    worst = 0.0
    for n in args.sizes:
        proposers = max(1, min(MAX_PROPOSERS, n // 5))
        voters = min(MAX_VOTERS, n - proposers)
        fig = play(new_chain(), n, proposers, voters, args.rounds, args.seed)
        worst = max(worst, fig["gas_per_participant_round"])
        print(f"gas_per_participant_round[{n}]: {fig['gas_per_participant_round']:.0f}")
        for key, value in sorted(fig.items()):
            if key.startswith(("max_gas_", "steady_gas_")) or key in (
                "settle_gas",
                "closing_round_gas",
            ):
                print(f"{key}[{n}]: {value:.0f}")
    print(f"gas_per_participant_round: {worst:.0f}")
    print("goal_gas_per_participant_round: 120000")
    if not args.skip_max_committee:
        n = MAX_PROPOSERS + MAX_VOTERS
        fig = play(new_chain(), n, MAX_PROPOSERS, MAX_VOTERS, 3, args.seed)
        print(f"settle_gas_max: {fig['settle_gas']:.0f}")
        print(f"settle_block_share_pct: {100 * fig['settle_gas'] / BLOCK_GAS:.1f}")
        print("goal_settle_block_share_pct: 50")


def stand_in_aggregate(round_: int) -> bytes:
    """A deterministic stand-in for the hash of round `round_`'s aggregate."""
    return keccak(b"agg" + round_.to_bytes(32, "big"))


if __name__ == "__main__":
    main()
