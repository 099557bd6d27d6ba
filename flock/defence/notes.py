"""The analysis under the defence report's tables: a text template whose figures come from the
grid's cells, the scoring variant's cells and a saved `--diagnose` run."""

from __future__ import annotations

import math
from collections.abc import Mapping

from flock.defence.grid import (
    ETAS,
    MAJORITY_ATTACKS,
    MAJORITY_ETA,
    MAJORITY_FAMILY,
    ROBUST_FLOWER,
    STATISTICAL_ATTACKS,
    UNVOTED,
)
from flock.defence.summary import Cell, Key, cell_for, clean_reference, fmt, goals_for

MAJORITY = f"digits_{MAJORITY_FAMILY}"


def goal_tally(cells: dict[Key, Cell], defence: str, goal: str) -> tuple[int, int, list[str]]:
    """How many of `defence`'s cells meet the goal whose name starts with `goal`, of how many
    checked, and where it is missed (`attack@eta[/dataset] (figure)`)."""
    met, checked, missed = 0, 0, []
    for key in sorted(cells, key=lambda k: (k[0] != "digits", k[0], k[1], k[2] or 0.0)):
        if key[3] != defence:
            continue
        for check in goals_for(cells, key):
            if not check.name.startswith(goal):
                continue
            checked += 1
            if check.met:
                met += 1
                continue
            where = f"{key[1]}@{key[2]:g}" + ("" if key[0] == "digits" else f"/{key[0]}")
            missed.append(f"{where} ({check.figure})")
    return met, checked, missed


def _listing(items: list[str]) -> str:
    return "; ".join(items) if items else "none"


