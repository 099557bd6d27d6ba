"""What every member of a task must agree on, from the config: the contract's TaskConfig (with
score tolerances fitted to the private test splits) and the hash of the training spec."""

from __future__ import annotations

import json
import logging
import math

from eth_utils import keccak
from omegaconf import DictConfig, OmegaConf

from flock.contracts.units import to_wei
from flock.learning.alliance_data import alliance_data, score_floor_bps
from flock.protocol.commitments import MAX_SCORE
from flock.protocol.types import RewardRule, TaskParams

log = logging.getLogger(__name__)


def score_tolerances(cfg: DictConfig, smallest_test_split: int | None = None) -> dict[str, int]:
    """The score thresholds `tolerance_bps`, `peer_tolerance_bps`, `min_deviation_bps` and
    `wash_mad_bps` as configured, the first two raised to `task.score_steps` score steps of the
    smallest private test split, the last two (the voter band's floor and the wash limit) to
    `task.band_score_steps` (default: twice as many): voters are judged on paired differences,
    the difference of two scores, whose honest spread is twice a score's.

    A voter's accuracy on n test samples moves in steps of 10000 / n basis points, and the
    median over voters stays on that lattice: a tolerance below about two steps rejects honest
    models one test sample worse than the global model (7 samples: 14.3-point steps), a voter
    band below it slashes honest voters, and a wash threshold below it voids every round in
    which a large minority disagrees (honest voters' own spread already reaches it). The split
    size is `task.min_test_samples` when set (a deployment whose splits are private), else
    `smallest_test_split`, else computed from the config's partition.

    It also returns the accept tolerances (`accept_tolerance_bps`, `accept_peer_tolerance_bps`:
    the contract accepts within them, declines without slashing past them and slashes past
    the tolerances): as configured (unset: the tolerance itself, so nothing is declined),
    raised to `task.accept_score_steps` score steps (unset: `score_steps`), and never above
    the raised tolerance. An accept tolerance configured above its (raised) tolerance is an
    error.
    """
    t = cfg.task
    configured = {
        "tolerance_bps": int(t.tolerance_bps),
        "peer_tolerance_bps": int(t.peer_tolerance_bps),
        "min_deviation_bps": int(t.min_deviation_bps),
        "wash_mad_bps": int(t.wash_mad_bps),
    }
    steps = float(t.get("score_steps") or 0)
    if steps == 0 or _scoring_name(cfg) != "accuracy":
        # the lattice is accuracy's: a loss score moves in units of its own
        return configured | _accept_tolerances(cfg, configured, 0)
    n = _smallest_test_split(cfg, smallest_test_split)
    floor = score_floor_bps(steps, int(n))
    band_steps = float(t.get("band_score_steps") or 2 * steps)
    band_floor = score_floor_bps(band_steps, int(n))
    floors = {"tolerance_bps": floor, "peer_tolerance_bps": floor}
    floors |= {"min_deviation_bps": band_floor, "wash_mad_bps": band_floor}
    raised = {k: max(v, floors[k]) for k, v in configured.items()}
    accept_steps = t.get("accept_score_steps")
    accept_floor = floor if accept_steps is None else score_floor_bps(float(accept_steps), int(n))
    raised |= _accept_tolerances(cfg, raised, accept_floor)
    if raised != configured:
        log.info(
            "private test splits of %d samples: score tolerances raised to %d bps (%g steps), "
            "the voter band and wash limit to %d bps (%g steps)",
            int(n), floor, steps, band_floor, band_steps,
        )  # fmt: skip
    if floor > MAX_SCORE // 2:
        log.warning(
            "private test splits of %d samples are too small to judge a proposal (%g score "
            "steps = %d bps): raise test_fraction or give participants more data",
            int(n), steps, floor,
        )  # fmt: skip
    return raised


def _accept_tolerances(cfg: DictConfig, tolerances: dict[str, int], floor: int) -> dict[str, int]:
    """`task.accept_tolerance_bps` and `task.accept_peer_tolerance_bps` (unset: the configured
    tolerance each sits inside), each raised to `floor` but not above its final tolerance in
    `tolerances`.

    Raises
    ------
    ValueError
        For an accept tolerance below 0 or above its tolerance: past the accept tolerance a
        proposal is declined, past the tolerance slashed, so the first must lie inside.
    """
    t = cfg.task
    fitted: dict[str, int] = {}
    for key in ("accept_tolerance_bps", "accept_peer_tolerance_bps"):
        outer_key = key.removeprefix("accept_")
        configured = t.get(key)
        value = int(t[outer_key]) if configured is None else int(configured)
        outer = tolerances[outer_key]
        if not 0 <= value <= outer:
            raise ValueError(
                f"task.{key} ({value}) must lie in 0..{outer}, the {outer_key} it sits inside:"
                " past it a proposal is declined, past the tolerance slashed"
            )
        fitted[key] = min(max(value, floor), outer)
    return fitted


