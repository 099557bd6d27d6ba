"""Every attack changes what it should: the published update, the training data, the scores,
or whether a vote is revealed; the attack plan assigns them from config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from flock.attacks import (
    ALIE,
    Backdoor,
    Cartel,
    Colluding,
    FreeRider,
    GaussianNoise,
    InvertedScore,
    LabelFlip,
    Lazy,
    MinMax,
    MinSum,
    ProposerBehaviour,
    RandomScore,
    Scaling,
    SignFlip,
    TamperContext,
    VoterBehaviour,
    alie_z,
    apply_trigger,
    backdoor_success_rate,
    gamma_search,
    make_proposer_behaviour,
    make_voter_behaviour,
    plan_attacks,
)
from flock.learning.data import load_dataset
from flock.learning.models import MLP
from flock.learning.training import train_local
from flock.protocol.commitments import MAX_SCORE
from flock.protocol.types import Proposal

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")
DIM = 2_000


def _vectors(k: int, seed: int = 0) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A global model and k honest trained vectors around a common update direction."""
    g = torch.Generator().manual_seed(seed)
    global_params = torch.randn(DIM, generator=g)
    direction = torch.randn(DIM, generator=g) * 0.1
    updates = [global_params + direction + 0.05 * torch.randn(DIM, generator=g) for _ in range(k)]
    return global_params, updates


def _tamper(behaviour: ProposerBehaviour, update, global_params, context=None) -> torch.Tensor:
    return behaviour.tamper(update, global_params=global_params, context=context or TamperContext())


# ---------------------------------------------------------------- update attacks


def test_sign_flip_negates_the_update_relative_to_global() -> None:
    global_params, (update,) = _vectors(1)
    published = _tamper(SignFlip(), update, global_params)
    torch.testing.assert_close(published - global_params, -(update - global_params))


def test_gaussian_noise_has_ten_times_the_update_norm_and_no_update_in_it() -> None:
    global_params, (update,) = _vectors(1)
    published = _tamper(GaussianNoise(norm_ratio=10.0, seed=3), update, global_params)
    delta, honest = published - global_params, update - global_params
    assert float(delta.norm() / honest.norm()) == pytest.approx(10.0, rel=0.05)
    cosine = float(torch.nn.functional.cosine_similarity(delta, honest, dim=0))
    assert abs(cosine) < 0.1


def test_scaling_multiplies_the_update() -> None:
    global_params, (update,) = _vectors(1)
    published = _tamper(Scaling(factor=7.0), update, global_params)
    torch.testing.assert_close(published - global_params, 7.0 * (update - global_params))


def test_free_rider_resubmits_the_global_model() -> None:
    global_params, (update,) = _vectors(1)
    assert FreeRider.trains is False
    torch.testing.assert_close(_tamper(FreeRider(), update, global_params), global_params)


def test_free_rider_copies_the_first_published_proposal() -> None:
    global_params, (update, other) = _vectors(2)
    context = TamperContext(published_source=lambda: [other])
    published = _tamper(FreeRider(mode="copy"), update, global_params, context)
    torch.testing.assert_close(published, other)
    # with nothing published yet it falls back to the global model
    nothing_yet = _tamper(FreeRider(mode="copy"), update, global_params)
    torch.testing.assert_close(nothing_yet, global_params)


# ---------------------------------------------------------------- statistical attacks


def test_alie_z_follows_the_paper() -> None:
    # n = 50, m = 12 (Baruch et al.): s = 26 - 12 = 14, z = Phi^-1(36 / 50)
    assert alie_z(50, 12) == pytest.approx(0.5828, abs=1e-4)
    assert alie_z(10, 3) == pytest.approx(0.5244, abs=1e-4)
    assert alie_z(3, 2, max_z=2.5) == 2.5  # a majority of attackers: capped


