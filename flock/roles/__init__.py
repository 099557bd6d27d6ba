"""Roles of a participant in a round: proposer, voter, and the role assignment."""

from flock.roles.assignment import assign_roles, committee_sizes, role_for, shuffled_index
from flock.roles.base import RoleContext
from flock.roles.proposer import Proposer, TrainingSpec, Update
from flock.roles.voter import Ballot, Voter, accuracy_to_score

__all__ = [
    "Ballot",
    "Proposer",
    "RoleContext",
    "TrainingSpec",
    "Update",
    "Voter",
    "accuracy_to_score",
    "assign_roles",
    "committee_sizes",
    "role_for",
    "shuffled_index",
]
