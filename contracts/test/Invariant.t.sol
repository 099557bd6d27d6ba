// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test, CommonBase, Vm} from "./utils/Test.sol";
import {FlockToken} from "../FlockToken.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {TaskFactory} from "../TaskFactory.sol";
import {IAllianceTask} from "../IAllianceTask.sol";
import {IRandomnessBeacon} from "../IRandomnessBeacon.sol";
import {ManualBeacon} from "./utils/ManualBeacon.sol";

/// @dev Drives one task through random sequences of every user action. Each action picks an
/// actor (and where needed the next actor that can legally act), warps into the window the
/// action needs when that window is still ahead, and records what it did in ghost variables:
/// per actor, tokens paid in, tokens paid out and rewards credited; per round, the proposals
/// and votes from which it builds the SettleInput. Votes attest the round's base model honestly
/// (the pending aggregate's honest hash, or the adopted model when nothing is pending) or, by
/// the fuzzer's choice, a poisoned hash (one of three per round, so poisoners can form a
/// majority), the zero hash, or the stale adopted model; the handler predicts every adoption
/// from its own record and keeps the hashes some round's strict majority attested.
contract Handler is CommonBase {
    uint256 public constant MIN_STAKE = 100e18;
    uint256 public constant NUM_ACTORS = 8;

    AllianceTask public immutable task;
    IERC20 public immutable token;
    address public immutable creator;
    address[] public actors;

    // ------------------------------------------------------------ ghost accounting
    mapping(address => uint256) public deposited; // tokens an actor sent to the task
    mapping(address => uint256) public received; // tokens the task sent to an actor
    mapping(address => uint256) public credited; // rewards credited to an actor
    uint256 public creatorReceived;
    uint256 public totalCredited;

    /// @dev A call that must succeed by the ghost record reverted (e.g. settle with valid input).
    bool public unexpectedRevert;
    bytes public unexpectedReason;
    string public unexpectedWhere;

    // ------------------------------------------------------------ ghost round record
    struct VoteRec {
        address voter;
        bytes scores;
        bytes32 attestation;
        bytes32 salt;
        bool revealed;
    }

    // ------------------------------------------------------------ ghost global model
    bytes32 public immutable initialModel;
    /// @dev Hashes a strict majority of some settled round's revealed voters attested.
    mapping(bytes32 => bool) public majorityAttested;
    /// @dev Reason-5 slashes of a voter who attested the adopted (or expected) hash.
    uint256 public honestSlashedForAttestation;
    /// @dev Reason-5 slashes the handler's prediction did not expect, or expected ones missing.
    uint256 public attestationSlashMismatch;
    uint256 public adoptions;
    uint256 public voids;

    uint256 public recordRound;
    address[] internal proposed;
    VoteRec[] internal votes;

    // ------------------------------------------------------------ coverage counters
    mapping(bytes32 => uint256) public calls;

    /// @dev The task's randomness beacon, when it has one (the handler publishes its values).
    ManualBeacon public beacon;

    constructor(AllianceTask task_, IERC20 token_, address creator_, address[] memory actors_) {
        task = task_;
        token = token_;
        creator = creator_;
        actors = actors_;
        initialModel = task_.config().initialModelHash;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    // ============================================================ helpers

    modifier tracked() {
        uint256 n = actors.length;
        uint256[] memory wallet = new uint256[](n);
        uint256[] memory claimable = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            wallet[i] = token.balanceOf(actors[i]);
            (, claimable[i]) = task.accountOf(actors[i]);
        }
        uint256 creatorWallet = token.balanceOf(creator);
        _;
        for (uint256 i = 0; i < n; ++i) {
            address a = actors[i];
            uint256 w = token.balanceOf(a);
            if (w < wallet[i]) deposited[a] += wallet[i] - w;
            else received[a] += w - wallet[i];
            (, uint256 c) = task.accountOf(a);
            // claimable only falls by a claim, which pays exactly that amount (checked there)
            if (c > claimable[i]) {
                credited[a] += c - claimable[i];
                totalCredited += c - claimable[i];
            }
        }
        creatorReceived += token.balanceOf(creator) - creatorWallet;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _secret(address p, uint256 round) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("inv-secret", p, round));
    }

    function _seedCommit(address p, uint256 round) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(_secret(p, round), p, round));
    }

    function _status() internal view returns (uint256 current, bool ended) {
        (current, ended,) = task.status();
    }

    function _stake(address p) internal view returns (uint256 s) {
        (s,) = task.accountOf(p);
    }

    function _claimable(address p) internal view returns (uint256 c) {
        (, c) = task.accountOf(p);
    }

    /// @dev Points the handler at the task's beacon (once, from the test's setUp).
    function useBeacon(ManualBeacon beacon_) external {
        if (address(beacon) == address(0)) beacon = beacon_;
    }

    /// @dev True for the beacon's `BeaconNotReady` before its fallback time (the round waits,
    /// as specified); anything else, including that error after the fallback time, is not.
    function _waitsForBeacon(bytes memory reason) internal returns (bool) {
        if (reason.length != 100 || bytes4(reason) != IAllianceTask.BeaconNotReady.selector) return false;
        uint256 fallbackAt;
        assembly {
            fallbackAt := mload(add(reason, 0x64))
        }
        if (block.timestamp >= fallbackAt) return false;
        ++calls["beaconWait"];
        return true;
    }

    function _flag(string memory where, bytes memory reason) internal {
        if (!unexpectedRevert) {
            unexpectedRevert = true;
            unexpectedReason = reason;
            unexpectedWhere = where;
        }
    }

    /// @dev Round `round` can be acted in: open, not settled, seed readable.
    function _liveRound() internal returns (uint256 round, bool ok) {
        (uint256 current, bool ended) = _status();
        if (current == 0 || ended) return (current, false);
        IAllianceTask.RoundInfo memory info = task.roundInfo(current);
        if (info.outcome != IAllianceTask.Outcome.Pending) return (current, false);
        if (recordRound != current) {
            recordRound = current;
            delete proposed;
            delete votes;
        }
        return (current, true);
    }

    // ============================================================ membership

    function join(uint256 actorSeed, uint256 amount, bool withCommit) external tracked {
        address a = _actor(actorSeed);
        if (task.isParticipant(a)) return;
        amount = bound(amount, MIN_STAKE, 3 * MIN_STAKE);
        (uint256 current, bool ended) = _status();
        if (ended) return;
        uint256 round = current + 1;
        bytes32 commit;
        if (withCommit && round <= task.config().rounds) {
            (uint256 opens,) = task.seedRevealWindow(round);
            if (block.timestamp < opens) commit = _seedCommit(a, round);
        }
        vm.prank(a);
        try task.join(amount, uint32(round), commit) {
            ++calls["join"];
        } catch (bytes memory reason) {
            // full task is the only legitimate refusal here
            if (bytes4(reason) != IAllianceTask.TaskFull.selector) _flag("join", reason);
        }
    }

    function stakeMore(uint256 actorSeed, uint256 amount) external tracked {
        address a = _actor(actorSeed);
        (, bool ended) = _status();
        if (!task.isParticipant(a) || ended) return;
        amount = bound(amount, 1, MIN_STAKE);
        vm.prank(a);
        try task.stakeMore(amount) {
            ++calls["stakeMore"];
        } catch (bytes memory reason) {
            _flag("stakeMore", reason);
        }
    }

    function leave(uint256 actorSeed) external tracked {
        address a = _actor(actorSeed);
        uint256 stake = _stake(a);
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        try task.leave() {
            ++calls["leave"];
            uint256 fee = (stake * task.config().slashBps) / 10_000;
            if (token.balanceOf(a) - before != stake - fee) _flag("leave refund", "");
        } catch {}
    }

    // ============================================================ randomness

    function commitSeed(uint256 actorSeed) external tracked {
        address a = _actor(actorSeed);
        (uint256 current,) = _status();
        uint256 round = current + 1;
        vm.prank(a);
        try task.commitSeed(uint32(round), _seedCommit(a, round)) {
            ++calls["commitSeed"];
        } catch {}
    }

    function revealSeed(uint256 actorSeed, bool withNext) external tracked {
        (uint256 current, bool ended) = _status();
        if (ended) return;
        uint256 round = current + 1;
        (uint256 opens, uint256 closes) = task.seedRevealWindow(round);
        if (opens == type(uint256).max || block.timestamp >= closes) return;
        for (uint256 k = 0; k < actors.length; ++k) {
            address a = _actor(actorSeed % actors.length + k);
            (uint256 r, bytes28 c) = task.seedCommitOf(a);
            if (c == bytes28(0) || r != round) continue;
            if (block.timestamp < opens) vm.warp(opens);
            bool canCommit = withNext && round < task.config().rounds && _stake(a) >= MIN_STAKE;
            bytes32 next = canCommit ? _seedCommit(a, round + 1) : bytes32(0);
            vm.prank(a);
            try task.revealSeed(uint32(round), _secret(a, round), next) {
                ++calls["revealSeed"];
            } catch (bytes memory reason) {
                _flag("revealSeed", reason);
            }
            return;
        }
    }

    function slashMissedSeedReveal(uint256 actorSeed) external tracked {
        try task.slashMissedSeedReveal(_actor(actorSeed)) {
            ++calls["slashMissedSeedReveal"];
        } catch {}
    }

    function start() external tracked {
        (uint256 current,) = _status();
        if (current != 0) return;
        uint256 opensAt = task.enrolEnd() + task.config().revealPeriod;
        if (block.timestamp < opensAt) vm.warp(opensAt);
        try task.start() {
            ++calls["start"];
            vm.roll(block.number + 1);
        } catch (bytes memory reason) {
            if (!_waitsForBeacon(reason)) _flag("start", reason);
        }
    }

    // ============================================================ proposals and votes

    /// @dev The honest base of the current round: the stand-in hash of the pending aggregate,
    /// or the adopted global model when nothing is pending.
    function honestBase() public view returns (bytes32) {
        uint256 p = task.pendingAggregateRound();
        return p == 0 ? task.globalModelHash() : keccak256(abi.encode("agg", p));
    }

    function _attestation(uint256 round, uint256 attSeed) internal view returns (bytes32) {
        uint256 mode = attSeed % 8;
        if (mode == 5) return keccak256(abi.encode("poison", round, (attSeed >> 8) % 3));
        if (mode == 6) return bytes32(0);
        if (mode == 7) return task.globalModelHash(); // stale: ignores the pending aggregate
        return honestBase();
    }

    function propose(uint256 actorSeed, uint256 samples) external tracked {
        (uint256 round, bool ok) = _liveRound();
        if (!ok) return;
        (uint256 proposeEnd,,) = task.deadlines(round);
        if (block.timestamp >= proposeEnd) return;
        for (uint256 k = 0; k < actors.length; ++k) {
            address a = _actor(actorSeed % actors.length + k);
            if (task.roleOf(round, a) != IAllianceTask.Role.Proposer) continue;
            if (_stake(a) < MIN_STAKE || task.seatOf(a, round).proposalIndex1 != 0) continue;
            uint64 n = uint64(bound(samples, 1, task.config().maxSamples));
            bytes32 base = honestBase(); // before the prank: a view call would consume it
            vm.prank(a);
            try task.propose(round, keccak256(abi.encode(a, round)), base, n, "ipfs://u") {
                ++calls["propose"];
                proposed.push(a);
            } catch (bytes memory reason) {
                _flag("propose", reason);
            }
            return;
        }
    }

    function _scores(uint256 round, uint256 seed, uint256 items) internal pure returns (bytes memory out) {
        bool wild = seed % 8 == 0;
        for (uint256 i = 0; i < items; ++i) {
            uint256 h = uint256(keccak256(abi.encode(seed, i)));
            uint256 s;
            if (wild) {
                s = h % 10_001;
            } else {
                uint256 truth = 5000 + (uint256(keccak256(abi.encode(round, i))) % 4000);
                s = truth + (h % 401) - 200;
            }
            out = bytes.concat(out, abi.encodePacked(uint16(s)));
        }
    }

    function commitVote(uint256 actorSeed, uint256 scoreSeed, uint256 attSeed) external tracked {
        (uint256 round, bool ok) = _liveRound();
        if (!ok) return;
        (uint256 proposeEnd, uint256 commitEnd,) = task.deadlines(round);
        if (block.timestamp >= commitEnd) return;
        for (uint256 k = 0; k < actors.length; ++k) {
            address a = _actor(actorSeed % actors.length + k);
            if (task.roleOf(round, a) != IAllianceTask.Role.Voter) continue;
            if (_stake(a) < MIN_STAKE || task.seatOf(a, round).voteCommitted) continue;
            if (block.timestamp < proposeEnd) vm.warp(proposeEnd);
            uint256 items = task.roundInfo(round).numProposals + 1;
            bytes memory scores = _scores(round, scoreSeed, items);
            bytes32 salt = keccak256(abi.encode("salt", a, round, scoreSeed));
            bytes32 att = _attestation(round, attSeed);
            vm.prank(a);
            try task.commitVote(round, keccak256(abi.encodePacked(scores, att, salt, a, round))) {
                ++calls["commitVote"];
                votes.push(VoteRec(a, scores, att, salt, false));
            } catch (bytes memory reason) {
                _flag("commitVote", reason);
            }
            return;
        }
    }

    function revealVote(uint256 actorSeed) external tracked {
        (uint256 round, bool ok) = _liveRound();
        if (!ok || votes.length == 0) return;
        (, uint256 commitEnd, uint256 revealEnd) = task.deadlines(round);
        if (block.timestamp >= revealEnd) return;
        for (uint256 k = 0; k < votes.length; ++k) {
            VoteRec storage v = votes[(actorSeed % votes.length + k) % votes.length];
            if (v.revealed) continue;
            if (block.timestamp < commitEnd) vm.warp(commitEnd);
            vm.prank(v.voter);
            try task.revealVote(round, v.scores, v.attestation, v.salt) {
                ++calls["revealVote"];
                v.revealed = true;
            } catch (bytes memory reason) {
                _flag("revealVote", reason);
            }
            return;
        }
    }

    // ============================================================ settlement

    function _sort(address[] memory a) internal pure {
        for (uint256 i = 1; i < a.length; ++i) {
            address key = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > key) {
                a[j] = a[j - 1];
                --j;
            }
            a[j] = key;
        }
    }

    function _sortUints(uint256[] memory a) internal pure {
        for (uint256 i = 1; i < a.length; ++i) {
            uint256 key = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > key) {
                a[j] = a[j - 1];
                --j;
            }
            a[j] = key;
        }
    }

    function _scoreOf(bytes memory scores, uint256 item) internal pure returns (uint256) {
        return (uint256(uint8(scores[2 * item])) << 8) | uint256(uint8(scores[2 * item + 1]));
    }

    /// @dev The SettleInput of the recorded round, built only from the handler's own ghosts.
    function _settleInput() internal view returns (AllianceTask.SettleInput memory input) {
        input.proposers = proposed;
        uint256 nr;
        for (uint256 i = 0; i < votes.length; ++i) {
            if (votes[i].revealed) ++nr;
        }
        address[] memory revealed = new address[](nr);
        address[] memory missing = new address[](votes.length - nr);
        uint256 r;
        uint256 m;
        for (uint256 i = 0; i < votes.length; ++i) {
            if (votes[i].revealed) revealed[r++] = votes[i].voter;
            else missing[m++] = votes[i].voter;
        }
        _sort(revealed);
        _sort(missing);
        input.voters = revealed;
        input.missing = missing;
        input.scores = new bytes[](nr);
        input.attestations = new bytes32[](nr);
        input.salts = new bytes32[](nr);
        for (uint256 v = 0; v < nr; ++v) {
            for (uint256 i = 0; i < votes.length; ++i) {
                if (votes[i].voter == revealed[v]) {
                    input.scores[v] = votes[i].scores;
                    input.attestations[v] = votes[i].attestation;
                    input.salts[v] = votes[i].salt;
                }
            }
        }
        if (nr == 0) return input;
        // paired differences: each voter's proposal score minus its own base-model score, + 10000
        uint256 items = proposed.length;
        uint256[] memory column = new uint256[](nr);
        for (uint256 i = 1; i <= items + 1; ++i) {
            // the paired differences per proposal, then the base-model scores
            for (uint256 v = 0; v < nr; ++v) {
                uint256 base = _scoreOf(input.scores[v], 0);
                column[v] = i <= items ? _scoreOf(input.scores[v], i) + 10_000 - base : base;
            }
            _sortUints(column);
            uint256 lo = column[(nr - 1) / 2];
            uint256 hi = column[nr / 2];
            uint256 mid = (lo + hi) / 2;
            for (uint256 v = 0; v < nr; ++v) {
                column[v] = column[v] > mid ? column[v] - mid : mid - column[v];
            }
            _sortUints(column);
            input.hints = bytes.concat(
                input.hints,
                abi.encodePacked(uint16(lo), uint16(hi), uint16(column[(nr - 1) / 2]), uint16(column[nr / 2]))
            );
        }
    }

    /// @dev What settling the recorded round must do to the global model, from the record alone:
    /// `decided` (quorum), the hash revealed voters must have attested (`expected`, zero when the
    /// pending aggregate is voided), and whether it is adopted as the global model.
    function _predictAttestation(AllianceTask.SettleInput memory input)
        internal
        view
        returns (bool decided, bytes32 expected, bool adopted)
    {
        uint256 reveals = input.voters.length;
        decided = reveals != 0 && reveals >= task.config().minVoters;
        if (!decided) return (false, bytes32(0), false);
        if (task.pendingAggregateRound() == 0) return (true, task.globalModelHash(), false);
        // strict majority by counting (not Boyer-Moore: an independent computation)
        for (uint256 i = 0; i < reveals; ++i) {
            uint256 count;
            for (uint256 j = 0; j < reveals; ++j) {
                if (input.attestations[j] == input.attestations[i]) ++count;
            }
            if (2 * count > reveals && input.attestations[i] != bytes32(0)) return (true, input.attestations[i], true);
        }
        return (true, bytes32(0), false);
    }

    bytes32 internal constant SLASHED_TOPIC = keccak256("Slashed(address,uint256,uint8,uint256)");

    /// @dev Compares the reason-5 slashes in the logs with the prediction.
    function _checkAttestationSlashes(AllianceTask.SettleInput memory input, bytes32 expected, bool decided)
        internal
    {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 expectedSlashes;
        if (decided && expected != bytes32(0)) {
            for (uint256 v = 0; v < input.voters.length; ++v) {
                if (input.attestations[v] != expected) ++expectedSlashes;
            }
        }
        uint256 seen;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(task) || logs[i].topics[0] != SLASHED_TOPIC) continue;
            (uint8 reason,) = abi.decode(logs[i].data, (uint8, uint256));
            if (reason != 5) continue;
            ++seen;
            address who = address(uint160(uint256(logs[i].topics[1])));
            for (uint256 v = 0; v < input.voters.length; ++v) {
                if (input.voters[v] == who && input.attestations[v] == expected) ++honestSlashedForAttestation;
            }
        }
        if (seen != expectedSlashes) ++attestationSlashMismatch;
    }

    function settle() external tracked {
        (uint256 round, bool ok) = _liveRound();
        if (!ok) return;
        (,, uint256 revealEnd) = task.deadlines(round);
        if (block.timestamp < revealEnd) vm.warp(revealEnd);
        AllianceTask.SettleInput memory input = _settleInput();
        (bool decided, bytes32 expected, bool adopted) = _predictAttestation(input);
        bool closing = round > task.config().rounds;
        bytes32 modelBefore = task.globalModelHash();
        vm.recordLogs();
        try task.settle(round, input) {
            ++calls["settle"];
            if (closing) ++calls["closing"];
            _checkAttestationSlashes(input, expected, decided);
            if (adopted) {
                majorityAttested[expected] = true;
                ++adoptions;
                if (task.globalModelHash() != expected) _flag("adoption", "");
            } else {
                if (decided && expected == bytes32(0)) ++voids; // a pending aggregate without a majority
                if (task.globalModelHash() != modelBefore) _flag("model changed without a majority", "");
            }
            IAllianceTask.Outcome outcome = task.roundInfo(round).outcome;
            if (outcome == IAllianceTask.Outcome.Settled) ++calls["settled"];
            else if (outcome == IAllianceTask.Outcome.Void) ++calls["void"];
            else ++calls["empty"];
            delete proposed;
            delete votes;
            vm.roll(block.number + 1);
            (, bool ended) = _status();
            if (ended) ++calls["ended"];
        } catch (bytes memory reason) {
            // the ghost record is complete: settlement must go through (or wait for the beacon)
            if (!_waitsForBeacon(reason)) _flag("settle", reason);
        }
    }

    // ============================================================ payouts

    /// @dev The first actor from `seed` on for which `want` holds, else the actor at `seed`.
    function _pick(uint256 seed, bool wantStake) internal view returns (address) {
        for (uint256 k = 0; k < actors.length; ++k) {
            address a = _actor(seed % actors.length + k);
            (uint256 s, uint256 c) = task.accountOf(a);
            if (wantStake ? s > 0 : c > 0) return a;
        }
        return _actor(seed);
    }

    function claim(uint256 actorSeed) external tracked {
        address a = _pick(actorSeed, false);
        uint256 owed = _claimable(a);
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        try task.claim() {
            ++calls["claim"];
            if (owed == 0 || token.balanceOf(a) - before != owed) _flag("claim amount", "");
        } catch (bytes memory reason) {
            if (owed != 0) _flag("claim", reason);
        }
    }

    function withdraw(uint256 actorSeed) external tracked {
        address a = _pick(actorSeed, true);
        (, bool ended) = _status();
        uint256 stake = _stake(a);
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        try task.withdraw() {
            ++calls["withdraw"];
            uint256 paid = token.balanceOf(a) - before;
            if (paid > stake || _stake(a) != 0) _flag("withdraw amount", "");
        } catch (bytes memory reason) {
            if (ended && stake != 0 && task.config().slashBps < 10_000) _flag("withdraw", reason);
        }
    }

    function reclaimLeftover() external tracked {
        uint256 pool = task.rewardPool();
        (, bool ended) = _status();
        uint256 before = token.balanceOf(creator);
        vm.prank(creator);
        try task.reclaimLeftover() {
            ++calls["reclaimLeftover"];
            if (token.balanceOf(creator) - before != pool) _flag("reclaim amount", "");
        } catch (bytes memory reason) {
            if (ended && pool != 0) _flag("reclaimLeftover", reason);
        }
    }

    /// @dev The beacon publishes its value for the next round to open (a no-op without one).
    function publishBeacon(uint256 valueSeed) external tracked {
        if (address(beacon) == address(0)) return;
        (uint256 current, bool ended) = _status();
        if (ended) return;
        (, uint256 target) = task.seedRevealWindow(current + 1);
        if (target == type(uint256).max) return;
        beacon.publish(target, keccak256(abi.encode("inv-beacon", valueSeed)));
        ++calls["publishBeacon"];
    }

    function warp(uint256 secs) external tracked {
        secs = bound(secs, 1, 250);
        vm.warp(block.timestamp + secs);
        vm.roll(block.number + 1);
        ++calls["warp"];
    }
}

