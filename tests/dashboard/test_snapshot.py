"""The dashboard's snapshot says what the chain says: built from a task played on the
in-process EVM, read live (ChainFeed) and from the exported event log (RunDirFeed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from played_tasks import STAKE, PlayedTask, play_task

from flock.contracts import Role, SlashReason
from flock.contracts.eventlog import EventLogExporter, TaskReader, dump_record
from flock.dashboard import ChainFeed, FeedError, RunDirFeed, build_snapshot
from flock.protocol.commitments import MAX_SCORE
from flock.protocol.consensus import integer_median, paired_ballots


@pytest.fixture(scope="module")
def played() -> PlayedTask:
    """One task of 6 members played to its end (2 rounds and the closing round)."""
    return play_task()


def _snapshot(played: PlayedTask) -> dict:
    return build_snapshot(ChainFeed(played.task.address, chain=played.chain).poll())


def test_every_round_shows_the_chains_proposals_votes_and_outcome(played: PlayedTask) -> None:
    # Execute
    snap = _snapshot(played)

    # Assert
    task = played.task
    assert snap["ok"] and snap["task"]["address"] == task.address
    assert snap["task"]["round"] == task.current_round() == 3  # 2 rounds and the closing one
    assert snap["task"]["ended"] and snap["task"]["phase"] == "task"
    assert snap["task"]["reward_pool"] == str(task.totals()["reward_pool"])
    assert [r["round"] for r in snap["rounds"]] == [1, 2, 3]
    for shown, played_round in zip(snap["rounds"], played.results, strict=True):
        r = played_round.round
        s = played_round.settlement
        assert shown["settled"] and shown["outcome"] == s.outcome.name.lower()
        assert shown["seed"] == "0x" + task.seed_of(r).hex()
        accepted = {p["proposer"] for p in shown["proposals"] if p["accepted"]}
        assert accepted == {p.proposer for p in played_round.proposals if s.accepted(p.index)}
        assert [p["hash"] for p in shown["proposals"]] == [
            "0x" + p.update_hash.hex() for p in played_round.proposals
        ]
        drawn = {a: Role[role.upper()] for a, role in shown["drawn"].items()}
        assert drawn == {a: role for a, role in played_round.roles.items() if role != Role.NONE}
        reveals = task.revealed_scores(r)
        assert {v["address"]: tuple(v["scores"]) for v in shown["voters"]} == reveals
        assert all(v["committed"] and v["revealed"] for v in shown["voters"])
        assert {(x["participant"], x["reason"], int(x["amount"])) for x in shown["slashes"]} == {
            (a, reason.name.lower(), amount) for a, reason, amount in s.slashes
        }
        ballots = [list(reveals[v["address"]]) for v in shown["voters"]]
        for p in shown["proposals"]:
            column = [b[p["index"]] for b in paired_ballots(ballots)]
            assert p["median_diff"] == integer_median(column) - MAX_SCORE
            assert p["fetched"] == len(ballots) and p["unavailable"] == 0


def test_the_attacker_is_rejected_slashed_and_its_stake_falls_in_the_ledger(
    played: PlayedTask,
) -> None:
    snap = _snapshot(played)
    ledger = snap["ledger"]
    assert ledger["checkpoints"] == ["0", "1", "2", "3", "now"]
    slashed = [
        (e["args"]["round"], e["args"]["amount"])
        for e in played.task.contract.events.Slashed().get_logs(from_block=0)
        if e["args"]["participant"] == played.attacker
    ]
    assert slashed  # it proposed garbage or attested a poisoned model in every round
    stakes = [int(x) for x in ledger["members"][played.attacker]["stake"]]
    expected = [STAKE - sum(a for r, a in slashed if r <= k) for k in range(4)]
    assert stakes[:4] == expected and stakes[3] < STAKE
    assert int(ledger["members"][played.attacker]["slashed"][-1]) == sum(a for _, a in slashed)
    for member in snap["members"]:  # the ledger's last column is the chain's account
        stake, claimable = played.task.account_of(member["address"])
        assert member["stake"] == str(stake) == ledger["members"][member["address"]]["stake"][-1]
        assert member["claimable"] == str(claimable)
    wrong = [s for r in snap["rounds"] for s in r["slashes"] if s["participant"] == played.attacker]
    assert {s["reason"] for s in wrong} <= {
        SlashReason.REJECTED_PROPOSAL.name.lower(),
        SlashReason.WRONG_ATTESTATION.name.lower(),
    }


def test_gas_per_round_adds_up_the_receipts_of_the_rounds_transactions(
    played: PlayedTask,
) -> None:
    snap = _snapshot(played)
    w3 = played.chain.w3
    logs = w3.eth.get_logs({"address": played.task.address, "fromBlock": 0, "toBlock": "latest"})
    txs = {e["transactionHash"] for e in logs}
    total = sum(w3.eth.get_transaction_receipt(h)["gasUsed"] for h in txs)
    assert sum(snap["gas"].values()) == total
    assert set(snap["gas"]) >= {"0", "1", "2", "3"}
    round_gas: dict[int, int] = {}  # what the driver's own receipts say, per round
    for g in played.alliance.driver.gas_log:
        if g.round:
            round_gas[g.round] = round_gas.get(g.round, 0) + g.gas
    assert {r: snap["gas"][str(r)] for r in round_gas} == round_gas


def test_a_proposal_most_voters_could_not_fetch_shows_as_unavailable() -> None:
    # Prepare: honest voters mark the attacker's blob unavailable (0xFFFF)
    played = play_task(rounds=1, withheld=True)

    # Execute
    rounds = _snapshot(played)["rounds"]

    # Assert
    withheld = [(r, p) for r in rounds for p in r["proposals"] if p["proposer"] == played.attacker]
    assert withheld  # it proposes in round 1
    for r, p in withheld:
        voters = [v for v in r["voters"] if v["revealed"]]
        honest = [v for v in voters if v["address"] != played.attacker]
        assert p["unavailable"] == len(honest) and p["fetched"] == len(voters) - len(honest)
        assert p["accepted"] is False
        reasons = {s["reason"] for s in r["slashes"] if s["participant"] == played.attacker}
        assert "unavailable_proposal" in reasons


def test_an_open_round_shows_its_phase_and_the_time_left() -> None:
    # Prepare: round 1 settled, round 2 open in its propose period
    played = play_task(rounds=2, last_round=1)

    # Execute
    snap = _snapshot(played)

    # Assert
    round_, phase, closes = played.task.phase()
    assert snap["task"]["round"] == round_ == 2
    assert snap["task"]["phase"] == phase.name.lower() == "propose"
    assert snap["task"]["seconds_left"] == closes - played.chain.now() > 0
    open_round = snap["rounds"][-1]
    assert not open_round["settled"] and open_round["outcome"] == "pending"
    assert open_round["proposals"] == [] and open_round["voters"]  # drawn, nobody voted yet
    assert not any(v["committed"] for v in open_round["voters"])


def test_the_exported_event_log_gives_the_same_snapshot_as_the_chain(
    played: PlayedTask, tmp_path: Path
) -> None:
    # Prepare: export the whole record at once, as `flock run` does after each round
    reader = TaskReader(played.chain, played.task.address)
    labels = {played.attacker: {"proposer": "garbage", "voter": "aggregate_poster"}}
    EventLogExporter(tmp_path / "events.jsonl", reader, members=labels).export(
        [{"round": 1, "accuracy": 0.5}]
    )

    # Execute
    from_log = build_snapshot(RunDirFeed(tmp_path).poll())
    live = _snapshot(played)

    # Assert
    for key in ("task", "rounds", "ledger", "gas", "block"):
        assert from_log[key] == live[key], key
    assert from_log["quality"] == [{"round": 1, "accuracy": 0.5}]
    labels_shown = {m["address"]: m["label"] for m in from_log["members"]}
    assert labels_shown[played.attacker] == "attacker"
    assert set(labels_shown.values()) == {"attacker", "unknown"}


def test_the_run_dir_feed_follows_a_growing_log_and_waits_for_half_written_lines(
    played: PlayedTask, tmp_path: Path
) -> None:
    feed = RunDirFeed(tmp_path)
    with pytest.raises(FeedError, match="no events.jsonl"):
        feed.poll()
    reader = TaskReader(played.chain, played.task.address)
    EventLogExporter(tmp_path / "events.jsonl", reader)
    with pytest.raises(FeedError, match="no views yet"):
        feed.poll()
    block = played.chain.block_number()
    lines = [*reader.events(0, block), reader.views(block)]
    text = "".join(dump_record(r) + "\n" for r in lines)
    with (tmp_path / "events.jsonl").open("a") as fh:
        fh.write(text[:-40])  # the last line is half written
    with pytest.raises(FeedError, match="no views yet"):
        feed.poll()  # every event read, the views line not yet
    assert len(feed.records.events) == len(lines) - 1
    with (tmp_path / "events.jsonl").open("a") as fh:
        fh.write(text[-40:])
    records = feed.poll()
    assert records.views is not None and records.views["block"] == block
    assert len(records.events) == len(lines) - 1  # nothing read twice


def _event(name: str, log_index: int, **args: object) -> dict:
    """A made-up round-1 event record."""
    return {"kind": "event", "event": name, "block": 1, "index": log_index, "tx": "0x1",
            "args": {"round": 1, **args}}  # fmt: skip


def _made_up_round(events: list[dict], *, outcome: int, min_voters: int) -> dict:
    """The snapshot of a made-up one-round task whose chain holds `events` and round 1
    settled with `outcome`."""
    from flock.dashboard import TaskRecords

    rec = TaskRecords(source="made up")
    rec.header = {"kind": "task", "task": "0x0", "params": {"minVoters": min_voters, "rounds": 1}}
    rec.events = [_event("RoundOpened", 0, seed="0x" + "00" * 32, start=1, baseRound=0), *events]
    rec.views = {
        "block": 1, "time": 1, "status": {"round": 1, "ended": True, "participants": 0},
        "phase": {"round": 1, "phase": 0, "closes_at": 0}, "reward_pool": 0,
        "total_staked": 0, "total_claimable": 0, "global_model": {"hash": "0x", "round": 0},
        "roster": [], "accounts": {}, "rounds": {"1": {"rosterSize": 0, "outcome": outcome}},
    }  # fmt: skip
    (shown,) = build_snapshot(rec)["rounds"]
    return shown


def _void_round(reveals: int, *, aggregate_voided: bool) -> dict:
    """The snapshot of a made-up round 1 that settled void with `reveals` revealed voters."""
    voters = [f"0x{i:040x}" for i in range(reveals)]
    events = [
        *[
            _event("VoteRevealed", 1 + i, voter=v, scores="0x1f401f40", attestation="0x")
            for i, v in enumerate(voters)
        ],  # fmt: skip
        *([_event("AggregateVoided", 9, attestedIn=1)] if aggregate_voided else []),
        _event("RoundSettled", 10, outcome=2, acceptedMask=0, credited=0, slashed=0),
    ]
    return _made_up_round(events, outcome=2, min_voters=2)


def test_a_void_round_says_why() -> None:
    assert _void_round(3, aggregate_voided=False)["verdict"] == "wash"
    assert _void_round(1, aggregate_voided=False)["verdict"] == "void: too few voters revealed"
    voided = _void_round(3, aggregate_voided=True)
    assert voided["verdict"] == "void: no majority attested its base"
    assert voided["outcome"] == "void"


def test_the_coordinators_result_file_gives_each_rounds_quality_under_its_metric(
    tmp_path: Path,
) -> None:
    import json

    from flock.dashboard.feeds import read_result_reports

    result = tmp_path / "result.json"
    rounds = [{"round": 1, "quality": 2.41}, {"round": 2, "quality": None}]
    result.write_text(json.dumps({"quality_metric": "eval_loss", "rounds": rounds}))
    assert read_result_reports(result) == {1: {"eval_loss": 2.41}}
    result.write_text(json.dumps({"quality_metric": "accuracy", "rounds": rounds[:1]}))
    assert read_result_reports(result) == {1: {"accuracy": 2.41}}
    assert read_result_reports(tmp_path / "absent.json") == {}


def _settled_round_of_two(slashed_second: bool) -> dict:
    """A made-up settled round of two proposals, the first accepted (mask 1); the second's
    proposer slashed for it when `slashed_second`."""
    proposers = [f"0x{i + 1:040x}" for i in range(2)]
    proposed = [
        _event("Proposed", 1 + i, index=i, proposer=p, updateHash="0x" + "11" * 32,
               baseHash="0x" + "22" * 32, numSamples=10)
        for i, p in enumerate(proposers)
    ]  # fmt: skip
    slash = _event("Slashed", 8, participant=proposers[1], reason=2, amount=10)
    events = [
        *proposed,
        *([slash] if slashed_second else []),
        _event("RoundSettled", 10, outcome=1, acceptedMask=1, credited=0, slashed=0),
    ]
    return _made_up_round(events, outcome=1, min_voters=1)


def test_a_settled_proposal_neither_accepted_nor_slashed_shows_as_declined() -> None:
    first, second = _settled_round_of_two(slashed_second=False)["proposals"]
    assert (first["accepted"], first["declined"]) == (True, False)
    assert (second["accepted"], second["declined"]) == (False, True)


def test_a_proposal_slashed_for_itself_is_rejected_not_declined() -> None:
    first, second = _settled_round_of_two(slashed_second=True)["proposals"]
    assert (first["accepted"], first["declined"]) == (True, False)
    assert (second["accepted"], second["declined"]) == (False, False)
