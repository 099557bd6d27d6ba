"""Set up a local alliance: deploy the task, fund and stake N wallets, give each member its
data, roles and behaviours."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from flock.attacks import Cartel, draw_attackers, plan_attacks
from flock.contracts import Chain, TaskClient, TxSender
from flock.contracts.deploy import deploy_alliance
from flock.contracts.participant import ChainParticipant
from flock.contracts.units import to_wei
from flock.learning.alliance_data import alliance_data
from flock.learning.data import Dataset
from flock.learning.models import flatten_params, num_params
from flock.learning.scoring import Scoring
from flock.learning.text import TextHoldout
from flock.local.driver import RoundDriver
from flock.local.reporting import RoundRecord
from flock.local.stores import LocalStores
from flock.roles import Proposer, RoleContext, ScreeningRules, TrainingSpec, Voter
from flock.roles.global_model import BaseModel, base_model
from flock.spec import participant_signer, spec_hash_of, task_params
from flock.store import BlobStore

log = logging.getLogger(__name__)


@dataclass
class Member:
    """One local participant with its roles and assigned behaviours."""

    participant: ChainParticipant
    proposer: Proposer
    voter: Voter
    proposer_behaviour: str
    voter_behaviour: str

    @property
    def address(self) -> str:
        return self.participant.address


@dataclass
class Alliance:
    """The live state of a local alliance."""

    chain: Chain
    task: TaskClient
    members: list[Member]
    driver: RoundDriver
    store: BlobStore
    #: The initial model and its hash (round 1's base).
    initial: tuple[torch.Tensor, bytes]
    holdout: Dataset | TextHoldout
    make_model: Callable[[], torch.nn.Module]
    aggregation: Any
    num_params: int
    records: list[RoundRecord] = field(default_factory=list)
    #: Colluders who pool their honest updates each round (empty without attacks).
    cartel: Cartel = field(default_factory=lambda: Cartel({}))
    #: Rounds whose adopted aggregate differed from the honest recomputation.
    adopted_mismatches: list[int] = field(default_factory=list)
    #: Rounds whose aggregate found no attesting majority (void).
    voided_aggregates: list[int] = field(default_factory=list)
    #: Every store of the run (a networked store: the members' caches and the service).
    stores: LocalStores | None = None

    def close(self) -> None:
        """Stop what the alliance started besides the chain (the blob service of store=http)."""
        if self.stores is not None:
            self.stores.close()

    def base(self) -> BaseModel:
        """The current round's base model as an honest member computes it (the pending
        aggregate recomputed from the chain, else the adopted model)."""
        return base_model(self.aggregation, self.task, self.store, self.num_params)


def attacker_indices(cfg: DictConfig, n: int, role: str) -> set[int]:
    """Indices of the `n` participants the config's `attack` group makes misbehave as `role`
    ("proposer" or "voter"); drawn from the seed, so every orchestration agrees."""
    return set(draw_attackers(int(cfg.seed), n, int(cfg.attack[role].count), role))


def build_alliance(cfg: DictConfig, chain: Chain, run_dir: Path) -> Alliance:
    """Deploy the task and set up N funded, staked participants with their data and roles."""
    torch.manual_seed(int(cfg.seed))
    drawn = alliance_data(cfg)
    dataset, holdout, data = drawn.dataset, drawn.holdout, drawn.participants
    n = int(cfg.participants)

    def make_model() -> torch.nn.Module:
        return instantiate(cfg.model)

    model = make_model()
    initial = flatten_params(model)
    stores = LocalStores(cfg.store, run_dir)
    initial_hash = stores.initial.put(initial, {"kind": "initial", "round": "0"})

    sender = TxSender(
        chain,
        gas_margin=float(cfg.chain.gas_margin),
        fee_ttl_s=float(cfg.chain.get("fee_ttl_s", 1.0)),
    )
    creator = participant_signer(cfg, -1)  # the task creator; index -1 by convention
    chain.fund(creator.address, to_wei(cfg.chain.fund_wei, decimals=0))
    params = task_params(
        cfg,
        spec_hash=spec_hash_of(cfg),
        initial_model_hash=initial_hash,
        smallest_test_split=drawn.smallest_test_split,
    )
    tokens = cfg.tokens
    deployment, task = deploy_alliance(
        sender,
        creator,
        params,
        reward_pool=to_wei(tokens.reward_pool),
        token_supply=to_wei(tokens.supply),
    )
    log.info(
        "task %s deployed (token %s, factory %s)",
        task.address,
        deployment.token,
        deployment.factory,
    )
    try:
        store = stores.connect(task, creator, initial_hash)
    except BaseException:
        stores.close()
        raise

    attack = OmegaConf.to_container(cfg.attack, resolve=True)
    plan = plan_attacks(attack, n=n, seed=int(cfg.seed))  # type: ignore[arg-type]
    signers = [participant_signer(cfg, i) for i in range(n)]
    colluders = [signers[i].address for i in sorted(plan.colluders)]
    spec = TrainingSpec(**OmegaConf.to_container(cfg.training, resolve=True))  # type: ignore[arg-type]
    screening = ScreeningRules.from_config(cfg.get("voting"))
    scoring = Scoring.from_config(cfg.get("scoring"))
    members = []
    for i, signer in enumerate(signers):
        chain.fund(signer.address, to_wei(cfg.chain.fund_wei, decimals=0))
        task.token.transfer(creator, signer.address, to_wei(tokens.per_participant))
        rng = random.Random(f"{cfg.seed}/secrets/{i}")
        participant = ChainParticipant(signer, task, new_secret=partial(rng.randbytes, 32))
        ctx = RoleContext(
            participant,
            data[i],
            stores.member(i, signer),
            make_model,
            num_params(model),
            layout=getattr(model, "tensor_layout", None),
        )
        seed = int(cfg.seed) * 1000 + i
        p_behaviour = plan.proposer_behaviour(i, num_classes=dataset.num_classes, seed=seed)
        v_behaviour = plan.voter_behaviour(i, colluders=colluders)
        members.append(
            Member(
                participant=participant,
                proposer=Proposer(ctx, spec, p_behaviour, seed=seed),
                voter=Voter(ctx, v_behaviour, seed=seed, screening=screening, scoring=scoring),
                proposer_behaviour=plan.assignments[i].proposer,
                voter_behaviour=plan.assignments[i].voter,
            )
        )
    driver = RoundDriver(chain, task, [m.participant for m in members], creator)
    driver.join_all(to_wei(tokens.stake))
    alliance = Alliance(
        chain=chain,
        task=task,
        members=members,
        driver=driver,
        store=store,
        initial=(initial, initial_hash),
        holdout=holdout,
        make_model=make_model,
        aggregation=cfg.aggregation,
        num_params=num_params(model),
        cartel=Cartel(
            {members[i].address: members[i].proposer.honest_vector for i in plan.colluders}
        ),
        stores=stores,
    )
    return alliance
