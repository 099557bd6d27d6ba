"""The page in a real browser: a real alliance on anvil with an attacker, `flock dashboard`
watching it from its alliance file, headless Chromium reading what the page shows while the
alliance runs, checked against the chain."""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from omegaconf import OmegaConf

from flock.attacks import plan_attacks
from flock.contracts import RpcChain, TaskClient, TxSender
from flock.contracts.anvil import AnvilProcess, anvil_available, free_port
from flock.dashboard import ChainFeed, Dashboard, DashboardServer, DashboardSettings, alliance_feed
from flock.flower.launch import launch_alliance, load_config
from flock.spec import participant_signer

#: Few members, one proposer a round, one member attesting a poisoned model (it is slashed
#: whenever it votes; the closing round seats every member as a voter).
PARTICIPANTS = 4
OVERRIDES = [
    f"participants={PARTICIPANTS}",
    "task.rounds=2",
    "task.proposers_per_round=1",
    "task.min_voters=2",
    "training.epochs=1",
    "flower.route=grpc",
    "flower.message_timeout_s=90",
    "attack=aggregate_poster",
    "attack.voter.count=1",
]
#: Seconds the page may take to show a settled round (the alliance plays it meanwhile).
PAGE_WAIT_S = 120.0

#: Everything the test reads off the page in one go (one script: one consistent render).
READ_PAGE = """
const q = (s, root) => Array.from((root || document).querySelectorAll(s));
const round = (r) => document.querySelector(`section.round[data-round="${r}"]`);
const proposers = (r, css) => q(`tr.proposal${css}`, round(r)).map((tr) => tr.dataset.proposer);
return {
  block: Number(document.body.dataset.block),
  round: Number(document.getElementById("round").dataset.round),
  roundText: document.getElementById("round").textContent,
  accepted: {1: proposers(1, '[data-accepted="true"]'), 2: proposers(2, '[data-accepted="true"]')},
  proposers: {1: proposers(1, ""), 2: proposers(2, "")},
  members: Object.fromEntries(q("tr.member").map((tr) => [tr.dataset.address, {
    label: tr.dataset.label,
    stake: Object.fromEntries(q("td[data-checkpoint]", tr)
      .map((td) => [td.dataset.checkpoint, td.dataset.wei])),
  }])),
  html: document.documentElement.outerHTML,
};
"""


