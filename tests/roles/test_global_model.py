"""The next global model is computed from on-chain records only; edge cases of the weights."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from flock.contracts import Outcome
from flock.protocol.types import Proposal, RoundInfo
from flock.roles.global_model import (
    aggregate_accepted,
    aggregate_from_chain,
    base_model,
    damped_rejections,
)
from flock.store import UpdateStore


@dataclass
class RecordedRound:
    """The on-chain record of one settled round, as TaskClient's views return it."""

    recorded: list[Proposal]
    accepted_mask: int
    scores: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def round_info(self, round_: int) -> RoundInfo:
        return RoundInfo(0, 0, 5, len(self.recorded), 3, 3, Outcome.SETTLED,
                         self.accepted_mask, 0)  # fmt: skip

    def proposals(self, round_: int) -> list[Proposal]:
        return self.recorded

    def revealed_scores(self, round_: int) -> dict[str, tuple[int, ...]]:
        return self.scores


def _record(store: UpdateStore, vectors: list[torch.Tensor], samples: list[int]) -> list[Proposal]:
    return [
        Proposal(1, f"0x{i:040x}", i, store.put(v, {"round": "1"}), n, "")
        for i, (v, n) in enumerate(zip(vectors, samples, strict=True))
    ]


CONSENSUS = OmegaConf.create({"name": "consensus"})


def test_accepted_updates_are_weighted_by_median_score_and_samples(tmp_path: Path) -> None:
    store = UpdateStore(tmp_path)
    a, b, c = torch.zeros(4), torch.ones(4), torch.full((4,), 9.0)
    proposals = _record(store, [a, b, c], [10, 30, 5])
    # baseline first; proposal 2 rejected (mask 0b011)
    ballots = {"v1": (5000, 8000, 8000, 100), "v2": (5000, 6000, 8000, 0), "v3": (0, 8000, 8000, 0)}
    rec = RecordedRound(proposals, 0b011, ballots)
    digest, vector = aggregate_from_chain(CONSENSUS, rec, store, 1)  # type: ignore[arg-type]
    # medians 8000 and 8000: weights 10*8000 : 30*8000
    assert torch.allclose(vector, torch.full((4,), 0.75))
    assert store.get(digest).vector.equal(vector)


def test_all_zero_medians_fall_back_to_sample_weights(tmp_path: Path) -> None:
    store = UpdateStore(tmp_path)
    proposals = _record(store, [torch.zeros(3), torch.ones(3)], [1, 3])
    rec = RecordedRound(proposals, 0b11, {"v1": (0, 0, 0), "v2": (0, 0, 0), "v3": (0, 0, 0)})
    _, vector = aggregate_from_chain(CONSENSUS, rec, store, 1)  # type: ignore[arg-type]
    assert torch.allclose(vector, torch.full((3,), 0.75))


def test_nothing_accepted_means_no_new_model(tmp_path: Path) -> None:
    store = UpdateStore(tmp_path)
    proposals = _record(store, [torch.zeros(3)], [1])
    rec = RecordedRound(proposals, 0, {"v1": (0, 0)})
    assert aggregate_from_chain(CONSENSUS, rec, store, 1) is None  # type: ignore[arg-type]


@dataclass
class ChainView(RecordedRound):
    """A task whose round 1 settled; `pending` says whether its aggregate awaits attestation."""

    pending: int = 0
    adopted: bytes = b""

    def pending_aggregate_round(self) -> int:
        return self.pending

    def global_model(self) -> tuple[bytes, int]:
        return self.adopted, 0


def test_base_model_is_the_recomputed_pending_aggregate_not_a_posted_hash(tmp_path: Path) -> None:
    # Prepare: round 1 accepted two updates and is pending; the adopted model is the initial one
    store = UpdateStore(tmp_path)
    initial = store.put(torch.zeros(4), {"kind": "initial", "round": "0"})
    recorded = _record(store, [torch.ones(4), 3 * torch.ones(4)], [10, 10])
    view = ChainView(recorded, 0b11, {"0xv": (5000, 8000, 8000)}, pending=1, adopted=initial)
    # Execute
    base = base_model(CONSENSUS, view, store, 4)  # type: ignore[arg-type]
    # Assert: this member's own recomputation, stored under the hash it attests
    assert not base.adopted and base.round == 1
    torch.testing.assert_close(base.params, 2 * torch.ones(4))
    assert store.get(base.model_hash).vector.tolist() == [2.0] * 4
    # the base records no screening yardstick: the proposals name no base blob at hand
    assert base.update_norms == ()


