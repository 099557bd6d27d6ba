"""Update screening: the checks a voter runs on a round's updates before scoring them.

Accuracy on a handful of private test samples cannot see every bad update: a model-replacement
backdoor scores like an honest model, a free rider that resubmits the global model scores
exactly the baseline, and a copied update scores like its original. What these share is the
geometry of the update (the proposal minus the current global model): its norm is far above
the round's typical norm (a boosted update), exactly zero (no work), or next to an earlier
proposal's (a copy). A voter scores such a proposal 0, the score the contract never accepts.

"No work" and "copy" are judged so that an honest member is never refused for what it cannot
control. On tiny private splits a member whose samples the global model already fits barely
moves: once a round's accepted updates are large, such honest updates sit 1e3-1e5 times below
the median norm, and two of them lie close to each other only because both lie close to the
global model. So no work is an update of norm exactly 0 (the global model resubmitted bit for
bit; a median-relative floor, `min_norm_ratio`, is opt-in), and a copy lies within
`duplicate_ratio` of the smaller of the pair's two norms (and of the median). Who could cheat:
a free rider that adds noise to the global model, or to a copy, passes both checks, as it
passed any ratio floor by adding a little more; it is then scored like any update, and, like an
honest member whose data is already fit, it adds (almost) nothing to the aggregate.

One yardstick, pooled so that no single round's proposers own it: the median of the non-zero
norms of this round's updates together with those of the accepted updates that built the
round's base model (`reference_norms`, chosen by the previous committee). Either source alone can
be captured: colluders whom the draw gives most of a round's proposer seats make the round's
median their own norm (boosted or noise updates then look ordinary; tiny copies make every
honest update look oversized), and boosted updates a committee accepted inflate the previous
round's norms. In the pool, colluders must hold most of the round's seats and of the previous
accepted set together to move the median, whichever way they push it (with an even pool, the
bound an update fails takes the middle value that favours it). Every honest voter computes it
from the same public data and agrees. Without a reference (round 1, or a base whose updates are
not at hand) the round's own updates decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from flock.aggregation.clipping import median_norm

#: The rules' ratio fields: each a float >= 0, 0 turning its check off.
_RATIOS = ("max_norm_ratio", "min_norm_ratio", "duplicate_ratio", "max_sample_ratio")


@dataclass(frozen=True)
class ScreeningRules:
    """Bounds relative to the round's median update norm; a ratio of 0 turns its check off.

    Parameters
    ----------
    max_norm_ratio : float
        An update whose norm exceeds this multiple of the median update norm is out of bounds
        (model replacement needs a large norm; honest updates of one round stay close).
    min_norm_ratio : float
        An update whose norm is below this fraction of the median norm carries no work. Off by
        default: on tiny private splits an honest model that already fits its data barely
        moves, and once a round's accepted updates are large (boosted ones the vote could not
        see) such honest updates sit orders of magnitude below the median.
    duplicate_ratio : float
        A proposal within this fraction of an earlier proposal's update norm (lower index:
        published first), of its own and of the median norm, is a copy of it. Relative to the
        pair's own norms, so that two small honest updates are not copies of each other merely
        because both lie close to the global model.
    refuse_unchanged : bool
        A proposal equal to the global model bit for bit (update norm 0) carries no work: the
        global model resubmitted. Judged without a yardstick, so also in a round of one.
    max_sample_ratio : float
        A proposal claiming more training samples than this multiple of the voter's own train
        split is implausible (its claim is its aggregation weight); each voter judges from its
        own data, the committee's median decides.
    """

    max_norm_ratio: float = 10.0
    min_norm_ratio: float = 0.0
    duplicate_ratio: float = 0.01
    max_sample_ratio: float = 10.0
    refuse_unchanged: bool = True

    def __post_init__(self) -> None:
        for name in _RATIOS:
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"screening {name} must be >= 0, got {value}")
        if self.max_norm_ratio and self.max_norm_ratio <= self.min_norm_ratio:
            raise ValueError(
                f"screening max_norm_ratio ({self.max_norm_ratio}) must exceed min_norm_ratio "
                f"({self.min_norm_ratio})"
            )

    @classmethod
    def from_config(cls, voting: Mapping[str, Any] | None) -> ScreeningRules:
        """The rules of the config's `voting` section (missing keys keep their defaults)."""
        if not voting:
            return cls()
        values: dict[str, Any] = {k: float(v) for k, v in voting.items() if k in _RATIOS}
        if "refuse_unchanged" in voting:
            flag = voting["refuse_unchanged"]
            if not isinstance(flag, bool):
                raise ValueError(f"screening refuse_unchanged must be true or false, got {flag!r}")
            values["refuse_unchanged"] = flag
        return cls(**values)


