"""The dashboard's server: loopback by default, snapshots streamed as server-sent events, a
clear message for a wrong address or an unreachable node, no key in any response."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient
from played_tasks import PlayedTask, play_task

from flock.cli.dashboard import _parser, make_feed
from flock.contracts import EmbeddedChain
from flock.contracts.anvil import free_port
from flock.dashboard import (
    ChainFeed,
    Dashboard,
    DashboardServer,
    DashboardSettings,
    FeedError,
    create_app,
    dashboard_command,
)


@pytest.fixture(scope="module")
def played() -> PlayedTask:
    """One task of 6 members played to its end (2 rounds and the closing round)."""
    return play_task()


def _client(feed: ChainFeed) -> TestClient:
    """A test client of the app over one refresh of `feed` (no polling thread)."""
    dashboard = Dashboard(feed)
    dashboard.refresh()
    return TestClient(create_app(dashboard))


def _sse_events(lines: Iterator[str], count: int, timeout: float) -> list[dict]:
    """The data of the next `count` `snapshot` events of a stream."""
    found, event, deadline = [], None, time.monotonic() + timeout
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "snapshot":
            found.append(json.loads(line.removeprefix("data: ")))
            if len(found) == count:
                return found
        assert time.monotonic() < deadline, "the stream sent too few snapshots"
    return found


def test_the_server_listens_on_loopback_unless_told_otherwise(played: PlayedTask) -> None:
    settings = DashboardSettings(port=0)
    assert DashboardSettings().host == "127.0.0.1" and settings.loopback
    assert not DashboardSettings(host="0.0.0.0").loopback
    assert _parser().parse_args(["--run-dir", "x"]).host == "127.0.0.1"
    feed = ChainFeed(played.task.address, chain=played.chain)
    with DashboardServer(Dashboard(feed), settings) as server:
        assert server._socket is not None
        assert server._socket.getsockname()[0] == "127.0.0.1"
        assert httpx.get(server.url + "healthz").json()["ok"] is True


def test_the_stream_sends_a_snapshot_at_once_and_another_when_the_chain_moves() -> None:
    # Prepare: round 2 of a task is open
    played = play_task(rounds=2, last_round=1)
    feed = ChainFeed(played.task.address, chain=played.chain)
    settings = DashboardSettings(port=0, poll_s=0.1, stream_check_s=0.05)
    with DashboardServer(Dashboard(feed, poll_s=settings.poll_s), settings) as server:
        with httpx.stream("GET", server.url + "api/stream", timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            (first,) = _sse_events(lines, 1, timeout=10)
            assert first["ok"] and first["task"]["round"] == 2
            assert not first["rounds"][-1]["settled"]

            # Execute: a new block on chain: the page is told without a reload
            played.chain.mine()
            deadline = time.monotonic() + 10
            second = first
            while not (second["ok"] and second["block"] > first["block"]):
                assert time.monotonic() < deadline, "no snapshot of the new block"
                (second,) = _sse_events(lines, 1, timeout=10)

    # Assert
    assert second["block"] > first["block"]
    assert second["chain_time"] > first["chain_time"]


def test_an_address_without_code_gives_a_clear_message_on_the_page_and_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Prepare
    address = "0x" + keccak(b"nobody deployed here")[:20].hex()
    feed = ChainFeed(address, chain=EmbeddedChain())

    # Execute
    with caplog.at_level(logging.ERROR, logger="flock.dashboard"):
        client = _client(feed)
        snap = client.get("/api/snapshot").json()

    # Assert
    assert snap["ok"] is False and "no contract code at" in snap["error"]
    assert "task address" in snap["error"]
    assert any("no contract code at" in r.getMessage() for r in caplog.records)
    assert client.get("/healthz").json()["ok"] is False
    page = client.get("/")  # the page itself renders the message from the snapshot
    assert page.status_code == 200 and 'id="error"' in page.text


def test_an_unreachable_rpc_gives_a_clear_message_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Prepare: a port nobody listens on
    url = f"http://127.0.0.1:{free_port()}"
    feed = ChainFeed("0x" + "11" * 20, rpc_url=url, request_timeout_s=2, retries=0)
    dashboard = Dashboard(feed)

    # Execute
    with caplog.at_level(logging.ERROR, logger="flock.dashboard"):
        first = dashboard.refresh()
        again = dashboard.refresh()

    # Assert
    assert first["ok"] is False and again["ok"] is False
    assert f"cannot reach the JSON-RPC endpoint {url}" in first["error"]
    logged = [r for r in caplog.records if "cannot reach" in r.getMessage()]
    assert len(logged) == 1  # logged when it starts, not on every poll


def test_an_alliance_file_that_is_not_one_is_named() -> None:
    args = _parser().parse_args(["--alliance-file", "/no/such/alliance.json"])
    with pytest.raises(FeedError, match="not a readable alliance file"):
        make_feed(args, DashboardSettings())
    with pytest.raises(FeedError, match="needs --task"):
        make_feed(_parser().parse_args(["--rpc-url", "http://x"]), DashboardSettings())


def test_no_response_holds_a_key_and_the_app_only_reads(played: PlayedTask) -> None:
    # Prepare: every key the task's members and creator sign with
    alliance = played.alliance
    signers = [p.signer for p in alliance.participants] + [alliance.creator]
    keys = {s.account.key.hex().removeprefix("0x").lower() for s in signers}
    feed = ChainFeed(played.task.address, chain=played.chain)
    paths = ("/", "/static/app.js", "/static/charts.js", "/static/style.css", "/api/snapshot")
    with DashboardServer(Dashboard(feed), DashboardSettings(port=0)) as server:
        base = server.url.rstrip("/")

        # Execute: every page, script, style and API answer
        bodies = [httpx.get(base + path).text for path in (*paths, "/healthz")]
        with httpx.stream("GET", base + "/api/stream", timeout=30) as response:
            (streamed,) = _sse_events(response.iter_lines(), 1, timeout=10)
        bodies.append(json.dumps(streamed))
        headers = httpx.get(base + "/").headers
        post = httpx.post(base + "/api/snapshot").status_code
        traversal = httpx.get(base + "/static/%2e%2e/app.py").status_code

    # Assert
    for body in bodies:
        assert not any(k in body.lower() for k in keys)
    snap = json.loads(bodies[4])
    assert snap["ok"] and {m["address"] for m in snap["members"]} == {
        p.address for p in alliance.participants
    }
    assert "salt" not in bodies[4]  # vote salts are public once revealed, and not needed
    assert "default-src 'none'" in headers["content-security-policy"]
    assert post == 405 and traversal == 404


def test_the_commands_print_how_to_watch_them() -> None:
    command, url = dashboard_command(run_dir="outputs/2026-12-01/10-00-00")
    assert command == "flock dashboard --run-dir outputs/2026-12-01/10-00-00"
    assert url == "http://127.0.0.1:9400/"
    command, _ = dashboard_command(alliance_file="run dir/alliance.json")
    assert command == "flock dashboard --alliance-file 'run dir/alliance.json'"


def test_a_taken_port_is_named(played: PlayedTask) -> None:
    from flock.dashboard import DashboardServerError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        feed = ChainFeed(played.task.address, chain=played.chain)
        with pytest.raises(DashboardServerError, match=f"cannot listen on 127.0.0.1:{port}"):
            DashboardServer(Dashboard(feed), DashboardSettings(port=port)).start()
