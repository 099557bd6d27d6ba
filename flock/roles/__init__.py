"""Roles of a participant in a round: proposer, voter, and the role assignment."""