contract InvariantTest is Test {
    uint256 internal constant SUPPLY = 1_000_000e18;
    uint256 internal constant POOL = 30_000e18;
    uint32 internal constant PERIOD = 100;

    FlockToken internal token;
    TaskFactory internal factory;
    AllianceTask internal task;
    Handler internal handler;
    address internal creator;
    address[] internal actors;

    function setUp() public {
        vm.warp(1_700_000_000);
        vm.roll(100);
        token = new FlockToken(SUPPLY);
        factory = new TaskFactory(address(new AllianceTask()));
        creator = vm.addr(0xC0FFEE);

        IAllianceTask.TaskConfig memory c;
        c.specHash = keccak256("spec");
        c.initialModelHash = keccak256("model-0");
        c.minStake = 100e18;
        c.maxParticipants = 6; // fewer seats than actors: TaskFull is reachable
        c.proposersPerRound = 2;
        c.maxVoters = 16;
        c.minVoters = 1;
        c.rounds = 3;
        c.enrolPeriod = PERIOD;
        c.proposePeriod = PERIOD;
        c.commitPeriod = PERIOD;
        c.revealPeriod = PERIOD;
        c.maxSamples = 5000;
        c.slashBps = 1000;
        c.toleranceBps = 200;
        c.peerToleranceBps = 500;
        c.acceptToleranceBps = 200; // two-way: accepted or slashed, nothing declined
        c.acceptPeerToleranceBps = 500;
        c.madMultiplierX100 = 300;
        c.minDeviationBps = 500;
        c.voterShareBps = 3000;
        c.washMadBps = 1000;
        c.rewardRule = IAllianceTask.RewardRule.Softmax;
        c.softmaxTemperatureBps = 100;

        token.transfer(creator, POOL);
        vm.startPrank(creator);
        token.approve(address(factory), POOL);
        task = _createTask(c);
        vm.stopPrank();

        for (uint256 i = 0; i < 8; ++i) {
            address a = vm.addr(0xB000 + i);
            actors.push(a);
            token.transfer(a, 10_000e18);
            vm.prank(a);
            token.approve(address(task), type(uint256).max);
        }
        handler = new Handler(task, IERC20(address(token)), creator, actors);
        _afterHandler();
        // three participants are already enrolled (through the handler, so the ghosts see them)
        handler.join(0, 100e18, true);
        handler.join(1, 150e18, true);
        handler.join(2, 250e18, true);

        bytes4[] memory selectors = new bytes4[](16);
        selectors[0] = Handler.join.selector;
        selectors[1] = Handler.stakeMore.selector;
        selectors[2] = Handler.leave.selector;
        selectors[3] = Handler.commitSeed.selector;
        selectors[4] = Handler.revealSeed.selector;
        selectors[5] = Handler.start.selector;
        selectors[6] = Handler.propose.selector;
        selectors[7] = Handler.commitVote.selector;
        selectors[8] = Handler.revealVote.selector;
        selectors[9] = Handler.settle.selector;
        selectors[10] = Handler.claim.selector;
        selectors[11] = Handler.withdraw.selector;
        selectors[12] = Handler.slashMissedSeedReveal.selector;
        selectors[13] = Handler.reclaimLeftover.selector;
        selectors[14] = Handler.warp.selector;
        selectors[15] = Handler.publishBeacon.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @dev The task under test, created by the creator (pranked) through the factory.
    function _createTask(IAllianceTask.TaskConfig memory c) internal virtual returns (AllianceTask) {
        return factory.createTask(IERC20(address(token)), c, POOL);
    }

    /// @dev Hook after the handler exists (the beacon variant hands it the beacon).
    function _afterHandler() internal virtual {}

    // Each invariant_* function is a separate fuzzing campaign (1000 runs x depth 20), so all
    // properties are asserted from one campaign, after every call of every run.

    /// @dev Token accounting, actor entitlements, the global model's provenance, and no valid
    /// action refused.
    function invariant_booksEntitlementsAndGlobalModel() public view {
        _checkGlobalModel();
        _checkTaskBalanceEqualsBooks();
        _checkSupplyConserved();
        _checkTotalsMatchAccounts();
        _checkActorGetsNoMoreThanEntitled();
        _checkPoolAccounting();
        _checkNoUnexpectedRevert();
    }

    /// @dev The global model is never zero, and it is the initial model or a hash a strict
    /// majority of some round's revealed voters attested; honest attesters are never slashed for
    /// their attestation, and every reason-5 slash was one the record predicts.
    function _checkGlobalModel() internal view {
        bytes32 model = task.globalModelHash();
        assertTrue(model != bytes32(0), "global model is zero");
        assertTrue(
            model == handler.initialModel() || handler.majorityAttested(model),
            "global model neither initial nor majority-attested"
        );
        assertEq(handler.honestSlashedForAttestation(), 0, "honest attester slashed for attestation");
        assertEq(handler.attestationSlashMismatch(), 0, "reason-5 slashes differ from the prediction");
    }

    /// @dev The task holds exactly its books.
    function _checkTaskBalanceEqualsBooks() internal view {
        assertEq(
            token.balanceOf(address(task)),
            task.rewardPool() + task.totalStaked() + task.totalClaimable(),
            "task balance != pool + staked + claimable"
        );
    }

    /// @dev No token is created or destroyed, and every token sits with a known holder.
    function _checkSupplyConserved() internal view {
        assertEq(token.totalSupply(), SUPPLY, "supply changed");
        uint256 sum = token.balanceOf(address(this)) + token.balanceOf(address(task)) + token.balanceOf(creator)
            + token.balanceOf(address(handler));
        for (uint256 i = 0; i < actors.length; ++i) {
            sum += token.balanceOf(actors[i]);
        }
        assertEq(sum, SUPPLY, "tokens escaped the known holders");
    }

    /// @dev totalStaked / totalClaimable are the sums of the accounts.
    function _checkTotalsMatchAccounts() internal view {
        uint256 staked;
        uint256 claimable;
        for (uint256 i = 0; i < actors.length; ++i) {
            (uint256 s, uint256 c) = task.accountOf(actors[i]);
            staked += s;
            claimable += c;
        }
        assertEq(task.totalStaked(), staked, "totalStaked != sum of stakes");
        assertEq(task.totalClaimable(), claimable, "totalClaimable != sum of claimables");
    }

    /// @dev An actor never takes out more than it put in plus what it was credited, and its
    /// stake + claimable + withdrawals never exceed that either (slashes only lower the left side).
    function _checkActorGetsNoMoreThanEntitled() internal view {
        for (uint256 i = 0; i < actors.length; ++i) {
            address a = actors[i];
            uint256 entitled = handler.deposited(a) + handler.credited(a);
            assertLe(handler.received(a), entitled, "received > deposited + credited");
            (uint256 s, uint256 c) = task.accountOf(a);
            assertLe(s + c + handler.received(a), entitled, "stake + claimable + received > entitled");
        }
    }

    /// @dev The pool only changes by slashes in, credits and the creator's reclaim out:
    /// rewardPool == POOL + slashed - credited - reclaimed, with slashed derived per actor.
    function _checkPoolAccounting() internal view {
        uint256 slashed;
        for (uint256 i = 0; i < actors.length; ++i) {
            address a = actors[i];
            (uint256 s, uint256 c) = task.accountOf(a);
            slashed += handler.deposited(a) + handler.credited(a) - handler.received(a) - s - c;
        }
        assertEq(
            task.rewardPool() + handler.totalCredited() + handler.creatorReceived(), POOL + slashed, "pool books"
        );
    }

    /// @dev Every call the ghost record says must succeed (settle with the recorded input, claim
    /// of a positive balance, withdraw after the end, ...) did.
    function _checkNoUnexpectedRevert() internal view {
        if (handler.unexpectedRevert()) {
            revert(string.concat("unexpected revert in ", handler.unexpectedWhere()));
        }
    }
}

/// @dev The same campaign on a task with a randomness beacon that publishes some rounds' values
/// and not others: rounds wait for it, open with it, or open without it after the grace period,
/// and every invariant above still holds (no valid call refused once the grace has passed).
contract InvariantBeaconTest is InvariantTest {
    uint32 internal constant GRACE = 150;
    ManualBeacon internal beacon;

    function _createTask(IAllianceTask.TaskConfig memory c) internal override returns (AllianceTask) {
        beacon = new ManualBeacon();
        return factory.createTaskWithBeacon(IERC20(address(token)), c, POOL, IRandomnessBeacon(address(beacon)), GRACE);
    }

    function _afterHandler() internal override {
        handler.useBeacon(beacon);
    }
}