def test_alie_lies_within_the_benign_range_per_coordinate() -> None:
    # Prepare: a cartel of 3 among 10 proposers pools its honest updates
    global_params, cartel = _vectors(3)
    context = TamperContext(num_proposers=10, num_attackers=3, cartel_source=lambda: cartel)

    # Execute
    published = _tamper(ALIE(), cartel[0], global_params, context)

    # Assert: inside [min, max] of the benign updates on every coordinate, but not the mean
    benign = torch.stack(cartel)
    assert bool((published >= benign.min(dim=0).values - 1e-6).all())
    assert bool((published <= benign.max(dim=0).values + 1e-6).all())
    mean = benign.mean(dim=0)
    expected = mean - alie_z(10, 3) * benign.std(dim=0)
    torch.testing.assert_close(published, expected, atol=1e-5, rtol=0)


def test_alie_alone_without_a_cartel_publishes_its_honest_update() -> None:
    global_params, (update,) = _vectors(1)
    torch.testing.assert_close(_tamper(ALIE(), update, global_params), update)


def test_gamma_search_finds_the_largest_fitting_gamma() -> None:
    assert gamma_search(lambda g: g <= 3.0) == pytest.approx(3.0, abs=1e-4)
    assert gamma_search(lambda g: False) == 0.0


@pytest.mark.parametrize("perturbation", ["unit", "std", "sign"])
def test_min_max_stays_within_the_largest_benign_distance(perturbation: str) -> None:
    global_params, cartel = _vectors(4, seed=1)
    context = TamperContext(cartel_source=lambda: cartel)
    published = _tamper(MinMax(perturbation=perturbation), cartel[0], global_params, context)

    benign = torch.stack(cartel).double()
    bound = torch.cdist(benign, benign).max()
    distances = (benign - published.double()).norm(dim=1)
    assert float(distances.max()) <= float(bound) * (1 + 1e-6)
    # it did move away from the benign mean, against the benign direction
    assert float((published.double() - benign.mean(dim=0)).norm()) > 0.1 * float(bound)


def test_min_sum_bounds_its_sum_of_squared_distances() -> None:
    global_params, cartel = _vectors(4, seed=2)
    context = TamperContext(cartel_source=lambda: cartel)
    published = _tamper(MinSum(), cartel[0], global_params, context)

    benign = torch.stack(cartel).double()
    bound = (torch.cdist(benign, benign) ** 2).sum(dim=1).min()
    spread = ((benign - published.double()).norm(dim=1) ** 2).sum()
    assert float(spread) <= float(bound) * (1 + 1e-6)
    assert float((published.double() - benign.mean(dim=0)).norm()) > 0


def test_statistical_attacks_can_use_the_published_proposals() -> None:
    global_params, vectors = _vectors(3, seed=4)
    own, published = vectors[0], vectors[1:]
    context = TamperContext(num_proposers=3, published_source=lambda: published)
    alone = _tamper(ALIE(), own, global_params, context)
    informed = _tamper(ALIE(use_published=True), own, global_params, context)
    torch.testing.assert_close(alone, own)
    assert not torch.allclose(informed, own)


# ---------------------------------------------------------------- data poisoning


def test_label_flip_flips_every_label() -> None:
    x, y = torch.zeros(4, 2), torch.tensor([0, 1, 2, 9])
    _, flipped = LabelFlip(num_classes=10).training_data(x, y)
    assert flipped.tolist() == [9, 8, 7, 0]


def test_trigger_is_a_bright_corner_patch() -> None:
    x = torch.zeros(3, 1, 8, 8)
    triggered = apply_trigger(x, size=2, value=1.0)
    assert float(triggered[:, :, 6:, 6:].min()) == 1.0
    assert float(triggered.sum()) == 3 * 4
    assert float(x.sum()) == 0.0  # the input is untouched


def test_backdoor_adds_triggered_copies_labelled_target() -> None:
    x, y = torch.rand(20, 1, 8, 8), torch.arange(20) % 10
    px, py = Backdoor(target=3, poison_fraction=0.5).training_data(x, y)
    assert len(py) == 20 + 9  # half of the 18 non-target samples, triggered
    assert bool((py[20:] == 3).all())
    assert bool((px[20:, :, 6:, 6:] == 1.0).all())


