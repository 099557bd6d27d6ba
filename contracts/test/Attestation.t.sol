// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Base} from "./Base.t.sol";
import {Vm} from "./utils/Test.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {IAllianceTask} from "../IAllianceTask.sol";

/// @dev Issue 11: the global model is adopted only by a strict majority of a round's revealed
/// voters attesting one non-zero hash; proposals claim a bounded weight; blobs most voters
/// could not fetch are rejected; a closing round attests the last aggregate.
contract AttestationTest is Base {
    uint256 internal constant SLASH = MIN_STAKE / 10;
    bytes32 internal constant POISON_A = keccak256("poisoned aggregate A");
    bytes32 internal constant POISON_B = keccak256("poisoned aggregate B");
    bytes32 internal constant SLASHED_TOPIC = keccak256("Slashed(address,uint256,uint8,uint256)");

    function setUp() public override {
        super.setUp();
        for (uint256 i = actors.length; i < 20; ++i) {
            address a = vm.addr(0xA000 + i);
            vm.label(a, string.concat("actor", _str(i)));
            actors.push(a);
            token.transfer(a, ACTOR_FUNDS);
        }
    }

    // ------------------------------------------------------------------ helpers

    /// @dev 19 seats: a full roster draws 3 proposers and 16 voters.
    function _bigConfig(uint32 rounds) internal pure returns (IAllianceTask.TaskConfig memory c) {
        c = _config();
        c.maxParticipants = 19;
        c.rounds = rounds;
    }

    function _uniform(uint256 items, uint256 score) internal pure returns (bytes memory) {
        uint256[] memory s = new uint256[](items);
        for (uint256 i = 0; i < items; ++i) {
            s[i] = score;
        }
        return _packScores(s);
    }

    /// @dev Every proposer proposes, every voter scores the base 8000 and every proposal 8100
    /// and attests the honest base (unless overridden); the round settles.
    function _playAcceptedRound(uint256 round) internal returns (address[] memory props, address[] memory voters) {
        (props, voters,) = _rolesOf(round);
        _proposeAll(round, props);
        _warpToCommit(round);
        uint256[] memory s = new uint256[](props.length + 1);
        s[0] = 8000;
        for (uint256 i = 1; i < s.length; ++i) {
            s[i] = 8100;
        }
        for (uint256 i = 0; i < voters.length; ++i) {
            _commitVote(round, voters[i], _packScores(s));
        }
        _warpToVoteReveal(round);
        _revealAllVotesExcept(round, address(0));
        _settle(round);
    }

    /// @dev Round `round` (open, no proposals): `voters[i]` attests `atts[i]`; the round settles.
    function _attestOnly(uint256 round, address[] memory voters, bytes32[] memory atts) internal {
        _voteAttestOnly(round, voters, atts);
        _settle(round);
    }

    /// @dev `_attestOnly` without the settlement.
    function _voteAttestOnly(uint256 round, address[] memory voters, bytes32[] memory atts) internal {
        _warpToCommit(round);
        for (uint256 i = 0; i < atts.length; ++i) {
            _commitVoteAttesting(round, voters[i], _scores(8000), atts[i]);
        }
        _warpToVoteReveal(round);
        _revealAllVotesExcept(round, address(0));
    }

    /// @dev How many reason-`reason` Slashed events for `who` the logs hold.
    function _slashes(Vm.Log[] memory logs, address who, uint8 reason) internal view returns (uint256 n) {
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(task) || logs[i].topics[0] != SLASHED_TOPIC) continue;
            if (address(uint160(uint256(logs[i].topics[1]))) != who) continue;
            (uint8 r,) = abi.decode(logs[i].data, (uint8, uint256));
            if (r == reason) ++n;
        }
    }

    // ================================================================ majority adoption

    /// Any split of n in [1, 16] revealed voters over the honest aggregate and two poisoned
    /// hashes: a hash with a strict majority is adopted and every other attester is slashed
    /// (reason 5); without one the aggregate is void, nobody is slashed and the model stays.
    function test_settle_onlyAStrictMajorityAttestationIsAdopted(uint256 n, uint256 a, uint256 b) public {
        n = bound(n, 1, 16);
        a = bound(a, 0, n);
        b = bound(b, 0, n - a);
        _use(_createTask(_bigConfig(3), POOL));
        _openRound1(19);
        _playAcceptedRound(1);
        assertEq(task.pendingAggregateRound(), 1, "round 1 accepted nothing");
        bytes32 honest = _agg(1);

        (, address[] memory voters,) = _rolesOf(2);
        assertEq(voters.length, 16, "committee");
        bytes32[] memory atts = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            atts[i] = i < a ? POISON_A : i < a + b ? POISON_B : honest;
        }
        bytes32 winner;
        if (2 * a > n) winner = POISON_A;
        else if (2 * b > n) winner = POISON_B;
        else if (2 * (n - a - b) > n) winner = honest;

        vm.recordLogs();
        _attestOnly(2, voters, atts);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(task.pendingAggregateRound(), 0, "the aggregate is still pending");
        if (winner != bytes32(0)) {
            assertEq(task.globalModelHash(), winner, "majority not adopted");
            assertEq(task.globalModelRound(), 1, "model round");
            assertTrue(task.roundInfo(2).outcome == IAllianceTask.Outcome.Empty, "outcome");
        } else {
            assertEq(task.globalModelHash(), MODEL0, "a hash without a majority was adopted");
            assertEq(task.globalModelRound(), 0, "model round");
            assertTrue(task.roundInfo(2).outcome == IAllianceTask.Outcome.Void, "outcome");
        }
        for (uint256 i = 0; i < n; ++i) {
            bool deviant = winner != bytes32(0) && atts[i] != winner;
            assertEq(_slashes(logs, voters[i], 5), deviant ? 1 : 0, "reason-5 slashes");
            assertEq(_stake(voters[i]), deviant ? MIN_STAKE - SLASH : MIN_STAKE, "stake");
        }
        _assertConserved();
    }

    /// k attackers with 2k < n attest a poisoned aggregate: the honest one is adopted, each
    /// attacker is slashed exactly once (reason 5), no honest attester is slashed.
    function test_settle_poisonedMinorityIsSlashedAndHonestNever(uint256 n, uint256 k) public {
        n = bound(n, 1, 16);
        k = bound(k, 0, (n - 1) / 2);
        _use(_createTask(_bigConfig(3), POOL));
        _openRound1(19);
        _playAcceptedRound(1);
        (, address[] memory voters,) = _rolesOf(2);
        bytes32[] memory atts = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            atts[i] = i < k ? POISON_A : _agg(1);
        }
        _voteAttestOnly(2, voters, atts);
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.AggregateAdopted(1, _agg(1), 2, n - k, n);
        _settle(2);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(task.globalModelHash(), _agg(1), "honest aggregate not adopted");
        for (uint256 i = 0; i < n; ++i) {
            assertEq(_slashes(logs, voters[i], 5), i < k ? 1 : 0, "attestation slash");
            assertEq(_stake(voters[i]), i < k ? MIN_STAKE - SLASH : MIN_STAKE, "stake");
        }
    }

    /// A majority attesting the zero hash (voters who could not rebuild the aggregate) voids it:
    /// zero is never adopted and nobody is slashed for attesting.
    function test_settle_zeroHashNeverAdoptedEvenByMajority() public {
        _use(_createTask(_bigConfig(3), POOL));
        _openRound1(19);
        _playAcceptedRound(1);
        (, address[] memory voters,) = _rolesOf(2);
        bytes32[] memory atts = new bytes32[](5);
        atts[0] = bytes32(0);
        atts[1] = _agg(1);
        atts[2] = bytes32(0);
        atts[3] = _agg(1);
        atts[4] = bytes32(0);
        _voteAttestOnly(2, voters, atts);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.AggregateVoided(1, 2, 3, 5);
        _settle(2);
        assertEq(task.globalModelHash(), MODEL0, "zero adopted");
        assertEq(task.globalModelRound(), 0);
        assertEq(task.pendingAggregateRound(), 0, "voided aggregate still pending");
        assertTrue(task.roundInfo(2).outcome == IAllianceTask.Outcome.Void);
        for (uint256 i = 0; i < 5; ++i) {
            assertEq(_stake(voters[i]), MIN_STAKE, "attester slashed in a void");
        }
    }

    /// With nothing pending voters attest the adopted model: a voter attesting another hash is
    /// slashed once (reason 5, not again as an outlier) and earns nothing; honest ones never.
    function test_settle_wrongAttesterSlashedOnceHonestNever() public {
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _proposeAll(1, props);
        _warpToCommit(1);
        address liar = voters[0];
        address liarOutlier = voters[1];
        _attestAs(liar, POISON_A);
        _attestAs(liarOutlier, POISON_B);
        _commitVote(1, liar, _scores(8000, 8100, 8100, 8100));
        _commitVote(1, liarOutlier, _scores(0, 0, 0, 0)); // outside the consensus band as well
        for (uint256 i = 2; i < voters.length; ++i) {
            _commitVote(1, voters[i], _scores(8000, 8100, 8100, 8100));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        vm.recordLogs();
        _settle(1);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(_slashes(logs, liar, 5), 1, "liar");
        assertEq(_slashes(logs, liarOutlier, 5), 1, "liar outlier");
        assertEq(_slashes(logs, liarOutlier, 3), 0, "slashed twice");
        assertEq(_stake(liar), MIN_STAKE - SLASH);
        assertEq(_stake(liarOutlier), MIN_STAKE - SLASH);
        assertEq(_claimable(liar), 0, "deviant rewarded");
        assertEq(_claimable(liarOutlier), 0, "deviant rewarded");
        for (uint256 i = 2; i < voters.length; ++i) {
            assertEq(_slashes(logs, voters[i], 5), 0, "honest attester slashed");
            assertEq(_stake(voters[i]), MIN_STAKE);
            assertGt(_claimable(voters[i]), 0, "honest voter not rewarded");
        }
        assertEq(task.globalModelHash(), MODEL0, "model changed without a pending aggregate");
        assertEq(task.pendingAggregateRound(), 1);
        _assertConserved();
    }

    // ================================================================ weight bound

    function test_propose_revertsOnZeroSamples() public {
        _openRound1(10);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ProposalSamplesOutOfRange.selector, 0, MAX_SAMPLES));
        vm.prank(p);
        task.propose(1, keccak256("u"), MODEL0, 0, "");
    }

    function test_propose_revertsAboveMaxSamples(uint256 n) public {
        n = bound(n, uint256(MAX_SAMPLES) + 1, type(uint64).max);
        _openRound1(10);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ProposalSamplesOutOfRange.selector, n, MAX_SAMPLES));
        vm.prank(p);
        task.propose(1, keccak256("u"), MODEL0, uint64(n), "");
    }

    function test_propose_acceptsSamplesUpToMax(uint256 n) public {
        n = bound(n, 1, MAX_SAMPLES);
        _openRound1(10);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Proposed(1, p, 0, keccak256("u"), MODEL0, uint64(n), "");
        vm.prank(p);
        task.propose(1, keccak256("u"), MODEL0, uint64(n), "");
        // the boundary itself
        address q = _rolesOfProposer(1, 1);
        vm.prank(q);
        task.propose(1, keccak256("v"), MODEL0, MAX_SAMPLES, "");
        assertEq(task.roundInfo(1).numProposals, 2);
    }

    function _rolesOfProposer(uint256 round, uint256 i) internal view returns (address) {
        (address[] memory props,,) = _rolesOf(round);
        return props[i];
    }

    // ================================================================ unavailable blobs

    /// Two proposals; three of five voters could not fetch P0's blob (0xFFFF): P0's median is 0,
    /// it is rejected and slashed with reason 6; P1 is accepted; the marking voters are fine.
    function test_settle_mostlyUnavailableProposalSlashedReason6() public {
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _propose(1, props[0], keccak256("u0"));
        _propose(1, props[1], keccak256("u1"));
        _warpToCommit(1);
        for (uint256 i = 0; i < 5; ++i) {
            _commitVote(1, voters[i], _scores(8000, i < 3 ? UNAVAILABLE : 8100, 8100));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Slashed(props[0], 1, 6, SLASH);
        _settle(1);
        assertEq(task.acceptedMask(1), 2, "mask");
        assertEq(_stake(props[0]), MIN_STAKE - SLASH);
        assertEq(_claimable(props[0]), 0);
        assertGt(_claimable(props[1]), 0);
        for (uint256 i = 0; i < 5; ++i) {
            assertEq(_stake(voters[i]), MIN_STAKE, "voter slashed");
        }
        _assertConserved();
    }

    /// Two of five voters mark an otherwise good proposal unavailable: it is accepted.
    function test_settle_minorityUnavailableDoesNotReject() public {
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _propose(1, props[0], keccak256("u0"));
        _warpToCommit(1);
        for (uint256 i = 0; i < 5; ++i) {
            _commitVote(1, voters[i], _scores(8000, i < 2 ? UNAVAILABLE : 8100));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        assertEq(task.acceptedMask(1), 1, "good proposal rejected");
        assertEq(_stake(props[0]), MIN_STAKE);
        assertGt(_claimable(props[0]), 0);
    }

    /// A median of 0 without an unavailable majority (2 marks, 1 zero of 5) is an ordinary
    /// rejection: reason 2.
    function test_settle_zeroMedianWithoutUnavailableMajorityIsReason2() public {
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _propose(1, props[0], keccak256("u0"));
        _propose(1, props[1], keccak256("u1"));
        _warpToCommit(1);
        uint256[5] memory p0 = [UNAVAILABLE, UNAVAILABLE, 0, 8100, 8100];
        for (uint256 i = 0; i < 5; ++i) {
            _commitVote(1, voters[i], _scores(8000, p0[i], 8100));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Slashed(props[0], 1, 2, SLASH);
        _settle(1);
        assertEq(task.acceptedMask(1), 2);
    }

    // ================================================================ no first poster wins

    /// Nobody sets the global model alone: after round 1 it is unchanged while round 2 runs
    /// (a proposer naming a poisoned base, a voter attesting one, the removed postAggregate /
    /// challengeAggregate / finalizeSeed entry points), and round 2's settlement adopts the
    /// majority's hash.
    function test_globalModelHash_changesOnlyOnSettlementToTheMajority() public {
        _openRound1(10);
        _playAcceptedRound(1);
        assertEq(task.globalModelHash(), MODEL0, "changed by round 1's settlement");
        assertEq(task.pendingAggregateRound(), 1);

        (address[] memory props, address[] memory voters,) = _rolesOf(2);
        vm.prank(props[0]);
        task.propose(2, keccak256("u"), POISON_A, SAMPLES, "");
        proposed.push(props[0]);
        assertEq(task.globalModelHash(), MODEL0, "changed by a proposal");

        bytes4[3] memory removed = [
            bytes4(keccak256("postAggregate(uint256,bytes32)")),
            bytes4(keccak256("challengeAggregate(uint256,bytes32)")),
            bytes4(keccak256("finalizeSeed(uint256)"))
        ];
        for (uint256 i = 0; i < removed.length; ++i) {
            vm.prank(props[1]);
            (bool ok,) = address(task).call(abi.encodeWithSelector(removed[i], uint256(1), POISON_A));
            assertFalse(ok, "a removed entry point answered");
        }

        _warpToCommit(2);
        _attestAs(voters[0], POISON_A);
        for (uint256 i = 0; i < voters.length; ++i) {
            _commitVote(2, voters[i], _scores(8000, 0)); // the proposal on a poisoned base scores 0
        }
        _warpToVoteReveal(2);
        _revealVote(2, voters[0]);
        assertEq(task.globalModelHash(), MODEL0, "changed by a poisoned reveal");
        _revealAllVotesExcept(2, voters[0]);
        assertEq(task.globalModelHash(), MODEL0, "changed before settlement");

        _settle(2);
        assertEq(task.globalModelHash(), _agg(1), "majority hash not adopted");
        assertEq(task.globalModelRound(), 1);
        assertEq(_stake(voters[0]), MIN_STAKE - SLASH, "poisoned attester");
        assertEq(_stake(props[0]), MIN_STAKE - SLASH, "proposal on a poisoned base");
    }

    // ================================================================ closing round

    /// After the last round accepted updates, the closing round rounds + 1 opens: no proposers,
    /// the whole roster votes, no propose period; its voters attest the final aggregate, it is
    /// adopted (a poisoned attester slashed), the task ends and stakes can be withdrawn.
    function test_settle_closingRoundAdoptsTheFinalAggregate() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.rounds = 1;
        _use(_createTask(c, POOL));
        _openRound1(10);
        _playAcceptedRound(1);
        (uint256 current, bool ended,) = task.status();
        assertEq(current, 2, "closing round not opened");
        assertFalse(ended);
        assertEq(task.pendingAggregateRound(), 1);
        IAllianceTask.RoundInfo memory info = task.roundInfo(2);
        assertEq(info.baseRound, 1, "base round");
        (uint256 cp, uint256 cv) = task.committeeOf(2);
        assertEq(cp, 0, "closing proposers");
        assertEq(cv, 10, "closing voters");
        for (uint256 i = 0; i < 10; ++i) {
            assertTrue(task.roleOf(2, actors[i]) == IAllianceTask.Role.Voter, "not a voter");
        }
        (uint256 proposeEnd, uint256 commitEnd,) = task.deadlines(2);
        assertEq(proposeEnd, info.start, "closing round has a propose period");
        (uint256 pr, IAllianceTask.Phase ph, uint256 closesAt) = task.phase();
        assertEq(pr, 2);
        assertTrue(ph == IAllianceTask.Phase.VoteCommit, "phase");
        assertEq(closesAt, commitEnd);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.Propose, block.timestamp, info.start, info.start
            )
        );
        vm.prank(actors[0]);
        task.propose(2, keccak256("late"), _agg(1), SAMPLES, "");

        _attestAs(actors[3], POISON_A);
        uint256 closing = _voteClosingRound(8000);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.AggregateAdopted(1, _agg(1), 2, 9, 10);
        _settle(closing);
        assertTrue(task.roundInfo(2).outcome == IAllianceTask.Outcome.Empty, "closing outcome");
        assertEq(task.globalModelHash(), _agg(1), "final aggregate not adopted");
        assertEq(task.globalModelRound(), 1);
        (, ended,) = task.status();
        assertTrue(ended, "task not ended");
        (, ph,) = task.phase();
        assertTrue(ph == IAllianceTask.Phase.Task);
        for (uint256 i = 0; i < 10; ++i) {
            uint256 stake = _stake(actors[i]);
            uint256 before = token.balanceOf(actors[i]);
            vm.prank(actors[i]);
            task.withdraw();
            assertEq(token.balanceOf(actors[i]) - before, stake, "withdraw");
        }
        assertEq(_stake(actors[3]), 0);
        _assertConserved();
    }

    /// Fewer reveals than minVoters decide nothing: even two matching poisoned attestations
    /// neither adopt nor void the aggregate, nobody is slashed for them, the next round trains
    /// from the same pending aggregate and its voters adopt it.
    function test_settle_tooFewRevealsKeepAggregatePending() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.minVoters = 3;
        _use(_createTask(c, POOL));
        _openRound1(10);
        _playAcceptedRound(1);
        (, address[] memory voters,) = _rolesOf(2);
        bytes32[] memory atts = new bytes32[](2);
        atts[0] = POISON_A;
        atts[1] = POISON_A;
        _attestOnly(2, voters, atts);
        assertEq(task.pendingAggregateRound(), 1, "aggregate decided by too few reveals");
        assertEq(task.globalModelHash(), MODEL0);
        assertEq(_stake(voters[0]), MIN_STAKE, "slashed without a quorum");
        assertEq(_stake(voters[1]), MIN_STAKE, "slashed without a quorum");
        assertEq(task.roundInfo(3).baseRound, 1, "round 3 base");

        (, voters,) = _rolesOf(3);
        atts = new bytes32[](3);
        atts[0] = _agg(1);
        atts[1] = _agg(1);
        atts[2] = _agg(1);
        _voteAttestOnly(3, voters, atts);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.AggregateAdopted(1, _agg(1), 3, 3, 3);
        _settle(3);
        assertEq(task.globalModelHash(), _agg(1));
    }

    /// No reveals at all in a round with proposals: void, and the aggregate stays pending.
    function test_settle_noRevealsKeepAggregatePending() public {
        _openRound1(10);
        _playAcceptedRound(1);
        (address[] memory props,,) = _rolesOf(2);
        _proposeAll(2, props);
        _settle(2);
        assertTrue(task.roundInfo(2).outcome == IAllianceTask.Outcome.Void);
        assertEq(task.pendingAggregateRound(), 1);
        assertEq(task.roundInfo(3).baseRound, 1);
    }

    /// A voided aggregate is void for good: the round built on it is void (nothing judged or
    /// paid), the next round trains from the last adopted model (baseRound == globalModelRound)
    /// and an attester of the voided hash is then slashed.
    function test_settle_voidAggregateTrainsNextRoundFromLastAdopted() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.rounds = 4;
        _use(_createTask(c, POOL));
        _openRound1(10);
        _playAcceptedRound(1);
        _playAcceptedRound(2); // adopts agg(1), accepts round 2's updates
        assertEq(task.globalModelHash(), _agg(1));
        assertEq(task.globalModelRound(), 1);
        assertEq(task.pendingAggregateRound(), 2);

        // round 3: no majority for any hash
        (address[] memory props, address[] memory voters,) = _rolesOf(3);
        _proposeAll(3, props);
        for (uint256 i = 0; i < voters.length; ++i) {
            _attestAs(voters[i], i % 3 == 0 ? _agg(2) : i % 3 == 1 ? POISON_A : bytes32(uint256(1)));
        }
        uint256 claimableBefore = task.totalClaimable();
        _warpToCommit(3);
        for (uint256 i = 0; i < voters.length; ++i) {
            _commitVote(3, voters[i], _scores(8000, 8100, 8100, 8100));
        }
        _warpToVoteReveal(3);
        _revealAllVotesExcept(3, address(0));
        vm.expectEmit(true, true, false, false, address(task));
        emit IAllianceTask.AggregateVoided(2, 3, 0, 0);
        _settle(3);
        assertTrue(task.roundInfo(3).outcome == IAllianceTask.Outcome.Void, "round on a void base judged");
        assertEq(task.acceptedMask(3), 0);
        assertEq(task.totalClaimable(), claimableBefore, "paid on a void base");
        for (uint256 i = 0; i < props.length; ++i) {
            assertEq(_stake(props[i]), MIN_STAKE, "proposer on a void base slashed");
        }
        assertEq(task.pendingAggregateRound(), 0);
        assertEq(task.globalModelHash(), _agg(1), "model changed by a void");
        assertEq(task.roundInfo(4).baseRound, task.globalModelRound(), "round 4 base");
        assertEq(task.roundInfo(4).baseRound, 1);

        // round 4 attests the adopted model again; the voided hash is a wrong attestation now
        (, voters,) = _rolesOf(4);
        address stale = voters[0];
        uint256 before = _stake(stale);
        _attestAs(stale, _agg(2));
        _playAcceptedRound(4);
        assertEq(_stake(stale), before - before / 10, "attester of the voided hash not slashed");
    }
}
