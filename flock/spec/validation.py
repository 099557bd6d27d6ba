"""Checks on a run's config before anything is deployed, and its token amounts in wei, exactly."""

from __future__ import annotations

import re

from omegaconf import DictConfig, OmegaConf

from flock.contracts.units import to_wei
from flock.store import STORE_KINDS

TOKEN = 10**18


class ConfigError(ValueError):
    """A configuration that cannot run (checked before anything is deployed)."""


#: Token amounts in the config (whole tokens, or wei for `decimals` 0), converted exactly.
AMOUNT_KEYS: dict[str, int] = {
    "tokens.supply": 18,
    "tokens.reward_pool": 18,
    "tokens.per_participant": 18,
    "tokens.stake": 18,
    "task.min_stake": 18,
    "chain.fund_wei": 0,
}


def config_amounts(cfg: DictConfig) -> dict[str, int]:
    """The config's token amounts (:data:`AMOUNT_KEYS`) in wei, exactly (no float on the way).

    Raises
    ------
    ConfigError
        Naming every amount that is negative, not a number, or finer than the token.
    """
    amounts: dict[str, int] = {}
    errors: list[str] = []
    for key, decimals in AMOUNT_KEYS.items():
        try:
            amounts[key] = to_wei(OmegaConf.select(cfg, key, throw_on_missing=True), decimals)
        except ValueError as exc:
            errors.append(f"{key}: {exc}")
    if errors:
        raise ConfigError("invalid config: " + "; ".join(errors))
    return amounts


def validate_config(cfg: DictConfig) -> None:
    """Reject impossible values with a message naming the key."""
    n, task = int(cfg.participants), cfg.task
    wei = config_amounts(cfg)
    checks = [
        (n >= 2, "participants must be >= 2"),
        (int(task.rounds) >= 1, "task.rounds must be >= 1"),
        (
            1 <= int(task.proposers_per_round) < n,
            "task.proposers_per_round must be in [1, participants)",
        ),
        (int(task.max_voters) >= 1, "task.max_voters must be >= 1"),
        (0 <= int(task.slash_bps) <= 10_000, "task.slash_bps must be in [0, 10000]"),
        (0 <= int(task.voter_share_bps) <= 10_000, "task.voter_share_bps must be in [0, 10000]"),
        (wei["tokens.stake"] >= wei["task.min_stake"], "tokens.stake must be >= task.min_stake"),
        (
            wei["tokens.per_participant"] >= wei["tokens.stake"],
            "tokens.per_participant must cover tokens.stake",
        ),
        (wei["tokens.reward_pool"] > 0, "tokens.reward_pool must be > 0"),
        (int(cfg.training.epochs) >= 1, "training.epochs must be >= 1"),
        (float(cfg.training.lr) > 0, "training.lr must be > 0"),
        (0 < float(cfg.test_fraction) < 1, "test_fraction must be in (0, 1)"),
        (0 < float(cfg.holdout_fraction) < 1, "holdout_fraction must be in (0, 1)"),
    ]
    for count_key in ("proposer", "voter"):
        count = int(cfg.attack[count_key].count)
        checks.append((0 <= count <= n, f"attack.{count_key}.count must be in [0, participants]"))
    cartel_size = int(cfg.attack.get("cartel", {}).get("size", 0))
    checks.append((0 <= cartel_size <= n, "attack.cartel.size must be in [0, participants]"))
    checks += _store_checks(cfg)
    checks += _beacon_checks(cfg)
    checks += _scoring_checks(cfg)
    checks += _text_checks(cfg)
    errors = [msg for ok, msg in checks if not ok]
    if errors:
        raise ConfigError("invalid config: " + "; ".join(errors))


def _text_checks(cfg: DictConfig) -> list[tuple[bool, str]]:
    """The text task (`dataset=text`): one private topic per member, none of them public, and
    the language model's solo-baseline block (`lm_report.solo`) in range."""
    dataset = cfg.get("dataset")
    if dataset is None or str(dataset.get("name")) != "text":
        return []
    topics = [str(t) for t in dataset.topics]
    public = {str(t) for t in dataset.public_topics}
    n = int(cfg.participants)
    checks = [
        (
            len(topics) >= n,
            f"dataset.topics: {n} participants need one topic each, got {len(topics)}",
        ),
        (len(set(topics)) == len(topics), "dataset.topics must not repeat a topic"),
        (
            not set(topics) & public,
            f"dataset.topics {sorted(set(topics) & public)} are also dataset.public_topics",
        ),
        (int(dataset.block_len) >= 2, "dataset.block_len must be >= 2"),
    ]
    solo = (cfg.get("lm_report") or {}).get("solo")
    if solo is not None:
        steps = solo.get("steps")
        checks += [
            (steps is None or int(steps) >= 1, "lm_report.solo.steps must be null or >= 1"),
            (int(solo.workers) >= 0, "lm_report.solo.workers must be >= 0"),
            (int(solo.threads) >= 1, "lm_report.solo.threads must be >= 1"),
        ]
    return checks


def _scoring_checks(cfg: DictConfig) -> list[tuple[bool, str]]:
    from flock.learning.scoring import Scoring

    try:
        Scoring.from_config(cfg.get("scoring"))
    except ValueError as exc:
        return [(False, f"scoring: {exc}")]
    return []


def _beacon_checks(cfg: DictConfig) -> list[tuple[bool, str]]:
    """The task's randomness beacon: an address on a chain that can hold one, or none."""
    beacon = cfg.task.get("beacon")
    grace = int(cfg.task.get("beacon_grace_s", 0))
    checks = [(0 <= grace < 2**32, "task.beacon_grace_s must be in [0, 2**32)")]
    if beacon is not None:
        checks.append(
            (
                isinstance(beacon, str) and re.fullmatch(r"0x[0-9a-fA-F]{40}", beacon) is not None,
                "task.beacon must be an address (0x and 40 hex digits) or null",
            )
        )
        checks.append(
            (
                str(cfg.chain.kind) != "embedded",
                "task.beacon needs a chain with a beacon contract (chain=anvil or chain=rpc); "
                "the embedded chain has none",
            )
        )
    return checks


def _store_checks(cfg: DictConfig) -> list[tuple[bool, str]]:
    """The `store` group: a known kind, a size cap, and (networked kinds) fetch deadlines that
    end inside the commit period: a voter fetches each proposal, then scores and commits."""
    store = cfg.get("store")
    if store is None:
        return []
    kind = str(store.get("kind", "dir"))
    checks = [
        (kind in STORE_KINDS, f"store.kind must be one of {', '.join(STORE_KINDS)}"),
        (int(store.max_bytes) >= 1, "store.max_bytes must be >= 1"),
    ]
    if kind != "dir":
        deadline = float(store.get("fetch_deadline_s", 60.0))
        fetches = deadline * int(cfg.task.proposers_per_round)
        checks.append((deadline > 0, "store.fetch_deadline_s must be > 0"))
        checks.append(
            (
                fetches < float(cfg.task.commit_period),
                "store.fetch_deadline_s x task.proposers_per_round must end inside "
                "task.commit_period",
            )
        )
    return checks
