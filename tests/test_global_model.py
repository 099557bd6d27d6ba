"""The next global model is computed from on-chain records only; edge cases of the weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from omegaconf import OmegaConf

from flock.contracts import Outcome
from flock.contracts.types import Proposal, RoundInfo
from flock.global_model import aggregate_from_chain
from flock.store import UpdateStore


@dataclass
class RecordedRound:
    """The on-chain record of one settled round, as TaskClient's views return it."""

    recorded: list[Proposal]
    accepted_mask: int
    scores: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def round_info(self, round_: int) -> RoundInfo:
        return RoundInfo(0, 0, 5, len(self.recorded), 3, 3, Outcome.SETTLED, False, True,
                         self.accepted_mask)  # fmt: skip

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