def _browser_or_skip() -> Any:
    """A headless Chromium driven by selenium, or a skip that says what is missing."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed: scripts/setup.sh installs "
            "them with apt-get, which was not available on this machine"
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,2000"):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


def _wait(browser: Any, css: str, timeout: float) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout, poll_frequency=0.1).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, css)
    )


class Watcher(threading.Thread):
    """Starts the dashboard once the alliance file exists, opens the page, waits until it
    shows round 2 settled (and the attacker slashed, or the closing round settled), and
    keeps what the page showed. The launcher runs in the main thread (Flower's server
    installs signal handlers)."""

    def __init__(self, run_dir: Path, attacker: str, browser: Any) -> None:
        super().__init__(name="dashboard-watcher", daemon=True)
        self.run_dir, self.attacker, self.browser = run_dir, attacker, browser
        self.server: DashboardServer | None = None
        self.pages: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            alliance_file = self.run_dir / "alliance.json"
            deadline = time.monotonic() + PAGE_WAIT_S
            while not alliance_file.exists():
                assert time.monotonic() < deadline, "the launcher wrote no alliance file"
                time.sleep(0.1)
            feed = alliance_feed(alliance_file, request_timeout_s=5.0, retries=1)
            settings = DashboardSettings(port=0, poll_s=0.25, stream_check_s=0.05)
            self.server = DashboardServer(Dashboard(feed, poll_s=settings.poll_s), settings)
            self.server.start()
            self.browser.get(self.server.url)
            _wait(self.browser, 'section.round[data-round="2"][data-settled="true"]', PAGE_WAIT_S)
            page = self.browser.execute_script(READ_PAGE)
            self.pages.append(page)
            stakes = page["members"][self.attacker]["stake"]
            if stakes["2"] == stakes["0"]:  # it proposed in both rounds: it votes in round 3
                _wait(self.browser, 'section.round[data-round="3"][data-settled="true"]', 60)
                self.pages.append(self.browser.execute_script(READ_PAGE))
        except BaseException as exc:  # re-raised in the test's thread
            self.error = exc


def _error_banner(browser: Any, feed: ChainFeed) -> str:
    with DashboardServer(Dashboard(feed), DashboardSettings(port=0)) as server:
        browser.get(server.url)
        _wait(browser, "#error:not([hidden])", 20)
        return str(browser.execute_script("return document.getElementById('error').textContent"))


@pytest.mark.anvil
# it starts member processes: on the xdist worker that runs the other process-starting tests
# (those scan /proc for leftovers), one after another
@pytest.mark.xdist_group("processes")
@pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)")
@pytest.mark.skipif(sys.platform != "linux", reason="the launcher uses process groups")
def test_the_page_shows_the_running_alliance_as_the_chain_does(tmp_path: Path) -> None:
    # Prepare: the attacker's address, a browser, the watcher
    cfg = load_config(OVERRIDES)
    attack = OmegaConf.to_container(cfg.attack)
    plan = plan_attacks(attack, n=PARTICIPANTS, seed=int(cfg.seed))  # type: ignore[arg-type]
    (bad,) = [i for i, a in enumerate(plan.assignments) if a.voter == "aggregate_poster"]
    attacker = participant_signer(cfg, bad).address
    browser = _browser_or_skip()
    run_dir = tmp_path / "run"
    watcher = Watcher(run_dir, attacker, browser)
    try:
        with AnvilProcess(chain_id=int(cfg.flower.chain_id)) as node:
            # Execute: the alliance runs to its end while the page watches it
            watcher.start()
            launched = launch_alliance(cfg, run_dir, rpc_url=node.url)
            watcher.join(PAGE_WAIT_S)
            if watcher.error is not None:
                raise watcher.error
            assert launched["result"]["error"] is None and watcher.pages

            # Assert: what the page showed is what the chain held at the page's block
            chain = RpcChain(node.url, dev=True)
            task = TaskClient(TxSender(chain), launched["result"]["task"])
            page = watcher.pages[0]
            status = task.contract.functions.status().call(block_identifier=page["block"])
            assert page["round"] == status[0] >= 3  # round 2 settled: the closing round opened
            for r in (1, 2):
                mask = task.accepted_mask(r)
                accepted = [p.proposer for p in task.proposals(r) if mask >> p.index & 1]
                assert page["accepted"][str(r)] == accepted, r
                proposers = [p.proposer for p in task.proposals(r)]
                assert page["proposers"][str(r)] == proposers and proposers, r
            labels = {a: m["label"] for a, m in page["members"].items()}
            assert labels == {
                a: "attacker" if a == attacker else "honest" for a in launched["participants"]
            }
            settled = {
                int(e["args"]["round"]): int(e["blockNumber"])
                for e in task.contract.events.RoundSettled().get_logs(from_block=0)
            }
            last = watcher.pages[-1]
            checkpoint = "2" if last is page else "3"
            for address, shown in last["members"].items():
                at_block = settled[int(checkpoint)]
                stake, _ = task.contract.functions.accountOf(address).call(
                    block_identifier=at_block
                )
                assert int(shown["stake"][checkpoint]) == stake, address
            stakes = last["members"][attacker]["stake"]
            assert int(stakes[checkpoint]) < int(stakes["0"])  # slashed for its attestations

            # Assert: no key in the page or in the data it reads; errors named on the page
            keys = [p.read_text().strip().removeprefix("0x").lower() for p in run_dir.rglob("*key")]
            assert len(keys) == PARTICIPANTS + 1  # the members' and the coordinator's
            assert watcher.server is not None
            api = httpx.get(watcher.server.url + "api/snapshot").text.lower()
            for text in [*(p["html"].lower() for p in watcher.pages), api]:
                assert not any(k in text for k in keys)
            no_code = _error_banner(browser, ChainFeed("0x" + "ab" * 20, rpc_url=node.url))
            assert "no contract code at" in no_code
        url = f"http://127.0.0.1:{free_port()}"
        down = _error_banner(browser, ChainFeed("0x" + "ab" * 20, rpc_url=url, retries=0))
        assert f"cannot reach the JSON-RPC endpoint {url}" in down
        assert json.loads(httpx.get(watcher.server.url + "api/snapshot").text)["ok"] is False
    finally:
        if watcher.server is not None:
            watcher.server.stop()
        browser.quit()
