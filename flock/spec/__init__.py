"""A task's specification from a run's config: validation and exact token amounts, the
contract's TaskConfig, the training-spec hash every member checks, and dev-chain keys. Shared
by every orchestration (`flock run`, the Flower alliance, `flock deploy`, the defence sweep)."""

from flock.spec.keys import participant_signer
from flock.spec.task import score_tolerances, spec_hash_of, task_params
from flock.spec.validation import AMOUNT_KEYS, TOKEN, ConfigError, config_amounts, validate_config

__all__ = [
    "AMOUNT_KEYS",
    "TOKEN",
    "ConfigError",
    "config_amounts",
    "participant_signer",
    "score_tolerances",
    "spec_hash_of",
    "task_params",
    "validate_config",
]