def notes(
    cells: dict[Key, Cell],
    diag: dict[str, str],
    scoring: dict[Key, Cell] | None = None,
    majority_share: Mapping[str, float] | None = None,
) -> str:
    """The analysis under the tables, its figures taken from this grid, flock's cells of the
    grid rerun with the loss scoring (`scoring`), the attacker-majority share of rounds and
    `--diagnose`."""

    def get(attack: str, eta: float | None, defence: str, dataset: str = "digits") -> Cell | None:
        return cell_for(cells, (dataset, attack, eta, defence))[0]

    def fig(
        attack: str,
        eta: float | None,
        defence: str,
        field: str,
        digits: int = 1,
        dataset: str = "digits",
    ) -> str:
        cell = get(attack, eta, defence, dataset)
        return "n/a" if cell is None else fmt(float(getattr(cell, field)), digits)

    def drop(attack: str, eta: float, defence: str, dataset: str = "digits") -> str:
        cell, clean = get(attack, eta, defence, dataset), clean_reference(cells, dataset, defence)
        return "n/a" if cell is None or clean is None else fmt(clean.final_acc - cell.final_acc)

    def worst_honest(defence: str, dataset: str = "digits") -> int:
        return max(
            (
                c.honest_slashed_max
                for (d, a, e, name), c in cells.items()
                if d == dataset and name == defence and (e is None or e <= 0.3)
            ),
            default=0,
        )

    def worst(defence: str, field: str, attacks: tuple[str, ...], digits: int = 1) -> str:
        values = [
            float(getattr(c, field))
            for (d, a, e, name), c in cells.items()
            if d == "digits" and name == defence and a in attacks
        ]
        return fmt(max(values), digits) if values else "n/a"

    def d(key: str) -> str:
        return diag.get(key, "n/a")

    honest = goal_tally(cells, "flock", "0 honest slashed")
    accuracy = goal_tally(cells, "flock", "acc within 2 pts")
    backdoor = goal_tally(cells, "flock", "backdoor")
    slashing = goal_tally(cells, "flock", ">= 90 %")
    statistical = [
        f"{a} {fig(a, 0.2, 'flock', 'final_acc')} % (drop {drop(a, 0.2, 'flock')}; best robust "
        f"Flower strategy {_best(cells, 'digits', a, 0.2, ROBUST_FLOWER)})"
        for a in STATISTICAL_ATTACKS
    ]
    majority = goal_tally(cells, "flock", "ahead of every baseline")
    majority_rows = [
        f"{a}: flock {fig(a, MAJORITY_ETA, 'flock', 'final_acc', dataset=MAJORITY)}, flock_clip "
        f"{fig(a, MAJORITY_ETA, 'flock_clip', 'final_acc', dataset=MAJORITY)}, best baseline "
        f"{_best(cells, MAJORITY, a, MAJORITY_ETA, UNVOTED)}"
        for a in MAJORITY_ATTACKS
    ]
    share = (majority_share or {}).get(MAJORITY, math.nan)
    exposed = {
        a: fig(a, 0.3, "flock", "exposed_slashed_by_5_pct", 0)
        for a in ("label_flip", "sign_flip", "gaussian_noise", "scaling", "free_rider",
                  "backdoor", "alie", "min_max", "min_sum", "lazy", "random_score",
                  "inverted_score", "colluding_cartel", "cartel")
    }  # fmt: skip
    exposed_list = ", ".join(f"{a} {v} %" for a, v in exposed.items())

    def by_eta(attack: str) -> str:
        return ", ".join(fig(attack, e, "flock", "exposed_slashed_by_5_pct", 0) for e in ETAS)

    return f"""## What the figures say

`flock` is the rule as shipped: score-step tolerances, the paired consensus (each voter's score
of a proposal minus its own score of the base model, that base score itself judged against the
voters' median base score: `task.base_band_bps`), and update screening against a pooled
yardstick (the median of this round's update norms together with the norms of the accepted
updates that built the base, `flock.roles.screening`), its aggregate damped in a round whose
rejected proposals outnumber the accepted ones and each accepted update clipped to 3x the
median accepted norm (`configs/aggregation/consensus.yaml`). `flock_v0` turns the tolerances,
screening, damping and clip off by config (`task.score_steps=0`, every `voting` check off,
`aggregation=consensus_undamped`).

**1. Honest participants slashed (goal: 0 at eta <= 0.3, breast cancer included).** Met in
{honest[0]} of {honest[1]} cells; missed at: {_listing(honest[2])}. flock slashed at most
{worst_honest("flock")} honest participants in any digits run at eta <= 0.3
({fig("none", None, "flock", "honest_slashed_max", 0)} in the clean run) and at most
{worst_honest("flock", "breast_cancer")} on breast cancer; flock_v0 slashed up to
{worst_honest("flock_v0")} ({fig("none", None, "flock_v0", "honest_slashed_max", 0)} of 50 in
the clean run). `python benchmarks/defence.py --diagnose` shows why v0 fails: a participant's
private test split holds {d("test_split_samples[digits]")} samples (K = 50, 25 % of ~29), so a
voter's accuracy moves in steps of {d("score_quantum_pts[digits]")} points and the median of the
voters' paired differences stays on that lattice. An honest local model (trained on
{d("train_split_samples[digits]")} samples) is truly {d("honest_holdout_gap_pts[flock_v0,digits]")}
points below the global model on the public holdout; the consensus puts the median honest
proposal {d("honest_score_gap_pts[flock_v0,digits]")} points below the base, but one step below
is already beyond v0's {d("tolerance_pts[flock_v0,digits]")}-point tolerance:
{d("honest_score_gap_over_tolerance_pct[flock_v0,digits]")} % of honest proposals fell beyond it
and {d("honest_rejected_pct[flock_v0,digits]")} % were rejected. flock raises its thresholds to
two score steps of the smallest test split ({d("tolerance_pts[flock,digits]")} points here;
`task.score_steps`):
{d("honest_rejected_pct[flock,digits]")} % of honest proposals rejected in the clean run. Breast
cancer holds {d("test_split_samples[breast_cancer]")} test samples a member (steps of
{d("score_quantum_pts[breast_cancer]")} points, tolerances capped at 100): a proposal is rejected
only when most voters refuse it (score 0); with 7 training samples most members' data are
already fit and honest updates span orders of magnitude (1e-5 to 2.4 on the scaling cell's
seed 0). In the grid before this one that cell slashed up to 14 honest members: on seed 0, 47
of 274 honest proposals were refused, 27 by screening's idle and copy checks (an update below
0.1 % of the median norm; two tiny updates within 1 % of the median of each other, as both sit
next to the global model), 20 as oversized (boosted updates that passed the 10x bound made the
global model over-confident, and honest members with a misfit sample then moved 10-16x the
tiny median). Now idle means an update of norm exactly 0, a copy is measured against the
smaller of the pair's norms, and the aggregate clips each accepted update to 3x the median
accepted norm: 6, 0 and 0 honest proposals refused on seeds 0-2 (each change alone: 65, and
6 / 2 / 4). A 20x bound refused none on breast cancer but passed the digits backdoor (success
up to 100 %). flock warns at start-up that such splits cannot judge a proposal.

**2. Final accuracy within 2 points of clean (simple and voter attacks).** Met in
{accuracy[0]} of {accuracy[1]} cells; missed at: {_listing(accuracy[2])}. A sign-flipped update
has an honest norm and its model stays within two score steps of the global model on 7 samples,
so it is accepted often enough to cost {drop("sign_flip", 0.3, "flock")} points at eta 0.3 and
{drop("sign_flip", 0.4, "flock")} at 0.4 (FedAvg: {drop("sign_flip", 0.3, "fedavg")} and
{drop("sign_flip", 0.4, "fedavg")}). A direction check (score 0 an update whose cosine with the
round's coordinate-wise median update is <= 0), measured in an earlier grid, slashed 3 honest
members in the clean digits run (11 on breast cancer) and still passed 36 % of the sign flips at
eta 0.3: 22-sample updates are too noisy to share a direction. A voting cartel of 40 % holds most
of the 30 voter seats in some rounds (hypergeometric): its proposals are then accepted and the
model set back (colluding cartel at eta 0.4: {fig("colluding_cartel", 0.4, "flock", "final_acc")} %,
{fig("colluding_cartel", 0.3, "flock", "final_acc")} % at eta 0.3); no median-of-voters rule
survives a voter majority.

**3. Statistical attacks at eta 0.2 (goal: within 5 points, ahead of every robust Flower
strategy).** {"; ".join(statistical)}. These updates are crafted from the honest spread; flock
aggregated {fig("alie", 0.2, "flock", "accepted_attack_pct", 0)} % of the ALIE,
{fig("min_max", 0.2, "flock", "accepted_attack_pct", 0)} % of the min-max and
{fig("min_sum", 0.2, "flock", "accepted_attack_pct", 0)} % of the min-sum updates at eta 0.2
(the others scored below the tolerance and were slashed), and those it accepts move the model
little.

**4. Backdoor (goal: <= 5 % in every round).** Met in {backdoor[0]} of {backdoor[1]} cells;
missed at: {_listing(backdoor[2])}. Highest backdoor success in any round, median of seeds:
flock {worst("flock", "backdoor_max", ("backdoor",))} % over eta 0.1 to 0.4 (flock_v0
{worst("flock_v0", "backdoor_max", ("backdoor",))} %; MultiKrum at eta 0.3
{fig("backdoor", 0.3, "multikrum", "backdoor_max")} %). Model replacement boosts its update
x n / eta; voters score 0 an update above 10x the pooled yardstick, so it is refused even in a
round whose proposer seats the attackers hold. The earlier rule refused an update only when it
failed against both the round's median and the previous accepted norms; a proposer majority
owned the first and passed its update: measured on this grid before the change, backdoor max
11.5 % at eta 0.4 (median of seeds; 85 % on seed 0). A barely trained model's backdoor success
is not zero either: on a single seed it can exceed 5 % in rounds 1 and 2 with no attacker
update aggregated (an early model sends some triggered inputs to the target class by chance).
`flock_clip` clips every accepted update to the median accepted norm in the aggregate: backdoor
max {fig("backdoor", 0.3, "flock_clip", "backdoor_max")} % at eta 0.3.

**5. Attackers slashed within 5 rounds (goal: >= 90 % of those that held the role they cheat
in).** Met in {slashing[0]} of {slashing[1]} cells. At eta 0.3, the share of the attackers that
held their role by round 5 slashed by round 5: {exposed_list}.
An attacker whose update is refused is slashed at its first proposal. Updates crafted from the
honest spread are refused only where they fall outside the vote's tolerance: ALIE
{by_eta("alie")} %, min-max {by_eta("min_max")} %
at eta 0.1 to 0.4. Under the paired consensus a voter is judged by its scores minus its own
score of the base model. An inverted voter's differences are the honest ones negated, and where
proposals score within a few points of the base (most rounds) they stay inside the proposals'
band (4 score steps); a colluding voter scores the base 0 like the honest proposals, so its
differences for them are 0 too. What gives both away is the base score they report: it offsets
every difference, and it is judged against the voters' median base score (band
max(3 MAD, 4 score steps), `task.base_band_bps`). An inverted voter's base score, 100 minus the
model's accuracy, falls outside it in round 1 (an untrained model) and once the model is far
above 50 %; a colluder's 0 falls outside it in every round after the first few; a random
voter's falls outside in some rounds. Measured on this grid before the base band: random
voters 13 %, inverted 0 %, the colluding cartel 67 %, the cartel 80 % at eta 0.3, the goal met
in 29 of 68 cells.

**6. Attackers holding most of a round's proposer seats (goal: flock ahead of every
baseline).** The `{MAJORITY}` cells: 3 proposers a round at eta {MAJORITY_ETA:g}; attackers held
most of the seats in {fmt(share)} % of the rounds. Met in {majority[0]} of {majority[1]}
attacks; missed at: {_listing(majority[2])}. Per attack: {"; ".join(majority_rows)}. Screening
against the pooled yardstick refuses the boosted updates of such a round (scaling:
{fig("scaling", MAJORITY_ETA, "flock", "accepted_attack_pct", 0, dataset=MAJORITY)} % of them
aggregated); what flock loses there is the attackers' missing work, since a scaled update is an
honest one times 10, and centered clipping, which keeps its direction, trains on it. A round
that rejects two of its three proposals takes a third of the accepted member's step (the
default aggregate's damping) instead of adopting that member's local model, fit to 22
samples; measured on this grid's flock rows before the damping: gaussian noise 86.4 %, scaling
85.8 %, sign flips 80.8 %, the goal met in 4 of 7 attacks. Gaussian
noise of 10x the attacker's own honest norm sits at the 10x bound: about half of it passes
screening and scores within the vote's tolerance
({fig("gaussian_noise", MAJORITY_ETA, "flock", "accepted_attack_pct", 0, dataset=MAJORITY)} %
aggregated). Updates of an honest norm are judged by the vote alone, whose tolerance is two
score steps (28.6 points): with 3 proposers, an accepted ALIE, min-max, min-sum or sign-flip
update is a third or two thirds of the aggregate (min-sum:
{fig("min_sum", MAJORITY_ETA, "flock", "accepted_attack_pct", 0, dataset=MAJORITY)} %
aggregated). Bulyan needs n >= 4f + 3: with the round's true f it skips every round holding an
attacker, an oracle no deployed rule has, and trains on the clean rounds alone
({fig("alie", MAJORITY_ETA, "bulyan", "final_acc", dataset=MAJORITY)} % in every cell).

**7. Scoring by test loss.** {_scoring_summary(cells, scoring)}

**8. The FLock paper's rule.** A vote on the whole aggregate cannot separate attackers from
honest proposers: accepted rounds aggregate every attacker's update (label flip, eta 0.3:
{fig("label_flip", 0.3, "flock_paper", "accepted_attack_pct", 0)} % of the flippers' updates),
rejected rounds slash every honest proposer in them (up to {worst_honest("flock_paper")} honest
participants per run at eta <= 0.3), and boosted updates drag the accepted aggregate down
(scaling, eta 0.3: {fig("scaling", 0.3, "flock_paper", "final_acc")} %).

**9. The rules without a vote.** Krum keeps a single update of ~22 samples (clean
{fig("none", None, "krum", "final_acc")} %) and, facing free riders, keeps their identical
copies of the global model (eta 0.3: {fig("free_rider", 0.3, "krum", "final_acc")} %); Bulyan
cannot run at eta 0.4 (f of about 8 among 20 proposers); under ALIE at eta 0.4 FedMedian,
FedTrimmedAvg, MultiKrum, the geometric median and centered clipping keep
{fig("alie", 0.4, "fedmedian", "final_acc")}, {fig("alie", 0.4, "fedtrimmedavg", "final_acc")},
{fig("alie", 0.4, "multikrum", "final_acc")}, {fig("alie", 0.4, "geometric_median", "final_acc")}
and {fig("alie", 0.4, "centered_clipping", "final_acc")} %, flock
{fig("alie", 0.4, "flock", "final_acc")} %.
"""


