"""Roles of a participant in a round: proposer, voter, and the role assignment."""

from flock.protocol.role_draw import assign_roles, committee_sizes, role_for, shuffled_index
from flock.roles.base import RoleContext
from flock.roles.proposer import Proposer, TrainingSpec, Update
from flock.roles.screening import (
    ScreeningRules,
    median_update_norm,
    moved_update_norms,
    screen_updates,
)
from flock.roles.voter import Ballot, Voter, accuracy_to_score, valid_model_score

__all__ = [
    "Ballot",
    "Proposer",
    "RoleContext",
    "ScreeningRules",
    "TrainingSpec",
    "Update",
    "Voter",
    "accuracy_to_score",
    "assign_roles",
    "committee_sizes",
    "median_update_norm",
    "moved_update_norms",
    "role_for",
    "screen_updates",
    "shuffled_index",
    "valid_model_score",
]
