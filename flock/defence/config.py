"""The defence benchmark's names and configuration: defences, attacker fraction, variants."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

from flock.defence.baselines import BASELINES

TOKEN = 10**18


#: Settlement rules, then the baselines (no settlement).
RULES: tuple[str, ...] = ("flock", "flock_paper")
#: flock's own robust rules as defences without a vote: every proposer's update aggregated by
#: the rule of `configs/aggregation/<name>.yaml` (the rules Flower lacks).
AGGREGATOR_DEFENCES: tuple[str, ...] = ("geometric_median", "centered_clipping")
DEFENCES: tuple[str, ...] = (*RULES, *BASELINES, *AGGREGATOR_DEFENCES)
#: The `aggregation` config group's directory (configs/aggregation/).
AGGREGATION_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "aggregation"
#: Domain of the per-round role seeds of a simulated run.
ROLE_SEED_DOMAIN = b"flock.defence.roles"


def attack_with_fraction(attack: Mapping[str, Any], n: int, eta: float | None) -> dict[str, Any]:
    """The `attack` config group with every attacker count set to round(eta * n): the proposer
    and voter attackers it names (behaviour other than honest) and a non-empty cartel. With
    `eta` None the counts stay as configured."""
    out: dict[str, Any] = json.loads(json.dumps(dict(attack)))
    if eta is None:
        return out
    count = int(round(eta * n))
    for role in ("proposer", "voter"):
        spec = out.get(role) or {}
        if spec.get("behaviour", "honest") != "honest":
            spec["count"] = count
    cartel = out.get("cartel") or {}
    if int(cartel.get("size", 0)) > 0:
        cartel["size"] = count
    return out


def with_fraction(cfg: DictConfig) -> DictConfig:
    """A copy of `cfg` whose attack counts follow `defence.eta` (see attack_with_fraction)."""
    eta = cfg.defence.get("eta")
    attack = OmegaConf.to_container(cfg.attack, resolve=True)
    scaled = attack_with_fraction(
        cast(dict[str, Any], attack), int(cfg.participants), None if eta is None else float(eta)
    )
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    out.attack = scaled
    return cast(DictConfig, out)


def resolve_variant(cfg: DictConfig) -> DictConfig:
    """`cfg` with a variant's name resolved: `defence.variants.<name>` names its base rule, the
    `task` and `voting` knobs it changes and the `aggregation` config it uses (a name in
    configs/aggregation/). A defence of :data:`AGGREGATOR_DEFENCES` gets its own aggregation
    config unless `cfg` composed that rule already (`aggregation=<name>`, with overrides).
    Raises ValueError for a name that is neither."""
    name = str(cfg.defence.name)
    variants = cfg.defence.get("variants") or {}
    if name in variants:
        variant = variants[name]
        changes = {k: variant.get(k) or {} for k in ("task", "voting")}
        cfg = cast(DictConfig, OmegaConf.merge(cfg, changes))
        if variant.get("aggregation"):
            cfg.aggregation = aggregation_config(str(variant.aggregation))
        cfg.defence.name = str(variant.base)
        name = str(variant.base)
    if name not in DEFENCES:
        valid = ", ".join([*DEFENCES, *variants])
        raise ValueError(f"unknown defence {name!r}; valid: {valid}")
    if name in AGGREGATOR_DEFENCES and cfg.aggregation.get("name") != name:
        cfg.aggregation = aggregation_config(name)  # unless composed (aggregation=<name> ...)
    return cfg


def aggregation_config(name: str) -> DictConfig:
    """The `aggregation` config group's option `name` (configs/aggregation/<name>.yaml).
    Raises ValueError for a name without a file."""
    path = AGGREGATION_CONFIGS / f"{name}.yaml"
    if not path.is_file():
        valid = ", ".join(sorted(p.stem for p in AGGREGATION_CONFIGS.glob("*.yaml")))
        raise ValueError(f"no aggregation config {name!r}; valid: {valid}")
    return cast(DictConfig, OmegaConf.load(path))