def test_backdoor_replaces_the_model_by_scaling_n_over_eta() -> None:
    global_params, (update,) = _vectors(1)
    context = TamperContext(num_proposers=4)
    published = _tamper(Backdoor(eta=2.0), update, global_params, context)
    torch.testing.assert_close(published - global_params, 2.0 * (update - global_params))


def test_backdoor_raises_the_trigger_success_on_the_poisoned_local_model() -> None:
    # Prepare: digits, one honest and one backdoored local model from the same start
    data = load_dataset("digits")
    x = torch.tensor(data.features).reshape(-1, 1, 8, 8)
    y = torch.as_tensor(data.labels)
    x_train, y_train, x_test, y_test = x[:1200], y[:1200], x[1200:], y[1200:]
    attack = Backdoor(target=0, poison_fraction=0.5)

    def trained(xs: torch.Tensor, ys: torch.Tensor) -> torch.nn.Module:
        torch.manual_seed(0)
        model = MLP(in_features=64, num_classes=10)
        train_local(model, xs, ys, epochs=5, lr=0.05, batch_size=32, seed=0, momentum=0.9)
        return model

    # Execute
    honest = trained(x_train, y_train)
    poisoned = trained(*attack.training_data(x_train, y_train))

    # Assert: the trigger now means "0", and the clean task still works
    before = backdoor_success_rate(honest, x_test, y_test, target=0)
    after = backdoor_success_rate(poisoned, x_test, y_test, target=0)
    assert before < 0.2
    assert after > 0.8
    clean = float((poisoned(x_test).argmax(dim=1) == y_test).double().mean())
    assert clean > 0.85


# ---------------------------------------------------------------- voters


def _proposals(*proposers: str) -> list[Proposal]:
    return [Proposal(1, a, i, bytes(32), 1, "") for i, a in enumerate(proposers)]


def test_inverted_scores_sum_to_max_score_with_the_measured_ones() -> None:
    measured = [9000, 8500, 120, 0, MAX_SCORE]
    scores = InvertedScore().scores(measured, np.random.default_rng(0))
    assert [a + b for a, b in zip(scores, measured, strict=True)] == [MAX_SCORE] * 5


def test_random_scores_ignore_the_measurement_and_stay_in_range() -> None:
    scores = RandomScore().scores([5000] * 50, np.random.default_rng(0))
    assert all(0 <= s <= MAX_SCORE for s in scores)
    assert len(set(scores)) > 10


def test_colluding_voter_scores_its_cartel_high_and_everything_else_low() -> None:
    voter = Colluding(cartel=["0xAbC0000000000000000000000000000000000001"], high=9000, low=100)
    proposals = _proposals(
        "0x00000000000000000000000000000000000000ff",
        "0xabc0000000000000000000000000000000000001",
    )
    scores = voter.scores([8000, 8100, 2000], np.random.default_rng(0), proposals)
    assert scores == [100, 100, 9000]


def test_lazy_voter_commits_what_it_measured_and_does_not_reveal() -> None:
    assert VoterBehaviour.reveals is True
    assert Lazy.reveals is False
    assert Lazy().scores([1, 2, 3], np.random.default_rng(0)) == [1, 2, 3]


# ---------------------------------------------------------------- registry and plan


def test_registry_builds_every_behaviour_with_config_params() -> None:
    assert isinstance(make_proposer_behaviour("label_flip", num_classes=3), LabelFlip)
    scaling = make_proposer_behaviour("scaling", num_classes=10, factor=3.0)
    assert isinstance(scaling, Scaling) and scaling.factor == 3.0
    assert isinstance(make_voter_behaviour("lazy"), Lazy)
    with pytest.raises(ValueError, match="unknown proposer behaviour"):
        make_proposer_behaviour("nope", num_classes=10)


def _attack_cfg(option: str, *overrides: str) -> dict:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"attack={option}", *overrides])
    return OmegaConf.to_container(cfg.attack, resolve=True)  # type: ignore[return-value]