def test_the_base_carries_the_norms_of_the_updates_it_aggregates(tmp_path: Path) -> None:
    # Prepare: round 1 accepted updates of norm 2, 4 and 10 from the initial model (zeros)
    store = UpdateStore(tmp_path)
    initial = store.put(torch.zeros(4), {"kind": "initial", "round": "0"})
    vectors = [torch.full((4,), 1.0), torch.full((4,), 2.0), torch.full((4,), 5.0)]
    recorded = [
        Proposal(1, f"0x{i:040x}", i, store.put(v, {"round": "1"}), 10, "", initial)
        for i, v in enumerate(vectors)
    ]
    view = ChainView(recorded, 0b111, {"0xv": (5000, 8000, 8000, 8000)}, pending=1,
                     adopted=initial)  # fmt: skip
    # Execute
    base = base_model(CONSENSUS, view, store, 4)  # type: ignore[arg-type]
    # Assert: the yardstick the next voters screen against, which no later proposer moves
    assert base.update_norms == (2.0, 4.0, 10.0)
    # a rejected update (mask 0b011) is not part of it
    view.accepted_mask = 0b011
    assert base_model(CONSENSUS, view, store, 4).update_norms == (2.0, 4.0)  # type: ignore[arg-type]


def test_base_model_without_a_pending_aggregate_is_the_adopted_model(tmp_path: Path) -> None:
    store = UpdateStore(tmp_path)
    initial = store.put(torch.full((4,), 7.0), {"kind": "initial", "round": "0"})
    view = ChainView([], 0, pending=0, adopted=initial)
    base = base_model(CONSENSUS, view, store, 4)  # type: ignore[arg-type]
    assert base.adopted and base.model_hash == initial
    torch.testing.assert_close(base.params, torch.full((4,), 7.0))


def _moved_from(
    store: UpdateStore, start: torch.Tensor, moves: list[torch.Tensor]
) -> list[Proposal]:
    """Round 1's proposals of 10 samples each, `start` + each move, naming `start` (stored as
    the initial model) as their base."""
    base = store.put(start, {"kind": "initial", "round": "0"})
    return [
        Proposal(1, f"0x{i:040x}", i, store.put(start + m, {"round": "1"}), 10, "", base)
        for i, m in enumerate(moves)
    ]


def test_clipped_consensus_clips_around_the_base_the_proposals_name(tmp_path: Path) -> None:
    # Prepare: from the base (1, 1), updates (3, 4), (0, 1), (0, 2): norms 5, 1, 2, median 2
    store = UpdateStore(tmp_path)
    start = torch.tensor([1.0, 1.0])
    moves = [torch.tensor([3.0, 4.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.0, 2.0])]
    recorded = _moved_from(store, start, moves)
    view = RecordedRound(recorded, 0b111, {"0xv": (5000, 8000, 8000, 8000)})
    clipped = OmegaConf.create({"name": "consensus", "kwargs": {"clip_ratio": 1.0}})
    # Execute
    _, vector = aggregate_from_chain(clipped, view, store, 1)  # type: ignore[arg-type]
    _, plain = aggregate_from_chain(CONSENSUS, view, store, 1)  # type: ignore[arg-type]
    # Assert: (3, 4) cut to (1.2, 1.6); equal weights; the default rule does not clip
    torch.testing.assert_close(vector, start + torch.tensor([0.4, 4.6 / 3]))
    torch.testing.assert_close(plain, start + torch.tensor([1.0, 7.0 / 3]))


def test_damped_consensus_from_chain_counts_the_rounds_rejected_proposals(tmp_path: Path) -> None:
    # Prepare: from the base (1, 1), 3 proposals, the last rejected (mask 0b011), equal weights
    store = UpdateStore(tmp_path)
    start = torch.tensor([1.0, 1.0])
    moves = [torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0]), torch.tensor([90.0, 90.0])]
    recorded = _moved_from(store, start, moves)
    view = RecordedRound(recorded, 0b011, {"0xv": (5000, 8000, 8000, 0)})
    damped = OmegaConf.create({"name": "consensus", "kwargs": {"damp_rejected": True}})
    # Execute
    _, vector = aggregate_from_chain(damped, view, store, 1)  # type: ignore[arg-type]
    _, plain = aggregate_from_chain(CONSENSUS, view, store, 1)  # type: ignore[arg-type]
    # Assert: the accepted average (1.5, 1.5) away from the base, two thirds of the way
    torch.testing.assert_close(plain, start + torch.tensor([1.5, 1.5]))
    torch.testing.assert_close(vector, start + torch.tensor([1.0, 1.0]))
    # attack: the rejected proposer claims 100,000 samples to stall the step; it damps it by
    # its one seat all the same
    view.recorded[2] = replace(view.recorded[2], num_samples=100_000)
    _, claimed = aggregate_from_chain(damped, view, store, 1)  # type: ignore[arg-type]
    assert torch.equal(claimed, vector)


def test_centered_clipping_starts_from_the_base_model(tmp_path: Path) -> None:
    # Prepare: two models (3, 4) and (0, 0) away from the base (10, 10); tau 1, one step
    store = UpdateStore(tmp_path)
    start = torch.tensor([10.0, 10.0])
    recorded = _moved_from(store, start, [torch.tensor([3.0, 4.0]), torch.zeros(2)])
    view = RecordedRound(recorded, 0b11, {"0xv": (5000, 8000, 8000)})
    rule = OmegaConf.create({"name": "centered_clipping", "kwargs": {"tau": 1.0, "iterations": 1}})
    # Execute
    _, vector = aggregate_from_chain(rule, view, store, 1)  # type: ignore[arg-type]
    # Assert: base + ((0.6, 0.8) + (0, 0)) / 2, not a clip around the origin
    torch.testing.assert_close(vector, torch.tensor([10.3, 10.4]))


CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs" / "aggregation").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_aggregation_config_aggregates_a_rounds_accepted_updates(path: Path) -> None:
    # Prepare: seven accepted models around a base, as a member recomputes them
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(16, generator=generator)
    vectors = [base + 0.1 * torch.randn(16, generator=generator) for _ in range(7)]
    # Execute
    aggregate = aggregate_accepted(
        OmegaConf.load(path), vectors, [10] * 7, [8000] * 7, base=lambda: base, proposals=9
    )
    # Assert: a model near the base, in the updates' dtype
    assert aggregate.shape == (16,) and aggregate.dtype == torch.float32
    assert float(torch.linalg.vector_norm(aggregate - base)) < 1.0


def test_the_damped_consensus_leaves_each_rejected_proposals_share_at_the_base() -> None:
    # Prepare: 1 of 4 proposals accepted (the other 3 rejected), base 0, update (4, 8)
    damped = OmegaConf.create({"name": "consensus", "kwargs": {"damp_rejected": True}})
    base = torch.zeros(2)
    vectors = [torch.tensor([4.0, 8.0])]
    # Execute
    aggregate = aggregate_accepted(damped, vectors, [10], [9000], base=lambda: base, proposals=4)
    # Assert: a quarter of the way, not the accepted member's model outright
    assert torch.equal(aggregate, torch.tensor([1.0, 2.0]))
    # every proposal accepted: the plain consensus, bit for bit
    plain = OmegaConf.create({"name": "consensus", "kwargs": {}})
    pair = [torch.tensor([4.0, 8.0]), torch.tensor([0.5, 0.25])]
    assert torch.equal(
        aggregate_accepted(damped, pair, [3, 5], [7000, 9000], base=lambda: base, proposals=2),
        aggregate_accepted(plain, pair, [3, 5], [7000, 9000], base=lambda: base),
    )
    # without the round's proposal count (or with fewer proposals than accepted updates) the
    # rejected share is unknown: refused, not guessed
    for n in (None, 0):
        with pytest.raises(ValueError, match="proposal count"):
            aggregate_accepted(damped, vectors, [10], [9000], base=lambda: base, proposals=n)


def test_damping_above_a_rejected_share_counts_only_rounds_the_rejected_outnumber() -> None:
    # the share is strict and exact in integers: 2 of 3 rejected is above a half, 1 of 3 and
    # 10 of 20 are not; 0 bps damps on any rejection, 10000 never
    assert damped_rejections(3, 1, 5000) == 2
    assert damped_rejections(3, 2, 5000) == 0
    assert damped_rejections(20, 10, 5000) == 0
    assert damped_rejections(20, 9, 5000) == 11
    assert damped_rejections(3, 2, 0) == 1
    assert damped_rejections(3, 3, 0) == 0
    assert damped_rejections(3, 1, 10000) == 0
    for bad in (-1, 10001, 2500.5, True):
        with pytest.raises(ValueError, match="damp_above_rejected_bps"):
            damped_rejections(3, 1, bad)


def test_the_outnumbered_damping_takes_the_full_step_when_most_proposals_pass() -> None:
    # Prepare: base 0, one accepted update (3, 6); damping only above half the proposals
    outnumbered = OmegaConf.create(
        {"name": "consensus", "kwargs": {"damp_rejected": True, "damp_above_rejected_bps": 5000}}
    )
    base = torch.zeros(2)
    vectors = [torch.tensor([3.0, 6.0])]

    def step(proposals: int) -> torch.Tensor:
        return aggregate_accepted(
            outnumbered, vectors, [10], [9000], base=lambda: base, proposals=proposals
        )

    # Execute / Assert: accepted 1 of 3, the two rejected outnumber it: a third of the way
    assert torch.equal(step(3), torch.tensor([1.0, 2.0]))
    # accepted 1 of 2: not outnumbered, the accepted model outright (the plain consensus)
    assert torch.equal(step(2), torch.tensor([3.0, 6.0]))


def test_a_bad_damping_share_is_refused_with_the_damping_off_too() -> None:
    # Prepare: the share set (to a float) while damp_rejected is off; it must not lie in wait
    for kwargs in (
        {"damp_above_rejected_bps": 50.0},
        {"damp_rejected": False, "damp_above_rejected_bps": -1},
    ):
        bad = OmegaConf.create({"name": "consensus", "kwargs": kwargs})
        # Execute / Assert
        with pytest.raises(ValueError, match="damp_above_rejected_bps"):
            aggregate_accepted(
                bad, [torch.ones(2)], [10], [9000], base=lambda: torch.zeros(2), proposals=3
            )
    # a good share with the damping off is the plain consensus
    plain = OmegaConf.create(
        {"name": "consensus", "kwargs": {"damp_rejected": False, "damp_above_rejected_bps": 5000}}
    )
    kept = aggregate_accepted(
        plain, [torch.ones(2)], [10], [9000], base=lambda: torch.zeros(2), proposals=3
    )
    assert torch.equal(kept, torch.ones(2))