def moved_update_norms(
    base_params: torch.Tensor, updated: Sequence[torch.Tensor]
) -> tuple[float, ...]:
    """The norms of the updates (each model minus `base_params`) that moved at all, in
    publication order: the screening reference of the next round (:func:`screen_updates`)."""
    if not updated:
        return ()
    norms = torch.linalg.vector_norm(torch.stack(list(updated)) - base_params, dim=1)
    return tuple(float(n) for n in norms.to(torch.float64) if n > 0)


def median_update_norm(base_params: torch.Tensor, updated: Sequence[torch.Tensor]) -> float | None:
    """The median norm of the updates (each model minus `base_params`) that moved at all, in
    float64 (:func:`flock.aggregation.clipping.median_norm` of :func:`moved_update_norms`);
    None when none moved."""
    return median_norm(moved_update_norms(base_params, updated))


def screen_updates(
    global_params: torch.Tensor,
    proposals: Sequence[torch.Tensor],
    rules: ScreeningRules,
    reference_norms: Sequence[float] = (),
) -> dict[int, str]:
    """Which proposals (positions in `proposals`, publication order) fail screening, and why.

    Parameters
    ----------
    global_params : torch.Tensor
        The current global model, flat.
    proposals : sequence of torch.Tensor
        The round's verified proposals (full flat parameter vectors), in publication order.
    rules : ScreeningRules
        The bounds, relative to the yardstick: the median of the non-zero norms of this
        round's updates pooled with `reference_norms` (of an even pool, the upper middle value
        for the oversized bound, the lower one for no work and copies).
    reference_norms : sequence of float
        The norms of the accepted updates that built `global_params`
        (:func:`moved_update_norms`); empty: the round's updates alone.

    Returns
    -------
    dict of int to str
        Position -> reason, for each proposal to score 0. Empty when the pool holds fewer than
        two norms (nothing to compare with).
    """
    if not proposals:
        return {}
    updates = torch.stack(list(proposals)) - global_params
    norms = torch.linalg.vector_norm(updates, dim=1).to(torch.float64).tolist()
    failed: dict[int, str] = {}
    if rules.refuse_unchanged:
        for i, norm in enumerate(norms):
            if norm == 0:
                failed[i] = "update norm 0: the global model resubmitted"
    pool = sorted(n for n in (*norms, *reference_norms) if n > 0)
    if len(pool) < 2:
        return failed
    # an even pool has two middle values: an update is oversized against the upper one and
    # carries no work (or is a copy) against the lower one, so that a half of the pool moves
    # neither bound against the other half (honest updates are refused only by a majority)
    low, high = pool[(len(pool) - 1) // 2], pool[len(pool) // 2]
    for i, norm in enumerate(norms):
        if i in failed:
            continue
        if rules.max_norm_ratio and norm > rules.max_norm_ratio * high:
            failed[i] = f"update norm {norm:.4g} > {rules.max_norm_ratio:g} x median {high:.4g}"
        elif norm < rules.min_norm_ratio * low:
            failed[i] = f"update norm {norm:.4g} < {rules.min_norm_ratio:g} x median {low:.4g}"
    if rules.duplicate_ratio:
        # exact pairwise differences (no Gram-matrix shortcut: a copy must measure ~0), each
        # pair against the smaller of its two update norms and the median
        distances = torch.cdist(updates, updates, compute_mode="donot_use_mm_for_euclid_dist")
        sizes = torch.tensor(norms, dtype=torch.float64).clamp(max=low)
        limits = rules.duplicate_ratio * torch.minimum(sizes[:, None], sizes[None, :])
        close = (distances.to(torch.float64) <= limits) & (sizes > 0)[None, :]
        for i in range(1, len(proposals)):
            earlier = close[i, :i].nonzero()
            if len(earlier) and i not in failed:
                failed[i] = f"copy of proposal at position {int(earlier[0, 0])}"
    return failed