def test_plan_draws_the_same_attackers_as_before_for_the_old_configs() -> None:
    # the draw every orchestration shares: np.random.default_rng([seed, 1 | 2]).choice(n, count)
    plan = plan_attacks(_attack_cfg("label_flip"), n=10, seed=0)
    expected = {int(i) for i in np.random.default_rng([0, 1]).choice(10, size=2, replace=False)}
    flippers = {i for i, a in enumerate(plan.assignments) if a.proposer == "label_flip"}
    assert flippers == expected
    assert all(a.voter == "honest" for a in plan.assignments)


def test_cartel_members_play_both_roles_and_colluding_voters_favour_them() -> None:
    # Prepare
    plan = plan_attacks(_attack_cfg("cartel"), n=8, seed=5)
    addresses = [f"0x{i:040x}" for i in range(8)]
    colluders = [addresses[i] for i in sorted(plan.colluders)]

    # Execute
    members = [i for i, a in enumerate(plan.assignments) if a.proposer == "alie"]
    voter = plan.voter_behaviour(members[0], colluders=colluders)

    # Assert
    assert len(members) == 3 and set(members) == plan.colluders
    assert all(plan.assignments[i].voter == "colluding" for i in members)
    assert isinstance(voter, Colluding)
    assert voter.cartel == {a.lower() for a in colluders}


def test_cartel_pools_honest_updates_once_per_round() -> None:
    calls: list[tuple[str, int]] = []

    def trainer(name: str):
        def train(global_params: torch.Tensor, round_: int) -> torch.Tensor:
            calls.append((name, round_))
            return global_params + 1

        return train

    cartel = Cartel({"a": trainer("a"), "b": trainer("b")})
    context = cartel.context(2, torch.zeros(3), proposers=["a", "x", "y"], published=list)
    assert (context.num_proposers, context.num_attackers) == (3, 1)
    assert len(context.cartel_updates) == 2
    cartel.honest_updates(torch.zeros(3), 2)
    assert sorted(calls) == [("a", 2), ("b", 2)]


@pytest.mark.slow
def test_alliance_honours_lazy_voters_and_feeds_the_cartel_to_its_attack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare: a cartel of 4 of 5 participants that proposes with ALIE and never reveals its
    # votes. With 2 proposers and 3 voters a round, every draw puts at least one member among
    # the proposers and at least two among the voters (only one participant is honest), so
    # what is asserted below holds whatever the role draw.
    from flock.contracts.connect import open_chain
    from flock.local.alliance import build_alliance
    from flock.local.experiment import play

    participants, proposers, cartel_size, rounds = 5, 2, 4, 3
    seen: list[TamperContext] = []
    tamper = ALIE.tamper

    def spy(self, update, *, global_params, context):  # type: ignore[no-untyped-def]
        seen.append(context)
        return tamper(self, update, global_params=global_params, context=context)

    monkeypatch.setattr(ALIE, "tamper", spy)
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                f"participants={participants}",
                f"task.rounds={rounds}",
                f"task.proposers_per_round={proposers}",
                "training.epochs=1",
                "attack=cartel",
                f"attack.cartel.size={cartel_size}",
                "attack.cartel.voter.behaviour=lazy",
            ],
        )

    # Execute
    with open_chain(cfg.chain) as chain:
        alliance = build_alliance(cfg, chain, tmp_path)
        play(cfg, alliance)

    # Assert: every lazy vote was slashed as unrevealed; ALIE saw every member's update
    honest = participants - cartel_size
    lazy_votes = [
        (rec.round, a) for rec in alliance.records for a, b in rec.behaviours.items() if b == "lazy"
    ]
    slashed = {
        (rec.round, a) for rec in alliance.records for a, why, _ in rec.slashes
        if why == "MISSING_VOTE_REVEAL"
    }  # fmt: skip
    assert set(lazy_votes) == slashed
    least_lazy = participants - proposers - honest  # voters, less the honest one
    for r in range(1, rounds + 1):
        assert sum(1 for round_, _ in lazy_votes if round_ == r) >= least_lazy
    assert len(alliance.cartel.members) == cartel_size
    assert {context.round for context in seen} == set(range(1, rounds + 1))
    for context in seen:
        assert context.num_proposers == proposers
        assert proposers - honest <= context.num_attackers <= proposers
        assert len(context.cartel_updates) == cartel_size
