// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "./utils/Test.sol";
import {FlockToken} from "../FlockToken.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {TaskFactory} from "../TaskFactory.sol";
import {IAllianceTask} from "../IAllianceTask.sol";

/// @dev Shared fixture: a token, the implementation, the factory, one funded task and twelve
/// funded actors, plus helpers that walk a round through its phases and build SettleInput.
abstract contract Base is Test {
    uint256 internal constant MIN_STAKE = 100e18;
    uint256 internal constant POOL = 30_000e18;
    uint256 internal constant ACTOR_FUNDS = 10_000e18;
    uint256 internal constant SUPPLY = 1_000_000e18;
    uint32 internal constant PERIOD = 100;
    uint256 internal constant NUM_ACTORS = 12;
    uint32 internal constant MAX_SAMPLES = 10_000;
    bytes32 internal constant MODEL0 = keccak256("model-0");
    uint64 internal constant SAMPLES = 1000;
    /// @dev The "could not fetch the blob" score mark.
    uint256 internal constant UNAVAILABLE = 0xFFFF;

    IERC20 internal token;
    AllianceTask internal impl;
    TaskFactory internal factory;
    AllianceTask internal task;
    address internal creator;
    address[] internal actors;

    /// @dev The round being played on `task`: proposers in proposal order, and every vote.
    struct VoteRec {
        address voter;
        bytes scores;
        bytes32 attestation;
        bytes32 salt;
        bool revealed;
    }

    address[] internal proposed;
    VoteRec[] internal votes;

    /// @dev Per-voter attestation overrides (cleared with the round record); zero = none.
    mapping(address => bytes32) internal attestOverride;
    address[] internal overridden;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        vm.roll(100);
        token = _deployToken();
        impl = new AllianceTask();
        factory = new TaskFactory(address(impl));
        creator = vm.addr(0xC0FFEE);
        vm.label(creator, "creator");
        token.transfer(creator, 200_000e18);
        for (uint256 i = 0; i < NUM_ACTORS; ++i) {
            address a = vm.addr(0xA000 + i);
            vm.label(a, string.concat("actor", _str(i)));
            actors.push(a);
            token.transfer(a, ACTOR_FUNDS);
        }
        task = _createTask(_config(), POOL);
    }

    // ------------------------------------------------------------------ setup helpers

    /// @dev The stake and reward token, SUPPLY minted to this contract (override for odd tokens).
    function _deployToken() internal virtual returns (IERC20) {
        return IERC20(address(new FlockToken(SUPPLY)));
    }

    function _config() internal pure returns (IAllianceTask.TaskConfig memory c) {
        c.specHash = keccak256("spec");
        c.initialModelHash = MODEL0;
        c.minStake = uint96(MIN_STAKE);
        c.maxParticipants = 10;
        c.proposersPerRound = 3;
        c.maxVoters = 16;
        c.minVoters = 1;
        c.rounds = 3;
        c.enrolPeriod = PERIOD;
        c.proposePeriod = PERIOD;
        c.commitPeriod = PERIOD;
        c.revealPeriod = PERIOD;
        c.maxSamples = MAX_SAMPLES;
        c.slashBps = 1000;
        c.toleranceBps = 200;
        c.peerToleranceBps = 500;
        c.acceptToleranceBps = 200; // two-way: accepted or slashed, nothing declined
        c.acceptPeerToleranceBps = 500;
        c.madMultiplierX100 = 300;
        c.minDeviationBps = 500;
        c.voterShareBps = 3000;
        c.washMadBps = 1000;
        c.rewardRule = IAllianceTask.RewardRule.Geometric;
        c.softmaxTemperatureBps = 100;
        c.baseBandBps = 10_000; // base scores unjudged: most tests give each voter a bias of its own
    }

    /// @dev Creates a task through the factory as `creator` and lets every actor approve it.
    function _createTask(IAllianceTask.TaskConfig memory c, uint256 pool) internal returns (AllianceTask t) {
        vm.startPrank(creator);
        token.approve(address(factory), pool);
        t = factory.createTask(token, c, pool);
        vm.stopPrank();
        for (uint256 i = 0; i < actors.length; ++i) {
            vm.prank(actors[i]);
            token.approve(address(t), type(uint256).max);
        }
    }

    /// @dev Points the round helpers at another task.
    function _use(AllianceTask t) internal {
        task = t;
        _forgetRound();
    }

    /// @dev Forgets the recorded proposals, votes and attestation overrides.
    function _forgetRound() internal {
        delete proposed;
        delete votes;
        for (uint256 i = 0; i < overridden.length; ++i) {
            delete attestOverride[overridden[i]];
        }
        delete overridden;
    }

    // ------------------------------------------------------------------ the global model

    /// @dev Stand-in for the hash of the honest aggregate of round `r`'s accepted updates.
    function _agg(uint256 r) internal pure returns (bytes32) {
        return keccak256(abi.encode("agg", r));
    }

    /// @dev The base model an honest member recomputes for the current round: the pending
    /// aggregate's honest hash, or the adopted global model when nothing is pending.
    function _expectedBase() internal view returns (bytes32) {
        uint256 p = task.pendingAggregateRound();
        return p == 0 ? task.globalModelHash() : _agg(p);
    }

    /// @dev Makes `voter` attest `h` (instead of the honest base) in the votes committed next.
    function _attestAs(address voter, bytes32 h) internal {
        if (attestOverride[voter] == bytes32(0)) overridden.push(voter);
        attestOverride[voter] = h;
    }

    /// @dev What `voter` attests: its override, else the honest base.
    function _attestationOf(address voter) internal view returns (bytes32) {
        bytes32 h = attestOverride[voter];
        return h != bytes32(0) ? h : _expectedBase();
    }

    // ------------------------------------------------------------------ randomness

    function _secret(address p, uint256 round) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("secret", p, round));
    }

    function _seedCommit(address p, uint256 round) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(_secret(p, round), p, uint256(round)));
    }

    function _salt(address voter, uint256 round) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("salt", voter, round));
    }

    function _voteCommit(bytes memory scores, bytes32 attestation, bytes32 salt, address voter, uint256 round)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(scores, attestation, salt, voter, round));
    }

    // ------------------------------------------------------------------ membership

    function _join(address p, uint256 amount, bool commitRound1) internal {
        vm.prank(p);
        task.join(amount, 1, commitRound1 ? _seedCommit(p, 1) : bytes32(0));
    }

    /// @dev The first `n` actors join with the minimum stake and commit randomness for round 1.
    function _joinActors(uint256 n) internal {
        for (uint256 i = 0; i < n; ++i) {
            _join(actors[i], MIN_STAKE, true);
        }
    }

    /// @dev Warps into round `round`'s seed reveal window.
    function _warpToSeedReveal(uint256 round) internal {
        (uint256 opens,) = task.seedRevealWindow(round);
        if (block.timestamp < opens) vm.warp(opens);
    }

    /// @dev Reveals `p`'s secret for `round` (no commitment for the next round).
    function _revealSeed(address p, uint256 round) internal {
        vm.prank(p);
        task.revealSeed(uint32(round), _secret(p, round), bytes32(0));
    }

    /// @dev Reveals `p`'s secret for `round` and commits for `round + 1` in the same call.
    function _revealSeedAndCommitNext(address p, uint256 round) internal {
        vm.prank(p);
        task.revealSeed(uint32(round), _secret(p, round), _seedCommit(p, round + 1));
    }

    /// @dev Every actor with a pending commitment for `round` reveals it (inside the window).
    function _revealSeedsFor(uint256 round) internal {
        _warpToSeedReveal(round);
        for (uint256 i = 0; i < actors.length; ++i) {
            (uint256 r, bytes28 c) = task.seedCommitOf(actors[i]);
            if (c != bytes28(0) && r == round) _revealSeed(actors[i], round);
        }
    }

    /// @dev Warps past round 1's seed reveal window and opens round 1.
    function _start() internal {
        (, uint256 closes) = task.seedRevealWindow(1);
        if (block.timestamp < closes) vm.warp(closes);
        task.start();
        vm.roll(block.number + 1);
    }

    /// @dev `n` actors join, reveal, and round 1 opens.
    function _openRound1(uint256 n) internal {
        _joinActors(n);
        _revealSeedsFor(1);
        _start();
    }

    // ------------------------------------------------------------------ roles

    function _rolesOf(uint256 round)
        internal
        view
        returns (address[] memory props, address[] memory voters, address[] memory idle)
    {
        props = new address[](actors.length);
        voters = new address[](actors.length);
        idle = new address[](actors.length);
        uint256 np;
        uint256 nv;
        uint256 ni;
        for (uint256 i = 0; i < actors.length; ++i) {
            IAllianceTask.Role role = task.roleOf(round, actors[i]);
            if (role == IAllianceTask.Role.Proposer) props[np++] = actors[i];
            else if (role == IAllianceTask.Role.Voter) voters[nv++] = actors[i];
            else if (role == IAllianceTask.Role.Idle) idle[ni++] = actors[i];
        }
        _shrink(props, np);
        _shrink(voters, nv);
        _shrink(idle, ni);
    }

    /// @dev Round 1's seed as the NatSpec of `_openRound` defines it, computed before the round
    /// opens: the entropy is the XOR of the round-1 secrets revealed by the first `n` actors.
    function _predictedSeed1(uint256 n) internal view returns (bytes32) {
        bytes32 entropy;
        for (uint256 i = 0; i < n; ++i) {
            entropy ^= _secret(actors[i], 1);
        }
        return keccak256(abi.encode(task.SEED_DOMAIN(), address(task), block.chainid, uint256(1), entropy));
    }

    /// @dev Round 1's proposers (in actor order) under `seed`, when the first `n` actors hold the roster.
    function _predictedProposers1(uint256 n, bytes32 seed) internal view returns (address[] memory props) {
        uint256 k = task.config().proposersPerRound;
        if (k > n - 1) k = n - 1;
        props = new address[](k);
        uint256 np;
        for (uint256 i = 0; i < n; ++i) {
            if (task.shuffle(i, n, seed) < k) props[np++] = actors[i];
        }
    }

    function _firstWithRole(uint256 round, IAllianceTask.Role role) internal view returns (address) {
        for (uint256 i = 0; i < actors.length; ++i) {
            if (task.roleOf(round, actors[i]) == role) return actors[i];
        }
        revert("no actor with that role");
    }

    // ------------------------------------------------------------------ phases

    function _warpToCommit(uint256 round) internal {
        (uint256 proposeEnd,,) = task.deadlines(round);
        if (block.timestamp < proposeEnd) vm.warp(proposeEnd);
    }

    function _warpToVoteReveal(uint256 round) internal {
        (, uint256 commitEnd,) = task.deadlines(round);
        if (block.timestamp < commitEnd) vm.warp(commitEnd);
    }

    function _warpToSettle(uint256 round) internal {
        (,, uint256 revealEnd) = task.deadlines(round);
        if (block.timestamp < revealEnd) vm.warp(revealEnd);
    }

    function _propose(uint256 round, address p, bytes32 updateHash) internal {
        bytes32 base = _expectedBase(); // before the prank: a view call would consume it
        vm.prank(p);
        task.propose(round, updateHash, base, SAMPLES, "ipfs://update");
        proposed.push(p);
    }

    /// @dev Every proposer in `props` proposes, in array order.
    function _proposeAll(uint256 round, address[] memory props) internal {
        for (uint256 i = 0; i < props.length; ++i) {
            _propose(round, props[i], keccak256(abi.encodePacked("update", props[i], round)));
        }
    }

    /// @dev `voter` commits `scores` and its attestation (`_attestationOf`).
    function _commitVote(uint256 round, address voter, bytes memory scores) internal {
        _commitVoteAttesting(round, voter, scores, _attestationOf(voter));
    }

    function _commitVoteAttesting(uint256 round, address voter, bytes memory scores, bytes32 attestation)
        internal
    {
        bytes32 salt = _salt(voter, round);
        vm.prank(voter);
        task.commitVote(round, _voteCommit(scores, attestation, salt, voter, round));
        votes.push(VoteRec(voter, scores, attestation, salt, false));
    }

    function _revealVote(uint256 round, address voter) internal {
        for (uint256 i = 0; i < votes.length; ++i) {
            if (votes[i].voter != voter) continue;
            vm.prank(voter);
            task.revealVote(round, votes[i].scores, votes[i].attestation, votes[i].salt);
            votes[i].revealed = true;
            return;
        }
        revert("voter did not commit");
    }

    /// @dev Reveals every recorded vote except those of `skip` (their reveal goes missing).
    function _revealAllVotesExcept(uint256 round, address skip) internal {
        for (uint256 i = 0; i < votes.length; ++i) {
            if (votes[i].voter == skip) continue;
            vm.prank(votes[i].voter);
            task.revealVote(round, votes[i].scores, votes[i].attestation, votes[i].salt);
            votes[i].revealed = true;
        }
    }

    /// @dev SettleInput from the recorded round: revealed voters and missing ones ascending.
    function _settleInput() internal view returns (AllianceTask.SettleInput memory input) {
        input.proposers = proposed;
        uint256 nr;
        uint256 nm;
        for (uint256 i = 0; i < votes.length; ++i) {
            if (votes[i].revealed) ++nr;
            else ++nm;
        }
        VoteRec[] memory revealed = new VoteRec[](nr);
        address[] memory missing = new address[](nm);
        nr = 0;
        nm = 0;
        for (uint256 i = 0; i < votes.length; ++i) {
            if (votes[i].revealed) revealed[nr++] = votes[i];
            else missing[nm++] = votes[i].voter;
        }
        for (uint256 i = 1; i < revealed.length; ++i) {
            VoteRec memory key = revealed[i];
            uint256 j = i;
            while (j > 0 && revealed[j - 1].voter > key.voter) {
                revealed[j] = revealed[j - 1];
                --j;
            }
            revealed[j] = key;
        }
        _sortAddresses(missing);
        input.voters = new address[](nr);
        input.scores = new bytes[](nr);
        input.attestations = new bytes32[](nr);
        input.salts = new bytes32[](nr);
        for (uint256 i = 0; i < nr; ++i) {
            input.voters[i] = revealed[i].voter;
            input.scores[i] = revealed[i].scores;
            input.attestations[i] = revealed[i].attestation;
            input.salts[i] = revealed[i].salt;
        }
        input.missing = missing;
        input.hints = _hints(input.scores, proposed.length);
    }

    /// @dev Settlement hints: per proposal, over the voters' paired differences (score minus
    /// the voter's own base-model score, plus 10000), then over the voters' base-model scores,
    /// the lower and upper middle value and the lower and upper middle absolute deviation from
    /// their mean (4 x uint16 each).
    function _hints(bytes[] memory scores, uint256 proposals) internal pure returns (bytes memory hints) {
        uint256 n = scores.length;
        if (n == 0) return hints;
        uint256[] memory column = new uint256[](n);
        for (uint256 i = 1; i <= proposals + 1; ++i) {
            for (uint256 v = 0; v < n; ++v) {
                column[v] = i <= proposals ? _cellOf(scores[v], i) + 10_000 - _cellOf(scores[v], 0) : _cellOf(scores[v], 0);
            }
            _sortUints(column);
            uint256 lo = column[(n - 1) / 2];
            uint256 hi = column[n / 2];
            uint256 m = (lo + hi) / 2;
            for (uint256 v = 0; v < n; ++v) {
                column[v] = column[v] > m ? column[v] - m : m - column[v];
            }
            _sortUints(column);
            hints = bytes.concat(
                hints, abi.encodePacked(uint16(lo), uint16(hi), uint16(column[(n - 1) / 2]), uint16(column[n / 2]))
            );
        }
    }

    /// @dev The score as consensus counts it: the "unavailable" mark 0xFFFF counts as 0.
    function _cellOf(bytes memory scores, uint256 item) internal pure returns (uint256) {
        uint256 s = _scoreOf(scores, item);
        return s == UNAVAILABLE ? 0 : s;
    }

    function _scoreOf(bytes memory scores, uint256 item) internal pure returns (uint256) {
        if (scores.length < 2 * item + 2) return 0;
        return (uint256(uint8(scores[2 * item])) << 8) | uint256(uint8(scores[2 * item + 1]));
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

    /// @dev Settles `round` from the recorded proposals and votes, then forgets them.
    function _settle(uint256 round) internal {
        _warpToSettle(round);
        task.settle(round, _settleInput());
        _forgetRound();
        vm.roll(block.number + 1);
    }

    /// @dev Plays the closing round (rounds + 1, open): every eligible voter commits `baseScore`
    /// for the base and its attestation, reveals, and the round settles (ending the task).
    function _playClosingRound(uint256 baseScore) internal {
        _settle(_voteClosingRound(baseScore));
    }

    /// @dev The closing round's votes and reveals without the settlement; returns the round.
    function _voteClosingRound(uint256 baseScore) internal returns (uint256 current) {
        (current,,) = task.status();
        require(current == task.config().rounds + 1, "not the closing round");
        (, address[] memory voters,) = _rolesOf(current);
        _warpToCommit(current);
        for (uint256 i = 0; i < voters.length; ++i) {
            if (_stake(voters[i]) < MIN_STAKE) continue;
            _commitVote(current, voters[i], _scores(baseScore));
        }
        _warpToVoteReveal(current);
        _revealAllVotesExcept(current, address(0));
    }

    /// @dev Settles every remaining round with nothing recorded, ending the task (a closing
    /// round with no reveals leaves the last aggregate pending).
    function _finishTask() internal {
        (uint256 current, bool ended,) = task.status();
        while (!ended) {
            _settle(current);
            (current, ended,) = task.status();
        }
    }

    // ------------------------------------------------------------------ scores

    function _scores(uint256 s0) internal pure returns (bytes memory) {
        return abi.encodePacked(uint16(s0));
    }

    function _scores(uint256 s0, uint256 s1) internal pure returns (bytes memory) {
        return abi.encodePacked(uint16(s0), uint16(s1));
    }

    function _scores(uint256 s0, uint256 s1, uint256 s2) internal pure returns (bytes memory) {
        return abi.encodePacked(uint16(s0), uint16(s1), uint16(s2));
    }

    function _scores(uint256 s0, uint256 s1, uint256 s2, uint256 s3) internal pure returns (bytes memory) {
        return abi.encodePacked(uint16(s0), uint16(s1), uint16(s2), uint16(s3));
    }

    function _packScores(uint256[] memory s) internal pure returns (bytes memory out) {
        for (uint256 i = 0; i < s.length; ++i) {
            out = bytes.concat(out, abi.encodePacked(uint16(s[i])));
        }
    }

    // ------------------------------------------------------------------ accounting

    function _stake(address p) internal view returns (uint256 s) {
        (s,) = task.accountOf(p);
    }

    function _claimable(address p) internal view returns (uint256 c) {
        (, c) = task.accountOf(p);
    }

    /// @dev The task holds exactly its books: pool + stakes + credited rewards.
    function _assertConserved() internal view {
        assertEq(
            token.balanceOf(address(task)),
            task.rewardPool() + task.totalStaked() + task.totalClaimable(),
            "task balance != pool + staked + claimable"
        );
    }

    // ------------------------------------------------------------------ small utils

    function _shrink(address[] memory a, uint256 n) internal pure {
        assembly ("memory-safe") {
            mstore(a, n)
        }
    }

    function _sortAddresses(address[] memory a) internal pure {
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

    function _contains(address[] memory a, address x) internal pure returns (bool) {
        for (uint256 i = 0; i < a.length; ++i) {
            if (a[i] == x) return true;
        }
        return false;
    }

    function _str(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        uint256 digits;
        for (uint256 t = v; t != 0; t /= 10) ++digits;
        bytes memory b = new bytes(digits);
        while (v != 0) {
            b[--digits] = bytes1(uint8(48 + (v % 10)));
            v /= 10;
        }
        return string(b);
    }
}
