"""flock's blob service (`flock store serve`): the http store's server, which takes signed
uploads from a task's members only (asked of the chain), keeps each blob once under its digest
and serves it to anyone; members' readers verify every byte."""

from flock.storeservice.app import (
    USED_SIGNATURES,
    MembershipUnavailableError,
    ServiceSettings,
    create_app,
    parse_ref,
)
from flock.storeservice.guards import ReplayGuard, TokenBuckets
from flock.storeservice.membership import MemberCheck, task_membership
from flock.storeservice.server import ServiceThread, parse_address, serve

__all__ = [
    "USED_SIGNATURES",
    "MemberCheck",
    "MembershipUnavailableError",
    "ReplayGuard",
    "ServiceSettings",
    "ServiceThread",
    "TokenBuckets",
    "create_app",
    "parse_address",
    "parse_ref",
    "serve",
    "task_membership",
]
