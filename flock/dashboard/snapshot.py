"""The dashboard's snapshot: everything the page shows, built from a task's public record
(events and views; no key, no member's private data). A pure function of its input."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from flock.dashboard.records import Record, TaskRecords
from flock.protocol.commitments import MAX_SCORE, UNAVAILABLE
from flock.protocol.consensus import integer_median, paired_ballots
from flock.protocol.role_draw import role_for
from flock.protocol.types import Outcome, Phase, Role, SlashReason

#: What a settled round's outcome means on the page (Outcome.VOID is split by its cause).
VERDICTS = {Outcome.PENDING: "open", Outcome.SETTLED: "settled", Outcome.EMPTY: "empty"}
#: The slashes a proposer takes for its proposal: a settled proposal neither accepted nor
#: slashed for one of these was declined (the three-way judge: no reward, no slash).
PROPOSAL_SLASHES = frozenset(
    r.name.lower() for r in (SlashReason.REJECTED_PROPOSAL, SlashReason.UNAVAILABLE_PROPOSAL)
)


def decode_scores(hex_scores: str) -> list[int]:
    """The 2-byte big-endian scores of a `VoteRevealed` event (0x-hex)."""
    raw = bytes.fromhex(hex_scores.removeprefix("0x"))
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw) - 1, 2)]


@lru_cache(maxsize=65_536)
def _role(index: int, size: int, seed: str, proposers: int, voters: int) -> Role:
    return role_for(
        index, size, bytes.fromhex(seed[2:]), proposers_per_round=proposers, max_voters=voters
    )


def _wei(value: int) -> str:
    return str(int(value))


def _by_round(events: Iterable[Record], name: str, key: str = "round") -> dict[int, list[Record]]:
    out: dict[int, list[Record]] = defaultdict(list)
    for e in events:
        if e["event"] == name:
            out[int(e["args"][key])].append(e)
    return out


def member_label(behaviours: dict[str, str] | None) -> str:
    """ "attacker" when the run gave a member any behaviour but honest, "honest" when it gave
    it only honest ones, "unknown" when the run says nothing of it."""
    if not behaviours:
        return "unknown"
    return "honest" if all(v == "honest" for v in behaviours.values()) else "attacker"


def _members(rec: TaskRecords, views: Record) -> list[dict[str, Any]]:
    accounts = views.get("accounts", {})
    out = []
    for i, address in enumerate(views.get("roster", [])):
        stake, claimable = accounts.get(address, [0, 0])
        behaviours = rec.members.get(address)
        out.append(
            {
                "address": address,
                "index": i,
                "label": member_label(behaviours),
                "behaviours": dict(behaviours or {}),
                "stake": _wei(stake),
                "claimable": _wei(claimable),
            }
        )
    return out


def _task(rec: TaskRecords, views: Record) -> dict[str, Any]:
    header = rec.header or {}
    params = header.get("params", {})
    phase = views["phase"]
    closes = int(phase["closes_at"])
    return {
        "address": header.get("task"),
        "token": header.get("token"),
        "chain_id": header.get("chain_id"),
        "creator": header.get("creator"),
        "token_symbol": header.get("token_symbol", "token"),
        "token_decimals": int(header.get("token_decimals", 18)),
        "reward_pool": _wei(views["reward_pool"]),
        "total_staked": _wei(views["total_staked"]),
        "total_claimable": _wei(views["total_claimable"]),
        "members": int(views["status"]["participants"]),
        "round": int(views["status"]["round"]),
        "rounds": int(params.get("rounds", 0)),
        "ended": bool(views["status"]["ended"]),
        "phase": Phase(int(phase["phase"])).name.lower(),
        "closes_at": closes,
        "seconds_left": max(0, closes - int(views["time"])) if closes else None,
        "global_model": views["global_model"],
        "pending_round": int(views.get("pending_round", 0)),
        "params": {
            **{k: params.get(k) for k in ("proposersPerRound", "maxVoters", "minVoters")},
            "minStake": _wei(params.get("minStake", 0)),
            "slashBps": params.get("slashBps"),
        },
    }


def _proposals(
    proposed: list[Record], ballots: list[list[int]], mask: int | None, slashed: set[str]
) -> list:
    """The round's proposals with what the voters revealed of them and the verdict: accepted,
    declined (settled, neither accepted nor slashed for it), or neither (rejected); `slashed`:
    the proposers slashed for their proposal."""
    paired = paired_ballots(ballots) if ballots else []
    out = []
    for e in sorted(proposed, key=lambda e: int(e["args"]["index"])):
        a = e["args"]
        i = int(a["index"])
        column = [b[i + 1] for b in ballots if len(b) > i + 1]
        scores = [0 if s == UNAVAILABLE else s for s in column]
        out.append(
            {
                "index": i,
                "proposer": a["proposer"],
                "hash": a["updateHash"],
                "base_hash": a["baseHash"],
                "samples": int(a["numSamples"]),
                "fetched": sum(s != UNAVAILABLE for s in column),
                "unavailable": sum(s == UNAVAILABLE for s in column),
                "refused": sum(s == 0 for s in column),
                "median_score": integer_median(scores) if scores else None,
                "median_diff": (
                    integer_median([p[i] for p in paired]) - MAX_SCORE if paired else None
                ),
                "accepted": None if mask is None else bool(mask >> i & 1),
                "declined": (
                    None if mask is None else not mask >> i & 1 and a["proposer"] not in slashed
                ),
            }
        )
    return out


def _first(grouped: dict[str, dict[int, list[Record]]], name: str, r: int) -> Record | None:
    found = grouped[name].get(r)
    return found[0] if found else None


def _round(
    r: int, rec: TaskRecords, views: Record, grouped: dict[str, dict[int, list[Record]]]
) -> dict[str, Any]:
    params = (rec.header or {}).get("params", {})
    info = views.get("rounds", {}).get(str(r), {})
    opened = _first(grouped, "RoundOpened", r)
    settled = _first(grouped, "RoundSettled", r)
    seed = opened["args"]["seed"] if opened else None
    closing = bool(info.get("closing", False))
    size = int(info.get("rosterSize", 0))
    roster = views.get("roster", [])[:size]
    drawn: dict[str, str] = {}
    if seed is not None:
        proposers = 0 if closing else int(params.get("proposersPerRound", 0))
        most = int(params.get("maxVoters", 0))
        drawn = {
            a: _role(i, size, seed, proposers, most).name.lower() for i, a in enumerate(roster)
        }
    reveals = {e["args"]["voter"]: e["args"] for e in grouped["VoteRevealed"].get(r, [])}
    committed = [e["args"]["voter"] for e in grouped["VoteCommitted"].get(r, [])]
    voter_order = [a for a, role in drawn.items() if role == "voter"]
    voter_order += [a for a in committed if a not in voter_order]
    ballots = [decode_scores(reveals[a]["scores"]) for a in voter_order if a in reveals]
    mask = int(settled["args"]["acceptedMask"]) if settled else None
    slashes = [
        {
            "participant": e["args"]["participant"],
            "reason": SlashReason(int(e["args"]["reason"])).name.lower(),
            "amount": _wei(e["args"]["amount"]),
        }
        for e in grouped["Slashed"].get(r, [])
    ]
    slashed_by: dict[str, list[str]] = defaultdict(list)
    for s in slashes:
        slashed_by[s["participant"]].append(s["reason"])
    voters = [
        {
            "address": a,
            "committed": a in committed,
            "revealed": a in reveals,
            "scores": decode_scores(reveals[a]["scores"]) if a in reveals else None,
            "attestation": reveals[a]["attestation"] if a in reveals else None,
            "slashed": slashed_by.get(a, []),
        }
        for a in voter_order
    ]
    adopted = _first(grouped, "AggregateAdopted.attestedIn", r)
    voided = _first(grouped, "AggregateVoided.attestedIn", r)
    own = _first(grouped, "AggregateAdopted", r)
    outcome = Outcome(int(settled["args"]["outcome"])) if settled else Outcome.PENDING
    if outcome == Outcome.VOID:
        if voided is not None:
            verdict = "void: no majority attested its base"
        elif len(reveals) < int(params.get("minVoters", 0)) or not reveals:
            verdict = "void: too few voters revealed"
        else:
            verdict = "wash"
    else:
        verdict = VERDICTS[outcome]
    credited = [
        {"participant": p, "amount": _wei(x)}
        for e in grouped["RewardsCredited"].get(r, [])
        for p, x in zip(e["args"]["participants"], e["args"]["amounts"], strict=True)
        if int(x)
    ]
    return {
        "round": r,
        "closing": closing,
        "seed": seed,
        "start": int(opened["args"]["start"]) if opened else None,
        "base_round": int(opened["args"]["baseRound"]) if opened else None,
        "roster_size": size,
        "drawn": drawn,
        "proposals": _proposals(
            grouped["Proposed"].get(r, []),
            ballots,
            mask,
            {s["participant"] for s in slashes if s["reason"] in PROPOSAL_SLASHES},
        ),
        "voters": voters,
        "outcome": outcome.name.lower(),
        "verdict": verdict,
        "settled": settled is not None,
        "slashes": slashes,
        "credited": credited,
        "credited_total": _wei(settled["args"]["credited"]) if settled else "0",
        "slashed_total": _wei(settled["args"]["slashed"]) if settled else "0",
        "attested": (
            {
                "round": int(adopted["args"]["round"]),
                "hash": adopted["args"]["modelHash"],
                "votes": int(adopted["args"]["votes"]),
                "reveals": int(adopted["args"]["reveals"]),
            }
            if adopted
            else None
        ),
        "voided_round": int(voided["args"]["round"]) if voided else None,
        "aggregate_hash": own["args"]["modelHash"] if own else None,
        "aggregate_adopted_in": int(own["args"]["attestedIn"]) if own else None,
    }


def _ledger(events: list[Record], roster: list[str]) -> dict[str, Any]:
    """Stake, credited, claimed and slashed per member at each checkpoint: "0" when round 1
    opened, r after round r settled, "now" after every event so far."""
    state = {a: {"stake": 0, "credited": 0, "claimed": 0, "slashed": 0} for a in roster}
    checkpoints: list[str] = []
    series: dict[str, dict[str, list[str]]] = {
        a: {k: [] for k in ("stake", "credited", "claimed", "slashed")} for a in roster
    }

    def take(label: str) -> None:
        checkpoints.append(label)
        for a in roster:
            for k, v in state[a].items():
                series[a][k].append(str(v))

    def account(address: str) -> dict[str, int]:
        return state.setdefault(address, {"stake": 0, "credited": 0, "claimed": 0, "slashed": 0})

    i = 0
    while i < len(events):
        tx = events[i]["tx"]
        settled_round = None
        while i < len(events) and events[i]["tx"] == tx:
            e = events[i]
            name, a = e["event"], e["args"]
            if name == "RoundOpened" and int(a["round"]) == 1:
                take("0")
            elif name == "Joined":
                account(a["participant"])["stake"] = int(a["amount"])
            elif name == "StakeAdded":
                account(a["participant"])["stake"] = int(a["stake"])
            elif name in ("Left", "Withdrawn"):
                account(a["participant"])["stake"] = 0
            elif name == "Slashed":
                acct = account(a["participant"])
                acct["stake"] -= int(a["amount"])
                acct["slashed"] += int(a["amount"])
            elif name == "RewardsCredited":
                for p, x in zip(a["participants"], a["amounts"], strict=True):
                    account(p)["credited"] += int(x)
            elif name == "Claimed":
                account(a["participant"])["claimed"] += int(a["amount"])
            elif name == "RoundSettled":
                settled_round = int(a["round"])
            i += 1
        if settled_round is not None:
            take(str(settled_round))
    take("now")
    return {"checkpoints": checkpoints, "members": series}


def _gas(rec: TaskRecords) -> dict[str, Any]:
    """Gas of the task's transactions by the round open at each one's first event ("0":
    enrolment, "end": after the task ended)."""
    buckets: dict[str, int] = defaultdict(int)
    current, ended, seen = "0", False, set()
    for e in rec.events:
        tx = e["tx"]
        if tx not in seen:
            seen.add(tx)
            gas = rec.txs.get(tx, {}).get("gas")
            if gas is not None:
                buckets["end" if ended else current] += int(gas)
        if e["event"] == "RoundOpened":
            current = str(int(e["args"]["round"]))
        elif e["event"] == "TaskEnded":
            ended = True
    return dict(buckets)


def build_snapshot(rec: TaskRecords) -> dict[str, Any]:
    """Everything the page shows, from `rec` (JSON-able; amounts as decimal strings in the
    token's smallest unit).

    Raises
    ------
    ValueError
        When `rec` holds no views yet (nothing read from the task).
    """
    views = rec.views
    if views is None or rec.header is None:
        raise ValueError(f"nothing read yet from {rec.source}")
    grouped = {
        name: _by_round(rec.events, name)
        for name in (
            "RoundOpened", "RoundSettled", "Proposed", "VoteCommitted", "VoteRevealed",
            "Slashed", "RewardsCredited", "AggregateAdopted",
        )
    }  # fmt: skip
    grouped["AggregateAdopted.attestedIn"] = _by_round(rec.events, "AggregateAdopted", "attestedIn")
    grouped["AggregateVoided.attestedIn"] = _by_round(rec.events, "AggregateVoided", "attestedIn")
    current = int(views["status"]["round"])
    return {
        "ok": True,
        "error": None,
        "source": rec.source,
        "block": int(views["block"]),
        "chain_time": int(views["time"]),
        "task": _task(rec, views),
        "members": _members(rec, views),
        "rounds": [_round(r, rec, views, grouped) for r in range(1, current + 1)],
        "ledger": _ledger(rec.events, list(views.get("roster", []))),
        "quality": [
            {"round": r, **{k: v for k, v in q.items() if isinstance(v, int | float)}}
            for r, q in sorted(rec.reports.items())
        ],
        "gas": _gas(rec),
    }
