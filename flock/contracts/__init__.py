"""Web3 client for flock's contracts: artifacts, chains, typed clients, errors and events."""

from flock.contracts.chain import Chain, EmbeddedChain, RpcChain
from flock.contracts.clients import FactoryClient, TaskClient, TokenClient
from flock.contracts.deploy import Deployment, deploy_alliance, deploy_factory, deploy_token
from flock.contracts.errors import (
    ChainError,
    ChainMismatchError,
    ChainUnreachableError,
    ContractRevert,
    TransactionDroppedError,
    TransactionReplacedError,
    TransactionRevertedError,
)
from flock.contracts.tx import Signer, TxSender
from flock.protocol.types import (
    Outcome,
    Phase,
    Proposal,
    RewardRule,
    Role,
    RoundInfo,
    Settlement,
    SlashReason,
    TaskParams,
    VoteReveal,
)

__all__ = [
    "Chain",
    "ChainError",
    "ChainMismatchError",
    "ChainUnreachableError",
    "ContractRevert",
    "Deployment",
    "EmbeddedChain",
    "FactoryClient",
    "Outcome",
    "Phase",
    "Proposal",
    "RewardRule",
    "Role",
    "RoundInfo",
    "RpcChain",
    "Settlement",
    "Signer",
    "SlashReason",
    "TaskClient",
    "TaskParams",
    "TokenClient",
    "TransactionDroppedError",
    "TransactionReplacedError",
    "TransactionRevertedError",
    "TxSender",
    "VoteReveal",
    "deploy_alliance",
    "deploy_factory",
    "deploy_token",
]
