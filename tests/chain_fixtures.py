"""What the chain tests of several folders share (importable by name: tests/ is on sys.path
through tests/conftest.py): the stand-in task parameters and the stand-in aggregate hashes of
tasks played without blobs."""

from __future__ import annotations

from eth_utils import keccak

from flock.contracts import RewardRule, TaskClient, TaskParams

TOKEN = 10**18

BASE_PARAMS = TaskParams(
    spec_hash=b"\x11" * 32,
    initial_model_hash=b"\x22" * 32,
    min_stake=10 * TOKEN,
    max_participants=12,
    proposers_per_round=2,
    max_voters=16,
    min_voters=1,
    rounds=3,
    enrol_period=600,
    propose_period=300,
    commit_period=300,
    reveal_period=300,
    max_samples=10_000,
    slash_bps=1000,
    tolerance_bps=200,
    peer_tolerance_bps=1500,
    mad_multiplier_x100=300,
    min_deviation_bps=500,
    wash_mad_bps=1500,
    voter_share_bps=3000,
    reward_rule=RewardRule.GEOMETRIC,
    softmax_temperature_bps=100,
    base_band_bps=10_000,  # base scores unjudged: these tests give voters biases of their own
    accept_tolerance_bps=200,  # two-way: accepted or slashed, nothing declined
    accept_peer_tolerance_bps=1500,
)


def stand_in_aggregate(round_: int) -> bytes:
    """A deterministic stand-in for the hash of round `round_`'s aggregate (these tests have
    no blobs to aggregate; honest members all compute the same stand-in)."""
    return keccak(b"agg" + round_.to_bytes(32, "big"))


def honest_attestation(task: TaskClient) -> bytes:
    """What an honest voter of the current round attests: the pending aggregate (its stand-in)
    when one is pending, else the adopted global model."""
    pending = task.pending_aggregate_round()
    return stand_in_aggregate(pending) if pending else task.global_model()[0]


def honest_base(task: TaskClient) -> bytes:
    """The base model an honest proposer of the current round trained from (same rule)."""
    return honest_attestation(task)
