"""The analysis under the defence report's tables: a text template whose figures come from the
grid's cells and a saved `--diagnose` run."""

from __future__ import annotations

import math
from collections.abc import Sequence

from flock.defence.summary import Cell, Key, cell_for, clean_reference, fmt


def notes(cells: dict[Key, Cell], diag: dict[str, str]) -> str:
    """The analysis under the tables, its figures taken from this grid and `--diagnose`."""

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

    def drop(attack: str, eta: float, defence: str) -> str:
        cell, clean = get(attack, eta, defence), clean_reference(cells, "digits", defence)
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

    def worst(defence: str, field: str, attacks: Sequence[str], digits: int = 1) -> str:
        values = [
            float(getattr(c, field))
            for (d, a, e, name), c in cells.items()
            if d == "digits" and name == defence and a in attacks
        ]
        return fmt(max(values), digits) if values else "n/a"

    def d(key: str) -> str:
        return diag.get(key, "n/a")

    at_bound = [
        (k, c)
        for k, c in cells.items()
        if k[0] == "digits"
        and k[3] == "flock"
        and k[1] in ("label_flip", "sign_flip", "gaussian_noise", "scaling", "backdoor", "lazy")
        and not math.isnan(c.exposed_90)
    ]
    reached = sum(1 for _, c in at_bound if c.rounds_to_90 <= c.exposed_90)
    return f"""## What the figures say

`flock` is the rule as shipped now; `flock_v0` is the same contract and code with the two
changes of this grid turned off by config (`task.score_steps=0`, every `voting` ratio 0): the
rule as the previous grid measured it.

**1. Honest participants slashed (goal: 0 at eta <= 0.3).** flock slashed at most
{worst_honest("flock")} honest participants in any digits run at eta <= 0.3
({fig("none", None, "flock", "honest_slashed_max", 0)} in the clean run); flock_v0 slashed up
to {worst_honest("flock_v0")} ({fig("none", None, "flock_v0", "honest_slashed_max", 0)} of 50 in
the clean run). `python benchmarks/defence.py --diagnose` shows why v0 failed: a participant's
private test split holds {d("test_split_samples[digits]")} samples (K = 50, 25 % of ~29), so a
voter's score moves in steps of {d("score_quantum_pts[digits]")} points and the median of the
voters' scores stays on that lattice. An honest local model (trained on
{d("train_split_samples[digits]")} samples) is truly {d("honest_holdout_gap_pts[flock_v0,digits]")}
points below the global model on the public holdout, but the consensus scores put it
{d("honest_score_gap_pts[flock_v0,digits]")} points below (median;
{d("honest_score_gap_late_mode_pts[flock_v0,digits]")} points, one test sample, is the most
common gap late in training), beyond v0's {d("tolerance_pts[flock_v0,digits]")}-point
tolerance: {d("honest_rejected_pct[flock_v0,digits]")} % of honest proposals were rejected.
flock now raises `tolerance_bps`, `peer_tolerance_bps`, `min_deviation_bps` and `wash_mad_bps`
to two score steps of the smallest private test split ({d("tolerance_pts[flock,digits]")} points
here; `task.score_steps`): {d("honest_rejected_pct[flock,digits]")} % of honest proposals
rejected in the clean run. The digits runs that still slash an honest member (median of seeds
at most 1; cartels at eta 0.2 and 0.3, min-sum at 0.3) lose it in rounds where attackers hold
many voter seats or an honest update fails screening. On breast cancer
({d("test_split_samples[breast_cancer]")} test samples each, steps of
{d("score_quantum_pts[breast_cancer]")} points) two steps cap the tolerances at 100 points, so
a proposal is rejected only when the voters refuse it (score 0), and flock warns that such
splits cannot judge a proposal. The refusals misfire there: with 7 training samples most
members' data are already fit, honest updates span orders of magnitude (some are exactly 0),
and norm screening refuses a few honest ones, up to {worst_honest("flock", "breast_cancer")}
honest participants slashed in a run (scaling at eta 0.3; flock_v0: up to
{worst_honest("flock_v0", "breast_cancer")}). What remains is data too small to judge with; more
samples per member, or finer statistics than accuracy (the test loss), would let the
thresholds shrink again.

**2. >= 90 % of attackers slashed within 5 rounds: bounded by the role draw.** An attacker can
only be caught in a round that gives it the role it misbehaves in. With 20 proposers among 50,
a proposer attacker is drawn with probability 0.4 per round, 1 - 0.6^5 = 92 % within 5 rounds,
so at eta = 0.1 (5 attackers, all 5 needed) the goal fails on the draw alone about one time in
three. The bracket in the tables is that bound, from the run's own role draws: flock's rule
reached it in {reached} of {len(at_bound)} cells of label flip, sign flip, noise, scaling,
backdoor and lazy voters (it slashes an attacker at its first malicious act there). Fix: count
the goal against the attackers that had the role, or raise `proposers_per_round` (the contract
caps it at 32).

**3. Free riders and copies are refused; statistical attacks pass.** A voter now scores 0 an
update below 0.1 % of the median norm of the round's updates that moved (the global model
resubmitted) or within 1 % of an earlier proposal (a copy), and the contract never accepts a
median of 0: flock
aggregated {fig("free_rider", 0.3, "flock", "accepted_attack_pct", 0)} % of the free riders'
proposals at eta 0.3 (flock_v0: {fig("free_rider", 0.3, "flock_v0", "accepted_attack_pct", 0)} %).
ALIE and min-sum updates stay inside the honest spread by construction and score like honest
ones: flock aggregated {fig("alie", 0.2, "flock", "accepted_attack_pct", 0)} % of the ALIE
updates at eta 0.2, yet they barely hurt ({fig("alie", 0.2, "flock", "final_acc")} % against
{fig("none", None, "flock", "final_acc")} % clean); min-max: {
        fig("min_max", 0.2, "flock", "accepted_attack_pct", 0)
    } % aggregated, {fig("min_max", 0.2, "flock", "final_acc")} % final.

**4. Backdoor (goal <= 5 % over 20 rounds).** Model replacement boosts the update x n / eta =
x20; honest voters now score 0 an update above 10x the round's median norm, so the boosted
update is refused from round 1 on (where v0 accepted it because an untrained global model
scores about 0 and every proposal clears the baseline). Highest backdoor success in any round,
median of seeds: flock {worst("flock", "backdoor_max", ["backdoor"])} % over eta 0.1 to 0.4
(flock_v0 {worst("flock_v0", "backdoor_max", ["backdoor"])} %, MultiKrum at eta 0.3 {
        fig("backdoor", 0.3, "multikrum", "backdoor_max")
    } %). The bound is relative: an attacker who scales by less than 10x gets through screening
and is judged by accuracy; clipping every accepted update to the median norm in the consensus
aggregate would close that: `flock_clip` does (aggregation=consensus_clipped), backdoor max {
        fig("backdoor", 0.3, "flock_clip", "backdoor_max")
    } % at eta 0.3.

**4b. Sign flips pass at eta >= 0.2.** A sign-flipped update has an honest norm and its model
stays within two score steps of the global model on 7 samples, so it is accepted often enough
to cost {drop("sign_flip", 0.3, "flock")} points at eta 0.3 and {
        drop("sign_flip", 0.4, "flock")
    } at 0.4 (FedAvg: {drop("sign_flip", 0.3, "fedavg")} and {
        drop("sign_flip", 0.4, "fedavg")
    }). A direction check (score 0 an update whose cosine with the round's coordinate-wise median
update is <= 0) was tried and dropped: on the clean digits run it slashed 3 honest members
(11 on breast cancer), since 22-sample updates are too noisy to share a direction, and still let
36 % of the sign flips through at eta 0.3.

**5. Colluding voters at eta = 0.4: a cartel majority.** A cartel of 40 % votes its own
label-flipped proposals 100 and everything else 0. With 7-sample scores, the honest voters' own
spread plus that minority pushed most items' MAD over v0's 20-point `wash_mad_bps`, so v0
voided most rounds as washes ({fig("colluding_cartel", 0.4, "flock_v0", "skipped", 0)} of 20
void, final {fig("colluding_cartel", 0.4, "flock_v0", "final_acc")} %). The wash threshold is
now floored at two score steps too ({fig("colluding_cartel", 0.4, "flock", "skipped", 0)} of 20
void): the honest majority settles the other rounds and slashes the cartel's voters. But in a
round where few cartel members drew the proposer role, the cartel holds most of the 30 voter
seats (hypergeometric, about 4 % of rounds at eta 0.4): its updates are accepted, the honest
ones rejected, honest voters slashed, and the model is set back (final
{fig("colluding_cartel", 0.4, "flock", "final_acc")} %, median of seeds). No median-of-voters rule
survives a voter majority, and a contract cannot tell an honest-majority round from a
cartel-majority round by counting alone. flock keeps {
        fig("colluding_cartel", 0.3, "flock", "final_acc")
    } % at eta 0.3. Fixes to explore: have honest members refuse to build on an aggregate that
scores below the baseline on their own test split (the aggregate challenge exists on chain, its
resolution is not automated), and draw proposers so that a cartel's voter share cannot swing.

**6. Random voters are outvoted, seldom slashed.** With 30 % of the voters scoring uniformly at
random, each item's MAD grows and the 3-MAD band covers most of the score range, so a random
scorer is rarely outside it on most items: flock slashed {
        fig("random_score", 0.3, "flock", "slashed_by_5_pct", 0)
    } % of them by round 5 at eta 0.3. (flock_v0's {
        fig("random_score", 0.3, "flock_v0", "slashed_by_5_pct", 0)
    } % came mostly from slashing them as *proposers*: v0 rejected 45 % of honest proposals.) The
median ignores them (accuracy {fig("random_score", 0.3, "flock", "final_acc")} %) and voter
rewards follow closeness to the median, so they earn little. Fix: a band built from the central
majority of the scores (e.g. the MAD of the middle 60 %), which a minority cannot widen.

**7. The FLock paper's rule.** A vote on the whole aggregate cannot separate attackers from
honest proposers: accepted rounds aggregate every attacker's update (label flip, eta 0.3:
{fig("label_flip", 0.3, "flock_paper", "accepted_attack_pct", 0)} % of the flippers' updates),
rejected rounds slash every honest proposer in them (up to {worst_honest("flock_paper")} honest
participants per run at eta <= 0.3), and boosted updates drag the accepted aggregate down
(scaling, eta 0.3: {fig("scaling", 0.3, "flock_paper", "final_acc")} %).

**8. Flower's strategies, given the true f.** Krum keeps a single update of ~22 samples (clean
{fig("none", None, "krum", "final_acc")} %) and, facing free riders, keeps their identical
copies of the global model (eta 0.3: {fig("free_rider", 0.3, "krum", "final_acc")} %); Bulyan
needs n >= 4f + 3 and cannot run at eta 0.4 (f of about 8 among 20 proposers); FedMedian,
FedTrimmedAvg and MultiKrum collapse under ALIE at eta 0.4 ({
        fig("alie", 0.4, "fedmedian", "final_acc")
    }, {fig("alie", 0.4, "fedtrimmedavg", "final_acc")},
{fig("alie", 0.4, "multikrum", "final_acc")} %), where flock keeps
{fig("alie", 0.4, "flock", "final_acc")} %.

The baseline runs are those of the previous grid (commit 185b55d): they hold no vote and screen
nothing, so nothing changed for them.
"""
