"""The defence benchmark's engine, and its smoke mode end to end (flock's rule on the contract)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from flock.defence import MemoryStore, RunResult, attack_with_fraction, resolve_variant, simulate
from flock.defence import report as defence_report
from flock.defence.config import with_fraction
from flock.defence.grid import MAJORITY_ATTACKS, MAJORITY_ETA, MAJORITY_OVERRIDES, RUNS_DIR, SCRIPT
from flock.defence.summary import (
    exposed_slashed_pct,
    figure_lines,
    first_exposures,
    goals_for,
    summarise,
)
from flock.defence.sweep import grid_blocks, run_name
from flock.defence.world import build_world

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = str(ROOT / "configs")
LINE = re.compile(r"^([a-z0-9_]+)(\[[^\]]*\])?: (.+)$")


def _cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=["+experiment=defence", *overrides])


def test_eta_sets_every_named_attacker_count() -> None:
    attack = {
        "proposer": {"behaviour": "label_flip", "count": 2},
        "voter": {"behaviour": "honest", "count": 0},
        "cartel": {"size": 3},
    }
    scaled = attack_with_fraction(attack, 50, 0.3)
    assert scaled["proposer"]["count"] == 15
    assert scaled["voter"]["count"] == 0
    assert scaled["cartel"]["size"] == 15
    assert attack_with_fraction(attack, 50, None)["proposer"]["count"] == 2


def test_memory_store_round_trips_and_addresses_by_content() -> None:
    store = MemoryStore()
    vector = torch.arange(4, dtype=torch.float32)
    digest = store.put(vector, {"round": "1"})
    assert store.get(digest, expected_numel=4).vector.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert store.put(vector.clone(), {"round": "1"}) == digest
    assert store.put(vector, {"round": "2"}) != digest


SMALL_RUNS = ["flock", "flock_v0", "flock_clip", "flock_paper", "krum"]


@pytest.mark.parametrize("defence", [*SMALL_RUNS, "geometric_median", "centered_clipping"])
def test_a_small_run_is_reproducible(defence: str) -> None:
    overrides = ["participants=10", "task.rounds=2", "task.proposers_per_round=4"]
    cfg = _cfg(f"defence.name={defence}", "attack=label_flip", "training.epochs=1", *overrides)
    first, second = simulate(cfg), simulate(cfg)
    assert first.accuracy == second.accuracy
    assert first.first_slashed == second.first_slashed
    assert len(first.attackers) == 3  # round(0.3 * 10)
    restored = RunResult.from_json(first.to_json())
    assert restored.accuracy == first.accuracy and restored.first_slashed == first.first_slashed


def test_unknown_defence_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown defence"):
        simulate(_cfg("defence.name=nope"))


def test_the_full_grid_is_2268_runs_under_multirun_defence() -> None:
    # per seed: 12 defences on digits clean, 11 attacks x 4 etas and breast cancer clean + 5
    # attacks, the attacker-majority family's clean run + 7 attacks; the 3 vote-only attacks x
    # 4 etas with the 4 settling rules alone
    blocks = grid_blocks("full", (0, 1, 2))
    runs = 3 * (12 * (1 + 11 * 4 + 1 + 5 + 1 + 7) + 4 * 3 * 4)
    assert sum(b.jobs for b in blocks) == 2268 == runs
    assert blocks[0].sweep_dir("full") == RUNS_DIR / "full" / "digits" / "none" / "seed0"
    assert RUNS_DIR == ROOT / "multirun" / "defence"
    assert SCRIPT == ROOT / "benchmarks" / "defence.py" and SCRIPT.exists()


def test_one_defences_rows_are_the_same_jobs_as_in_the_full_grid() -> None:
    full = grid_blocks("full", (0, 1, 2))
    rows = grid_blocks("full", (0, 1, 2), only=["flock"])
    assert all(b.defences == ("flock",) for b in rows)
    # the same job directories: a later full grid skips what the rows already ran
    assert {b.sweep_dir("full") for b in rows} == {b.sweep_dir("full") for b in full}
    # per seed: digits clean + 14 attacks x 4 etas, breast cancer clean + 5 attacks at 0.3,
    # the attacker-majority family's clean run + 7 attacks
    assert sum(b.jobs for b in rows) == 3 * (1 + 14 * 4 + 1 + 5 + 1 + 7)
    with pytest.raises(ValueError, match="unknown defences"):
        grid_blocks("full", (0,), only=["flock", "no_such_rule"])


def test_the_majority_family_runs_few_proposers_a_round_under_its_own_label() -> None:
    blocks = grid_blocks("majority", (0,))
    assert {b.label for b in blocks} == {"digits_majority"}
    assert {b.attack for b in blocks} == {"none", *MAJORITY_ATTACKS}
    assert all(b.etas == ((None,) if b.attack == "none" else (MAJORITY_ETA,)) for b in blocks)
    assert blocks[0].sweep_dir("full") == RUNS_DIR / "full" / "digits_majority" / "none" / "seed0"
    overrides = blocks[1].overrides("full")
    assert "defence.label=digits_majority" in overrides and "dataset=digits" in overrides
    assert set(MAJORITY_OVERRIDES) <= set(overrides)
    # the family is part of the full grid, in the same run directories
    full = {b.sweep_dir("full") for b in grid_blocks("full", (0,))}
    assert {b.sweep_dir("full") for b in blocks} <= full


def test_a_grid_with_extra_overrides_runs_in_its_own_directory() -> None:
    assert run_name("full") == "full"
    assert run_name("full", ["scoring=loss"]) == "full+scoring-loss"
    assert run_name("full", ["scoring=loss", "task.x=1"]) == "full+scoring-loss+task.x-1"
    assert run_name("majority") == "full"  # the family is part of the full grid


def test_the_defence_voters_score_by_the_scoring_group() -> None:
    overrides = ["participants=10", "task.rounds=1", "task.proposers_per_round=4"]
    world = build_world(resolve_variant(with_fraction(_cfg("scoring=loss", *overrides))))
    assert {m.voter.scoring.name for m in world.members} == {"loss"}
    world = build_world(resolve_variant(with_fraction(_cfg(*overrides))))
    assert {m.voter.scoring.name for m in world.members} == {"accuracy"}


def test_the_full_grid_runs_flocks_robust_rules_and_the_clipped_variant() -> None:
    for name in ("geometric_median", "centered_clipping", "flock_clip"):
        rows = grid_blocks("full", (0,), only=[name])
        assert rows and all(b.defences == (name,) for b in rows)
    # no vote: like the Flower baselines, they sit out the vote-only attacks
    attacks = {b.attack for b in grid_blocks("full", (0,), only=["geometric_median"])}
    assert "random_score" not in attacks and "alie" in attacks
    assert "random_score" in {b.attack for b in grid_blocks("full", (0,), only=["flock_clip"])}


def test_flocks_robust_rules_play_their_aggregation_config() -> None:
    for name, knob in (("geometric_median", "nu"), ("centered_clipping", "tau")):
        cfg = resolve_variant(_cfg(f"defence.name={name}"))
        assert cfg.aggregation.name == name and knob in cfg.aggregation.kwargs
    # a composed rule keeps its overrides
    tuned = _cfg("defence.name=centered_clipping", "aggregation=centered_clipping",
                 "aggregation.kwargs.tau=2.5")  # fmt: skip
    assert resolve_variant(tuned).aggregation.kwargs.tau == 2.5


def test_flock_clip_is_flocks_rule_with_the_clipped_consensus() -> None:
    cfg = resolve_variant(_cfg("defence.name=flock_clip"))
    assert cfg.defence.name == "flock"
    assert cfg.aggregation.name == "consensus" and cfg.aggregation.kwargs.clip_ratio == 1.0
    assert resolve_variant(_cfg("defence.name=flock")).aggregation.kwargs.clip_ratio == 3.0


def test_flock_v0_aggregates_without_the_damping() -> None:
    cfg = resolve_variant(_cfg("defence.name=flock_v0"))
    assert cfg.defence.name == "flock" and cfg.aggregation.kwargs == {}
    assert resolve_variant(_cfg("defence.name=flock")).aggregation.kwargs.damp_rejected is True


def _result(defence: str, attack: str, eta: float | None, accuracy: list[float]) -> RunResult:
    attackers = [] if attack == "none" else [0, 1, 2]
    settles = defence.startswith("flock")
    return RunResult(
        defence=defence,
        attack=attack,
        eta=eta,
        seed=0,
        dataset="digits",
        participants=10,
        rounds=len(accuracy),
        attackers=attackers,
        accuracy=accuracy,
        honest_stake=[64.0] * len(accuracy) if settles else [],
        attacker_stake=[32.0] * len(accuracy) if settles and attackers else [],
        first_slashed={i: 1 for i in attackers} if settles else {},
        rule="flock" if settles else "",
        attack_updates=6 if attackers else 0,
        on_chain=True,  # no role-draw bound: the summary needs no role draws
    )


def _results() -> list[RunResult]:
    return [
        _result("flock", "none", None, [0.5, 0.8, 0.9]),
        _result("flock", "label_flip", 0.3, [0.5, 0.8, 0.89]),
        _result("fedavg", "none", None, [0.5, 0.8, 0.9]),
        _result("fedavg", "label_flip", 0.3, [0.4, 0.6, 0.7]),
    ]


def test_summary_figure_lines_and_goals() -> None:
    cells = summarise(_results())
    lines = dict(line.split(": ", 1) for line in figure_lines(cells))
    assert lines["final_acc[flock,label_flip,0.3]"] == "89.0"
    assert lines["acc_drop_pts[flock,label_flip,0.3]"] == "1.0"
    assert lines["acc_drop_pts[fedavg,label_flip,0.3]"] == "20.0"
    assert lines["attackers_slashed_by_r5_pct[flock,label_flip,0.3]"] == "100.0"
    assert lines["rounds_to_90pct_slashed[flock,label_flip,0.3]"] == "1"
    assert lines["honest_slashed[flock,0.3]"] == "0"
    checks = {c.name: c for c in goals_for(cells, ("digits", "label_flip", 0.3, "flock"))}
    assert checks["acc within 2 pts"].met
    assert checks["acc within 2 pts"].figure == "1.0 pts; FedAvg 20.0"
    assert goals_for(cells, ("digits", "label_flip", 0.3, "fedavg")) == []


def _drawn_run(attackers: list[int], first_slashed: dict[int, int]) -> RunResult:
    """A label-flip run of 50 members off the contract: its role draws are the simulation's
    (seed 0), so who held the proposer role comes from real draws."""
    return RunResult(
        defence="flock", attack="label_flip", eta=0.3, seed=0, dataset="digits",
        participants=50, rounds=20, attackers=attackers, first_slashed=first_slashed,
        rule="flock", accuracy=[0.9],
    )  # fmt: skip


def test_only_attackers_that_held_their_role_count_toward_the_slashing_goal() -> None:
    committee = (20, 30)
    first = first_exposures(_drawn_run(list(range(50)), {}), committee)
    drawn = [i for i in range(50) if first.get(i, 99) <= 5]
    undrawn = [i for i in range(50) if first.get(i, 99) > 5]
    assert len(drawn) >= 10 and undrawn, "seed 0's draw: most, not all, propose by round 5"
    attackers = drawn[:10] + undrawn[:1]
    # every attacker that proposed by round 5 slashed at its first proposal, the other never
    caught = _drawn_run(attackers, {i: first[i] for i in drawn[:10]})
    assert exposed_slashed_pct(caught, committee) == 100.0
    # one of them missed: its share of the ten that held the role, not of all eleven
    missed = _drawn_run(attackers, {i: first[i] for i in drawn[1:10]})
    assert exposed_slashed_pct(missed, committee) == 90.0
    # slashed after round 5 does not count
    late = _drawn_run(attackers, {i: 6 for i in drawn[:10]})
    assert exposed_slashed_pct(late, committee) == 0.0
    key = ("digits", "label_flip", 0.3, "flock")
    for run, met in ((caught, True), (missed, True), (late, False)):
        goal = next(c for c in goals_for(summarise([run], committee), key) if "role" in c.name)
        assert goal.met is met


def test_the_slashing_goal_counts_role_holders_by_the_committee_the_run_drew() -> None:
    # Prepare: every member an attacker, none slashed; the same draw seen with 3 and with 20
    # proposers per round (the attacker-majority family draws 3 of the preset's 20)
    attackers = list(range(50))
    few = first_exposures(_drawn_run(attackers, {}), (3, 30))
    many = first_exposures(_drawn_run(attackers, {}), (20, 30))
    few_by_5 = [i for i in attackers if few.get(i, 99) <= 5]
    assert len(few_by_5) <= 15 < len([i for i in attackers if many.get(i, 99) <= 5])
    # Execute: the run records its 3-proposer committee and slashed exactly those proposers
    run = _drawn_run(attackers, {i: few[i] for i in few_by_5})
    run.proposers_per_round, run.max_voters = 3, 30
    # Assert: judged by its own draw, whatever the preset says, every role holder was slashed
    assert exposed_slashed_pct(run, (20, 30)) == 100.0
    key = ("digits", "label_flip", 0.3, "flock")
    for preset in ((20, 30), None):
        goal = next(c for c in goals_for(summarise([run], preset), key) if "role" in c.name)
        assert goal.met
    # a run that recorded no committee is judged by the preset's: most role holders missed
    run.proposers_per_round = run.max_voters = 0
    assert exposed_slashed_pct(run, (20, 30)) < 50.0


def test_report_writes_markdown_plots_and_figure_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs, results = tmp_path / "runs", tmp_path / "results"
    for r in _results():
        job = runs / "tiny" / r.dataset / r.attack / "seed0" / f"{r.defence}_eta{r.eta}"
        job.mkdir(parents=True)
        (job / "result.json").write_text(r.to_json())
    results.mkdir()
    (results / "defence_diagnose.txt").write_text("")  # no --diagnose run: figures say n/a
    monkeypatch.setattr(defence_report, "RUNS_DIR", runs)
    monkeypatch.setattr(defence_report, "RESULTS_DIR", results)
    lines = defence_report.report("tiny")
    assert "acc_drop_pts[flock,label_flip,0.3]: 1.0" in lines
    assert (results / "defence.txt").read_text().splitlines() == lines
    markdown = (results / "defence.md").read_text()
    assert markdown.startswith("# Defence benchmark\n\nGrid `tiny`: 4 runs, seeds 0")
    assert "## What the figures say" in markdown and "## digits: every figure" in markdown
    for kind in ("accuracy", "stake"):
        assert (results / f"defence_{kind}_digits_eta0.3.png").stat().st_size > 0
    with pytest.raises(SystemExit, match="no runs under"):
        defence_report.report("missing")


@pytest.fixture(scope="module")
def smoke_lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("smoke")
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "defence.py"),
        "--smoke",
        "--out",
        str(out),
    ]
    printed = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    lines = {}
    for line in printed.splitlines():
        match = LINE.match(line)
        if match and not line.startswith("smoke:"):
            lines[match.group(1) + (match.group(2) or "")] = match.group(3)
    return lines


@pytest.mark.slow
def test_smoke_prints_finite_figures_for_every_defence(smoke_lines: dict[str, str]) -> None:
    defences = ["flock", "flock_mirror", "flock_clip", "flock_paper", "fedavg", "krum"]
    defences += ["multikrum", "fedmedian", "fedtrimmedavg", "bulyan"]
    defences += ["geometric_median", "centered_clipping"]
    for attack in ("label_flip", "colluding_cartel", "aggregate_poster", "weight_inflation"):
        for defence in defences:
            for name in ("final_acc", "acc_drop_pts"):
                assert f"{name}[{defence},{attack},0.3]" in smoke_lines
    assert "honest_slashed[flock,0.3]" in smoke_lines
    for key, value in smoke_lines.items():
        if value == "never":  # a round count: the event did not happen within the run
            assert key.startswith("rounds_to"), key
        elif key.startswith("rounds_to"):
            assert float(value) >= 1, key
        else:
            assert math.isfinite(float(value)), key


@pytest.mark.slow
def test_smoke_flock_rule_on_chain_slashes_label_flippers(smoke_lines: dict[str, str]) -> None:
    assert float(smoke_lines["attackers_slashed_by_r5_pct[flock,label_flip,0.3]"]) > 0
    assert float(smoke_lines["attacker_stake[flock,label_flip,0.3]"]) < 64
    assert float(smoke_lines["smoke_chain_seconds"]) > 0


@pytest.mark.slow
def test_smoke_flock_keeps_the_global_model_under_protocol_attacks(
    smoke_lines: dict[str, str],
) -> None:
    # the attested aggregate and the bounded weights: within 2 points of the clean run
    for attack in ("aggregate_poster", "weight_inflation"):
        assert float(smoke_lines[f"acc_drop_pts[flock,{attack},0.3]"]) <= 2
    # every aggregate poster attests whenever it votes and the closing round seats all
    assert float(smoke_lines["attackers_slashed_by_r5_pct[flock,aggregate_poster,0.3]"]) == 100