def _best(
    cells: dict[Key, Cell], dataset: str, attack: str, eta: float, defences: tuple[str, ...]
) -> str:
    """The best final accuracy among `defences` in a cell, with its name."""
    found = [
        (c.final_acc, name)
        for name in defences
        if (c := cell_for(cells, (dataset, attack, eta, name))[0]) is not None
    ]
    if not found:
        return "n/a"
    value, name = max(found)
    return f"{name} {fmt(value)}"


def _scoring_summary(cells: dict[Key, Cell], scoring: dict[Key, Cell] | None) -> str:
    """flock scored by accuracy against the same grid scored by test loss: final accuracy and
    the goals, counted over the cells both ran."""
    if not scoring:
        return (
            "Not in this report: run `python benchmarks/defence.py --grid full --defences flock "
            "scoring=loss`, then the report again."
        )
    both = [k for k in scoring if k[3] == "flock" and k in cells and k[1] != "none"]
    better = sum(1 for k in both if scoring[k].final_acc > cells[k].final_acc)
    worse = sum(1 for k in both if scoring[k].final_acc < cells[k].final_acc)
    merged = {**{k: c for k, c in cells.items() if k[3] != "flock"}, **scoring}
    rows = []
    for goal in ("0 honest slashed", "acc within 2 pts", "backdoor", ">= 90 %",
                 "ahead of every baseline"):  # fmt: skip
        a, b = goal_tally(cells, "flock", goal), goal_tally(merged, "flock", goal)
        rows.append(f"{goal}: {a[0]} of {a[1]} by accuracy, {b[0]} of {b[1]} by loss")
    key: Key = ("digits", "none", None, "flock")
    clean = [fmt(c.final_acc) if c else "n/a" for c in (cells.get(key), scoring.get(key))]
    return (
        "`scoring=loss` (`configs/scoring/loss.yaml`) scores a proposal by its mean "
        "cross-entropy on the voter's private test split, mapped into the contract's score range "
        "(finer than accuracy's 14.3-point steps), its thresholds set from the largest honest "
        f"gaps of clean runs (`--noise`). Over the {len(both)} attacked cells both ran, loss gave "
        f"a higher final accuracy in {better} and a lower one in {worse} (clean digits: "
        f"{clean[0]} by accuracy, {clean[1]} by loss). Goals met: {'; '.join(rows)}. The scale "
        "is fine, the honest spread on it is not: a single member's model, fit to 22 samples, "
        "is far more confident than the aggregate it is judged against, so its test loss is "
        "often much higher (median gap +34 % on digits, largest 8.5x), and thresholds that "
        "keep every honest member in are as loose as accuracy's. Accuracy stays the default. "
        "The tables after the headline set both side by side."
    )