def _smallest_test_split(cfg: DictConfig, smallest_test_split: int | None) -> int:
    """`task.min_test_samples`, else `smallest_test_split`, else the config's partition's."""
    n = cfg.task.get("min_test_samples") or smallest_test_split
    if n is None and str(cfg.dataset.name) == "text":  # blocks of at least test_bytes bytes
        n = max(1, int(cfg.dataset.test_bytes) // int(cfg.dataset.block_len))
    if n is None:
        n = alliance_data(cfg).smallest_test_split
    return int(n)


def task_params(
    cfg: DictConfig,
    *,
    spec_hash: bytes,
    initial_model_hash: bytes,
    smallest_test_split: int | None = None,
) -> TaskParams:
    """The contract's TaskConfig from the `task` and `reward` config groups (tolerances from
    :func:`score_tolerances`)."""
    t = cfg.task
    tolerances = score_tolerances(cfg, smallest_test_split)
    return TaskParams(
        spec_hash=spec_hash,
        initial_model_hash=initial_model_hash,
        min_stake=to_wei(t.min_stake),
        max_participants=int(t.max_participants or cfg.participants),
        proposers_per_round=int(t.proposers_per_round),
        max_voters=int(t.max_voters),
        min_voters=int(t.min_voters),
        rounds=int(t.rounds),
        enrol_period=int(t.enrol_period),
        propose_period=int(t.propose_period),
        commit_period=int(t.commit_period),
        reveal_period=int(t.reveal_period),
        max_samples=int(t.max_samples),
        slash_bps=int(t.slash_bps),
        tolerance_bps=tolerances["tolerance_bps"],
        peer_tolerance_bps=tolerances["peer_tolerance_bps"],
        mad_multiplier_x100=int(t.mad_multiplier_x100),
        min_deviation_bps=tolerances["min_deviation_bps"],
        wash_mad_bps=tolerances["wash_mad_bps"],
        voter_share_bps=int(t.voter_share_bps),
        reward_rule=RewardRule[str(cfg.reward.rule).upper()],
        softmax_temperature_bps=int(cfg.reward.softmax_temperature_bps),
        base_band_bps=base_band(cfg, tolerances["min_deviation_bps"], smallest_test_split),
        accept_tolerance_bps=tolerances["accept_tolerance_bps"],
        accept_peer_tolerance_bps=tolerances["accept_peer_tolerance_bps"],
    )


def base_band(
    cfg: DictConfig, min_deviation_bps: int, smallest_test_split: int | None = None
) -> int:
    """`task.base_band_bps`, the floor of the band around the voters' median base-model score
    (a voter's own score of the base model offsets every paired difference it reveals, so it is
    judged on its own), raised to `min_deviation_bps` (the proposals' band floor) and, for
    accuracy with `task.score_steps`, to `task.base_band_sds` standard deviations of a single
    accuracy score at its widest (p = 0.5: 5000 / sqrt(n) bps on n test samples): a base score
    carries its test split's whole sampling noise, which the paired differences cancel.
    Unset: that floor, except where members' test splits are not drawn from one distribution,
    a Dirichlet partition (each member its own class mix) or a dataset that gives each member
    a topic of its own (`dataset.topics`, the language-model task): their base scores differ
    by more than sampling noise, so MAX_SCORE there (base scores unjudged, the paired
    differences alone)."""
    t = cfg.task
    floor = min_deviation_bps
    if float(t.get("score_steps") or 0) > 0 and _scoring_name(cfg) == "accuracy":
        n = _smallest_test_split(cfg, smallest_test_split)
        sds = float(t.get("base_band_sds") or 0)
        floor = max(floor, math.ceil(sds * (MAX_SCORE // 2) / math.sqrt(n)))
    configured = t.get("base_band_bps")
    if configured is None:
        if str(cfg.partition.scheme) == "dirichlet" or cfg.dataset.get("topics"):
            return MAX_SCORE
        return min(floor, MAX_SCORE)
    return min(max(int(configured), floor), MAX_SCORE)


def _scoring_name(cfg: DictConfig) -> str:
    scoring = cfg.get("scoring")
    return "accuracy" if scoring is None else str(scoring.get("name", "accuracy"))


def spec_hash_of(cfg: DictConfig) -> bytes:
    """keccak256 of the canonical JSON of the off-chain training spec.

    The `scoring` group enters it when it is not the default (accuracy), so classification's
    default hash is what it was. For `model=causal_lm` the SHA-256 of the base model's weights
    enters it too (the tokenizer is the dataset's, the LoRA settings the model's): every
    adapter applies to that base."""
    spec = {
        "dataset": OmegaConf.to_container(cfg.dataset, resolve=True),
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "training": OmegaConf.to_container(cfg.training, resolve=True),
        "aggregation": OmegaConf.to_container(cfg.aggregation, resolve=True),
    }
    if cfg.get("voting") is not None:  # how voters screen updates: every voter must agree
        spec["voting"] = OmegaConf.to_container(cfg.voting, resolve=True)
    if _scoring_name(cfg) != "accuracy":
        spec["scoring"] = OmegaConf.to_container(cfg.scoring, resolve=True)
    if cfg.model.get("kind") == "causal_lm":
        from flock.learning.causal_lm import base_model_digest

        arch = OmegaConf.to_container(cfg.model.arch, resolve=True)
        base_dir = cfg.model.get("base_dir")
        spec["base_model"] = base_model_digest(base_dir, arch, int(cfg.model.base_seed))  # type: ignore[arg-type]
        model_spec = spec["model"]
        if isinstance(model_spec, dict):  # where the base lies is not the spec; its hash is
            model_spec.pop("base_dir", None)
    return keccak(json.dumps(spec, sort_keys=True).encode())
