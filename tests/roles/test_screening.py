"""Update screening: what a voter refuses to score before looking at accuracy."""

from __future__ import annotations

import pytest
import torch

from flock.roles import ScreeningRules, median_update_norm, moved_update_norms, screen_updates

#: The defaults with the median-relative no-work floor on (off by default), to test that floor.
RULES = ScreeningRules(max_norm_ratio=10.0, min_norm_ratio=0.001, duplicate_ratio=0.01)
DEFAULT = ScreeningRules()


def _round(n: int, d: int = 50, seed: int = 0) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A global model and `n` honest proposals: global + an update of norm 0.5 to 2."""
    g = torch.Generator().manual_seed(seed)
    global_params = torch.randn(d, generator=g)
    proposals = []
    for i in range(n):
        update = torch.randn(d, generator=g)
        update *= (0.5 + 1.5 * i / max(n - 1, 1)) / update.norm()
        proposals.append(global_params + update)
    return global_params, proposals


def test_honest_updates_of_varied_norms_pass() -> None:
    global_params, proposals = _round(8)
    assert screen_updates(global_params, proposals, RULES) == {}


def test_a_boosted_update_is_out_of_bounds() -> None:
    # model replacement scales its update by n / eta (x20 here)
    global_params, proposals = _round(8)
    proposals[3] = global_params + 20 * (proposals[3] - global_params)
    failed = screen_updates(global_params, proposals, RULES)
    assert list(failed) == [3]
    assert "> 10 x median" in failed[3]


def test_the_global_model_resubmitted_carries_no_work() -> None:
    global_params, proposals = _round(6)
    proposals[0] = global_params.clone()
    failed = screen_updates(global_params, proposals, DEFAULT)
    assert failed == {0: "update norm 0: the global model resubmitted"}
    # even alone in its round, with no yardstick to compare with
    assert list(screen_updates(global_params, [global_params.clone()], DEFAULT)) == [0]


def test_a_median_relative_no_work_floor_is_opt_in() -> None:
    global_params, proposals = _round(6)
    proposals[0] = global_params + 1e-4 * (proposals[0] - global_params)
    assert screen_updates(global_params, proposals, DEFAULT) == {}
    failed = screen_updates(global_params, proposals, RULES)
    assert list(failed) == [0]
    assert "< 0.001 x median" in failed[0]


def test_an_honest_member_that_already_fits_its_data_is_not_refused() -> None:
    # Tiny private splits: a member whose samples the global model already fits barely moves
    # (norms 1e-5 to 5e-4 of its round's median); two such members are close to each other
    # only because both are close to the global model, which does not make either a copy
    global_params, proposals = _round(8)
    g = torch.Generator().manual_seed(3)
    for i, scale in ((2, 1e-5), (5, 2e-5), (6, 5e-4)):
        direction = torch.randn(len(global_params), generator=g)
        proposals[i] = global_params + scale * direction / direction.norm()
    assert screen_updates(global_params, proposals, DEFAULT) == {}
    old_rules = ScreeningRules(min_norm_ratio=0.001, duplicate_ratio=0.01)
    assert sorted(screen_updates(global_params, proposals, old_rules)) == [2, 5, 6]


def test_a_copy_is_refused_and_its_original_is_not() -> None:
    global_params, proposals = _round(6)
    proposals.append(proposals[2].clone())  # published after the original
    proposals.append(proposals[4] + 1e-6)  # a copy with a trace of noise
    failed = screen_updates(global_params, proposals, RULES)
    assert sorted(failed) == [6, 7]
    assert failed[6] == "copy of proposal at position 2"
    assert failed[7] == "copy of proposal at position 4"


def test_resubmitted_global_models_do_not_drag_the_reference_norm_down() -> None:
    # 4 free riders among 7: the median of all norms would be 0 and every honest update
    # "oversized"; the reference is the median of the updates that moved
    global_params, proposals = _round(3)
    proposals += [global_params.clone() for _ in range(4)]
    assert sorted(screen_updates(global_params, proposals, RULES)) == [3, 4, 5, 6]


def test_a_proposer_majority_of_tiny_copies_cannot_get_honest_updates_refused() -> None:
    # The draw gave colluders 11 of 20 proposer seats; they publish one tiny update 11 times.
    # The round's own median norm is theirs, and every honest update looks 10x oversized.
    global_params, honest = _round(9)
    tiny = global_params + 0.04 * (honest[0] - global_params) / (honest[0] - global_params).norm()
    proposals = honest + [tiny.clone() for _ in range(11)]
    own_median = screen_updates(global_params, proposals, RULES)
    assert set(range(9)) <= set(own_median)  # the attack, against the round's own median
    # Pooled with the norms of the updates the previous committee accepted, no honest update
    # is refused; the copies are (the first tiny update is merely small, which is not a fault)
    reference = moved_update_norms(global_params, honest)
    failed = screen_updates(global_params, proposals, RULES, reference_norms=reference)
    assert sorted(failed) == list(range(10, 20))


def test_a_proposer_majority_of_boosted_updates_is_refused_and_honest_ones_are_not() -> None:
    # 11 boosted updates of norm ~70 make the round's median theirs: against it alone they look
    # ordinary and honest updates 1 % of it apart look like copies of each other
    global_params, honest = _round(9)
    g = torch.Generator().manual_seed(7)
    boosted = [global_params + 70 * torch.randn(50, generator=g) / 50**0.5 for _ in range(11)]
    proposals = honest + boosted
    assert not set(screen_updates(global_params, proposals, RULES)) & set(range(9, 20))
    reference = moved_update_norms(global_params, honest)
    failed = screen_updates(global_params, proposals, RULES, reference_norms=reference)
    assert sorted(failed) == list(range(9, 20))  # every boosted update, no honest one


def test_two_boosted_of_three_proposers_are_refused_against_the_accepted_norms() -> None:
    # A round of 3 proposer seats, 2 drawn by colluders who boost x20: the round's median is
    # theirs; the 3 updates the previous committee accepted outweigh them in the pool
    global_params, honest = _round(3)
    proposals = [honest[0], *(global_params + 20 * (h - global_params) for h in honest[1:])]
    assert screen_updates(global_params, proposals, RULES) == {}
    reference = moved_update_norms(global_params, honest)
    failed = screen_updates(global_params, proposals, RULES, reference_norms=reference)
    assert sorted(failed) == [1, 2]


def test_accepted_boosted_updates_cannot_get_honest_ones_refused_as_no_work() -> None:
    # the previous committee accepted 8 boosted updates, 10,000x the honest norm: against them
    # alone every honest update would look like the global model resubmitted; in the pool of
    # 8 + 8 the lower middle value is honest
    global_params, honest = _round(8)
    assert screen_updates(global_params, honest, RULES, reference_norms=(1e4,) * 8) == {}
    # and an update far above both halves is still refused
    boosted = global_params + 1e6 * (honest[0] - global_params)
    failed = screen_updates(global_params, [*honest, boosted], RULES, reference_norms=(1.0,))
    assert list(failed) == [8]


def test_with_a_reference_a_lone_proposal_is_screened_too() -> None:
    # the previous committee accepted three updates of norm 1
    global_params, proposals = _round(1)
    boosted = global_params + 30 * (proposals[0] - global_params)
    assert screen_updates(global_params, proposals, RULES, reference_norms=(1.0,) * 3) == {}
    failed = screen_updates(global_params, [boosted], RULES, reference_norms=(1.0,) * 3)
    assert list(failed) == [0]


def test_the_reference_is_the_norms_of_the_updates_that_moved() -> None:
    base = torch.zeros(3)
    updated = [torch.tensor([3.0, 4.0, 0.0]), base.clone(), torch.tensor([0.0, 2.0, 0.0])]
    assert moved_update_norms(base, updated) == (5.0, 2.0)
    assert moved_update_norms(base, []) == ()


def test_the_yardstick_is_the_median_norm_of_the_updates_that_moved() -> None:
    base = torch.zeros(3)
    updated = [torch.tensor([3.0, 4.0, 0.0]), torch.tensor([0.0, 0.0, 1.0]), base.clone(),
               torch.tensor([0.0, 2.0, 0.0])]  # fmt: skip
    assert median_update_norm(base, updated) == 2.0
    assert median_update_norm(base, [base.clone()]) is None
    assert median_update_norm(base, []) is None


def test_no_median_no_norm_or_copy_screening() -> None:
    global_params, proposals = _round(1)
    assert screen_updates(global_params, proposals, RULES) == {}
    assert screen_updates(global_params, [global_params, global_params.clone()], RULES) == {
        0: "update norm 0: the global model resubmitted",
        1: "update norm 0: the global model resubmitted",
    }


def test_a_copy_is_judged_against_the_smaller_of_the_pair_and_the_median() -> None:
    global_params, proposals = _round(6)
    big = proposals[5] - global_params  # norm 2, above the median
    noise = torch.zeros_like(big)
    noise[0] = 0.015 * float(big.norm())  # 1.5 % of the copied update's norm
    proposals.append(proposals[5] + noise)
    assert list(screen_updates(global_params, proposals, DEFAULT)) == []
    small = proposals[0] - global_params  # norm 0.5, below the median
    noise[0] = 0.009 * float(small.norm())
    proposals.append(proposals[0] + noise)
    assert screen_updates(global_params, proposals, DEFAULT) == {
        7: "copy of proposal at position 0"
    }


def test_a_ratio_of_zero_turns_its_check_off() -> None:
    global_params, proposals = _round(6)
    proposals[0] = global_params + 50 * (proposals[0] - global_params)
    proposals.append(proposals[1].clone())
    proposals.append(global_params.clone())
    off = ScreeningRules(
        max_norm_ratio=0, min_norm_ratio=0, duplicate_ratio=0, refuse_unchanged=False
    )
    assert screen_updates(global_params, proposals, off) == {}


def test_rules_come_from_the_voting_config_and_refuse_nonsense() -> None:
    assert ScreeningRules.from_config(None) == ScreeningRules()
    assert ScreeningRules.from_config({"max_norm_ratio": 4}).max_norm_ratio == 4.0
    assert not ScreeningRules.from_config({"refuse_unchanged": False}).refuse_unchanged
    with pytest.raises(ValueError, match="refuse_unchanged must be true or false"):
        ScreeningRules.from_config({"refuse_unchanged": "no"})
    with pytest.raises(ValueError, match="min_norm_ratio must be >= 0"):
        ScreeningRules(min_norm_ratio=-1)
    with pytest.raises(ValueError, match="must exceed min_norm_ratio"):
        ScreeningRules(max_norm_ratio=0.5, min_norm_ratio=0.6)


def test_a_voter_scores_screened_proposals_0_and_every_valid_model_at_least_1() -> None:
    from hydra import compose, initialize_config_dir

    from flock.defence.world import build_world
    from flock.protocol.types import Proposal

    config_dir = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "configs")
    with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+experiment=defence", "attack=none"])
    world = build_world(cfg)
    voter = world.members[0].voter
    global_params = world.initial
    g = torch.Generator().manual_seed(1)
    honest = [global_params + 0.01 * torch.randn(len(global_params), generator=g) for _ in range(4)]
    vectors = [
        *honest,
        global_params + 20 * (honest[0] - global_params),  # boosted
        honest[1].clone(),  # copied
        2 * global_params - honest[2],  # sign-flipped: in bounds, judged by accuracy
    ]
    proposals = []
    for i, (vector, who) in enumerate(zip(vectors, world.members[1:], strict=False)):
        digest = world.store.put(vector, {"proposer": who.address, "round": "1"})
        proposals.append(Proposal(1, who.address, i, digest, 10, ""))

    ballot = voter.ballot(global_params, proposals)

    assert ballot.measured[5] == 0 and ballot.measured[6] == 0  # positions 4, 5
    assert "10 x median" in ballot.rejected_blobs[4]
    assert ballot.rejected_blobs[5] == "copy of proposal at position 1"
    assert all(s >= 1 for s in ballot.measured[:5]) and ballot.measured[7] >= 1
