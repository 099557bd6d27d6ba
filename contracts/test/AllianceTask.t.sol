// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Base} from "./Base.t.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {TaskFactory} from "../TaskFactory.sol";
import {IAllianceTask} from "../IAllianceTask.sol";

/// @dev Unit tests of AllianceTask and TaskFactory, one behaviour per test.
contract AllianceTaskTest is Base {
    // ================================================================ a full reference round
    //
    // 10 participants -> 3 proposers and 7 voters. Scores (baseline, P0, P1, P2): honest voter i
    // (i = 0..4) scores base + 20 * i on every item, one outlier scores 2000 everywhere, one
    // voter commits and never reveals. Medians are base + 30 = (8030, 8630, 8330, 6030): P0 and
    // P1 are accepted, P2 (6030 + 200 < 8030) is rejected.

    uint256[4] internal BASE_SCORES = [uint256(8000), 8600, 8300, 6000];

    address[] internal rProps;
    address[] internal rVoters;
    address internal rOutlier;
    address internal rMissing;

    function _playReferenceRound1() internal {
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        assertEq(props.length, 3, "proposers");
        assertEq(voters.length, 7, "voters");
        rProps = props;
        rVoters = voters;
        _proposeAll(1, props);
        _warpToCommit(1);
        for (uint256 i = 0; i < 5; ++i) {
            uint256 d = 20 * i;
            _commitVote(
                1,
                voters[i],
                _scores(BASE_SCORES[0] + d, BASE_SCORES[1] + d, BASE_SCORES[2] + d, BASE_SCORES[3] + d)
            );
        }
        rOutlier = voters[5];
        _commitVote(1, rOutlier, _scores(2000, 2000, 2000, 2000));
        rMissing = voters[6];
        _commitVote(1, rMissing, _scores(8000, 8000, 8000, 8000));
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, rMissing);
    }

    // ================================================================ join

    function test_join_pullsStakeWithTransferFrom() public {
        address p = actors[0];
        uint256 before = token.balanceOf(p);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Joined(p, 250e18);
        _join(p, 250e18, false);
        assertEq(token.balanceOf(p), before - 250e18, "payer balance");
        assertEq(token.balanceOf(address(task)), POOL + 250e18, "task balance");
        assertEq(_stake(p), 250e18, "stake");
        assertEq(task.totalStaked(), 250e18, "totalStaked");
        assertTrue(task.isParticipant(p), "participant");
        assertEq(task.indexOf(p), 0, "index");
        assertEq(task.participantAt(0), p, "participantAt");
        (,, uint256 participants) = task.status();
        assertEq(participants, 1, "count");
        _assertConserved();
    }

    function test_join_acceptsExactlyTheMinimum() public {
        _join(actors[0], MIN_STAKE, true);
        assertEq(_stake(actors[0]), MIN_STAKE);
        (uint256 round, bytes28 commit) = task.seedCommitOf(actors[0]);
        assertEq(round, 1, "seed round");
        assertEq(bytes32(commit), bytes32(bytes28(_seedCommit(actors[0], 1))), "seed commit");
    }

    function testFuzz_join_revertsBelowMinimum(uint256 amount) public {
        amount = bound(amount, 0, MIN_STAKE - 1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.StakeBelowMinimum.selector, amount, MIN_STAKE));
        vm.prank(actors[0]);
        task.join(amount, 1, bytes32(0));
    }

    function test_join_revertsOnDust() public {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.StakeBelowMinimum.selector, 1, MIN_STAKE));
        vm.prank(actors[0]);
        task.join(1, 1, bytes32(0));
    }

    function test_join_revertsWhenAlreadyJoined() public {
        _join(actors[0], MIN_STAKE, false);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ParticipantAlreadyJoined.selector, actors[0]));
        vm.prank(actors[0]);
        task.join(MIN_STAKE, 1, bytes32(0));
    }

    function test_join_revertsWhenTaskFull() public {
        _joinActors(10);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.TaskFull.selector, uint32(10)));
        vm.prank(actors[10]);
        task.join(MIN_STAKE, 1, bytes32(0));
    }

    function test_join_revertsWithoutAllowance() public {
        address p = actors[0];
        vm.prank(p);
        token.approve(address(task), MIN_STAKE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(task), MIN_STAKE - 1, MIN_STAKE
            )
        );
        vm.prank(p);
        task.join(MIN_STAKE, 1, bytes32(0));
    }

    function test_join_revertsAfterTaskEnded() public {
        _openRound1(3);
        _finishTask();
        vm.expectRevert(
            abi.encodeWithSelector(IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.Task, block.timestamp, 0, block.timestamp)
        );
        vm.prank(actors[5]);
        task.join(MIN_STAKE, 1, bytes32(0));
    }

    function test_join_withSeedCommitAfterRevealOpensReverts() public {
        vm.warp(task.enrolEnd());
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.SeedCommit, block.timestamp, 0, task.enrolEnd()
            )
        );
        vm.prank(actors[0]);
        task.join(MIN_STAKE, 1, _seedCommit(actors[0], 1));
    }

    // ================================================================ stakeMore

    function test_stakeMore_addsStake() public {
        _join(actors[0], MIN_STAKE, false);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.StakeAdded(actors[0], 50e18, MIN_STAKE + 50e18);
        vm.prank(actors[0]);
        task.stakeMore(50e18);
        assertEq(_stake(actors[0]), MIN_STAKE + 50e18);
        assertEq(task.totalStaked(), MIN_STAKE + 50e18);
        _assertConserved();
    }

    function test_stakeMore_revertsOnZero() public {
        _join(actors[0], MIN_STAKE, false);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.StakeBelowMinimum.selector, 0, 1));
        vm.prank(actors[0]);
        task.stakeMore(0);
    }

    function test_stakeMore_revertsForNonParticipant() public {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ParticipantUnknown.selector, actors[0]));
        vm.prank(actors[0]);
        task.stakeMore(1e18);
    }

    // ================================================================ leave

    function test_leave_refundsDuringEnrolment() public {
        address p = actors[0];
        uint256 before = token.balanceOf(p);
        _join(p, 300e18, true);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Left(p, 270e18, 30e18);
        vm.prank(p);
        task.leave();
        assertEq(token.balanceOf(p), before - 30e18, "refund less the fee");
        assertEq(task.totalStaked(), 0, "totalStaked");
        assertFalse(task.isParticipant(p), "still participant");
        (uint256 r, bytes28 c) = task.seedCommitOf(p);
        assertEq(r, 0, "seed round cleared");
        assertEq(bytes32(c), bytes32(0), "seed commit cleared");
        _assertConserved();
        // and may join again
        _join(p, MIN_STAKE, false);
        assertTrue(task.isParticipant(p));
    }

    function test_leave_movesLastJoinerIntoFreedIndex() public {
        _joinActors(3);
        vm.prank(actors[0]);
        task.leave();
        assertEq(task.indexOf(actors[2]), 0, "last joiner moved");
        assertEq(task.participantAt(0), actors[2]);
        assertEq(task.indexOf(actors[1]), 1);
        (,, uint256 participants) = task.status();
        assertEq(participants, 2);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ParticipantUnknown.selector, actors[0]));
        task.indexOf(actors[0]);
    }

    function test_leave_revertsAfterEnrolment() public {
        _join(actors[0], MIN_STAKE, false);
        vm.warp(task.enrolEnd());
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.Enrolment, block.timestamp, 0, task.enrolEnd()
            )
        );
        vm.prank(actors[0]);
        task.leave();
    }

    function test_leave_revertsAfterStart() public {
        _openRound1(3);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.Enrolment, block.timestamp, 0, task.enrolEnd()
            )
        );
        vm.prank(actors[0]);
        task.leave();
    }

    function test_leave_revertsForNonParticipant() public {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ParticipantUnknown.selector, actors[0]));
        vm.prank(actors[0]);
        task.leave();
    }

    // ================================================================ randomness

    function test_revealSeed_acceptsMatchingSecret() public {
        _joinActors(2);
        _warpToSeedReveal(1);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.SeedRevealed(actors[0], 1);
        _revealSeed(actors[0], 1);
        (, bytes28 c) = task.seedCommitOf(actors[0]);
        assertEq(bytes32(c), bytes32(0), "commit consumed");
    }

    function test_revealSeed_revertsOnMismatch() public {
        _joinActors(2);
        _warpToSeedReveal(1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.SeedRevealMismatch.selector, actors[0], 1));
        vm.prank(actors[0]);
        task.revealSeed(1, keccak256("wrong"), bytes32(0));
    }

    function test_revealSeed_revertsWithoutCommit() public {
        _join(actors[0], MIN_STAKE, false);
        _warpToSeedReveal(1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.SeedCommitMissing.selector, actors[0], 1));
        vm.prank(actors[0]);
        task.revealSeed(1, _secret(actors[0], 1), bytes32(0));
    }

    function test_revealSeed_revertsBeforeWindow() public {
        _joinActors(1);
        uint256 opens = task.enrolEnd();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.SeedReveal, block.timestamp, opens, opens + PERIOD
            )
        );
        vm.prank(actors[0]);
        task.revealSeed(1, _secret(actors[0], 1), bytes32(0));
    }

    function test_revealSeed_revertsAfterWindow() public {
        _joinActors(1);
        uint256 opens = task.enrolEnd();
        vm.warp(opens + PERIOD);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.SeedReveal, block.timestamp, opens, opens + PERIOD
            )
        );
        vm.prank(actors[0]);
        task.revealSeed(1, _secret(actors[0], 1), bytes32(0));
    }

    function test_revealSeed_revertsForWrongRound() public {
        _joinActors(1);
        _warpToSeedReveal(1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.RoundMismatch.selector, 2, 1));
        vm.prank(actors[0]);
        task.revealSeed(2, _secret(actors[0], 2), bytes32(0));
    }

    function test_revealSeed_commitsForNextRound() public {
        _joinActors(1);
        _warpToSeedReveal(1);
        _revealSeedAndCommitNext(actors[0], 1);
        (uint256 r, bytes28 c) = task.seedCommitOf(actors[0]);
        assertEq(r, 2);
        assertEq(bytes32(c), bytes32(bytes28(_seedCommit(actors[0], 2))));
    }

    function test_commitSeed_revertsInsideRevealWindow() public {
        _join(actors[0], MIN_STAKE, false);
        _warpToSeedReveal(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.SeedCommit, block.timestamp, 0, task.enrolEnd()
            )
        );
        vm.prank(actors[0]);
        task.commitSeed(1, _seedCommit(actors[0], 1));
    }

    function test_commitSeed_revertsWhilePending() public {
        _joinActors(1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.SeedCommitPending.selector, actors[0], 1));
        vm.prank(actors[0]);
        task.commitSeed(2, _seedCommit(actors[0], 2));
    }

    function test_commitSeed_revertsForPastOrUnknownRound() public {
        _join(actors[0], MIN_STAKE, false);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.RoundMismatch.selector, 0, 1));
        vm.prank(actors[0]);
        task.commitSeed(0, bytes32(uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.RoundMismatch.selector, 4, 1));
        vm.prank(actors[0]);
        task.commitSeed(4, bytes32(uint256(1)));
    }

    function test_commitSeed_revertsForNonParticipant() public {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ParticipantUnknown.selector, actors[0]));
        vm.prank(actors[0]);
        task.commitSeed(1, bytes32(uint256(1)));
    }

    function test_slashMissedSeedReveal_slashesAfterWindow() public {
        _joinActors(2);
        _warpToSeedReveal(1);
        _revealSeed(actors[1], 1);
        (, uint256 closes) = task.seedRevealWindow(1);

        // still inside the window: nothing to slash yet
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.SeedCommitMissing.selector, actors[0], 0));
        task.slashMissedSeedReveal(actors[0]);

        vm.warp(closes);
        uint256 slash = MIN_STAKE / 10;
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.SeedRevealMissed(actors[0], 1, slash);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Slashed(actors[0], 1, 4, slash);
        task.slashMissedSeedReveal(actors[0]);
        assertEq(_stake(actors[0]), MIN_STAKE - slash, "stake");
        assertEq(task.rewardPool(), POOL + slash, "pool");
        _assertConserved();

        // once only; a participant who revealed has nothing to slash
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.SeedCommitMissing.selector, actors[0], 0));
        task.slashMissedSeedReveal(actors[0]);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.SeedCommitMissing.selector, actors[1], 0));
        task.slashMissedSeedReveal(actors[1]);
    }

    function test_slashMissedSeedReveal_leavesParticipantIneligible() public {
        _joinActors(3);
        (, uint256 closes) = task.seedRevealWindow(1);
        vm.warp(closes);
        task.slashMissedSeedReveal(actors[0]);
        uint256 stake = MIN_STAKE - MIN_STAKE / 10;
        task.start();
        vm.roll(block.number + 1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ParticipantIneligible.selector, actors[0], stake));
        vm.prank(actors[0]);
        task.commitSeed(2, _seedCommit(actors[0], 2));
        // topping up restores eligibility
        vm.prank(actors[0]);
        task.stakeMore(MIN_STAKE);
        vm.prank(actors[0]);
        task.commitSeed(2, _seedCommit(actors[0], 2));
    }

    function test_commitSeed_slashesStaleCommitBeforeReplacingIt() public {
        _join(actors[0], 2 * MIN_STAKE, true);
        _join(actors[1], MIN_STAKE, false);
        (, uint256 closes) = task.seedRevealWindow(1);
        vm.warp(closes);
        task.start();
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Slashed(actors[0], 1, 4, 2 * MIN_STAKE / 10);
        vm.prank(actors[0]);
        task.commitSeed(2, _seedCommit(actors[0], 2));
        assertEq(_stake(actors[0]), 2 * MIN_STAKE - 2 * MIN_STAKE / 10);
        (uint256 r,) = task.seedCommitOf(actors[0]);
        assertEq(r, 2);
        _assertConserved();
    }

    function test_withdraw_slashesUnrevealedSeedCommit() public {
        _joinActors(3);
        _warpToSeedReveal(1);
        _revealSeed(actors[1], 1);
        _revealSeed(actors[2], 1);
        _start();
        _finishTask();
        address p = actors[0];
        uint256 before = token.balanceOf(p);
        uint256 slash = MIN_STAKE / 10;
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Slashed(p, 1, 4, slash);
        vm.prank(p);
        task.withdraw();
        assertEq(token.balanceOf(p) - before, MIN_STAKE - slash, "paid stake minus slash");
        _assertConserved();
    }

    function test_start_revertsBeforeRevealWindowEnds() public {
        _joinActors(2);
        uint256 opensAt = task.enrolEnd() + PERIOD;
        vm.warp(opensAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.Start, block.timestamp, opensAt, 0)
        );
        task.start();
    }

    function test_start_revertsTwice() public {
        _openRound1(2);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.RoundMismatch.selector, 1, 0));
        task.start();
    }

    // ================================================================ roles

    function testFuzz_roleOf_committeeSizesMatch(uint256 n) public {
        n = bound(n, 2, 10);
        _openRound1(n);
        (uint256 cp, uint256 cv) = task.committeeOf(1);
        uint256 expectP = n - 1 < 3 ? n - 1 : 3;
        assertEq(cp, expectP, "committee proposers");
        assertEq(cv, n - expectP, "committee voters");
        (address[] memory props, address[] memory voters, address[] memory idle) = _rolesOf(1);
        assertEq(props.length, cp, "drawn proposers");
        assertEq(voters.length, cv, "drawn voters");
        assertEq(idle.length, 0, "idle");
        assertEq(task.roundInfo(1).rosterSize, n, "roster");
    }

    function test_roleOf_everyRosterMemberHasARole() public {
        _openRound1(10);
        for (uint256 i = 0; i < 10; ++i) {
            assertTrue(task.roleOf(1, actors[i]) != IAllianceTask.Role.None, "roster member without role");
        }
        assertTrue(task.roleOf(1, actors[11]) == IAllianceTask.Role.None, "outsider has a role");
        assertTrue(task.roleOf(1, address(this)) == IAllianceTask.Role.None, "outsider has a role");
    }

    function test_roleOf_idleWhenVoterCapReached() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.maxVoters = 4;
        c.minVoters = 1;
        _use(_createTask(c, POOL));
        _openRound1(10);
        (address[] memory props, address[] memory voters, address[] memory idle) = _rolesOf(1);
        assertEq(props.length, 3);
        assertEq(voters.length, 4);
        assertEq(idle.length, 3);
    }

    function test_roleOf_singleParticipantIsIdle() public {
        _openRound1(1);
        (uint256 cp, uint256 cv) = task.committeeOf(1);
        assertEq(cp, 0);
        assertEq(cv, 0);
        assertTrue(task.roleOf(1, actors[0]) == IAllianceTask.Role.Idle);
    }

    function test_roleOf_lateJoinerDoesNotChangeRoles() public {
        _openRound1(8);
        IAllianceTask.Role[] memory before = new IAllianceTask.Role[](8);
        for (uint256 i = 0; i < 8; ++i) {
            before[i] = task.roleOf(1, actors[i]);
        }
        bytes32 seed = task.seedOf(1);
        (uint256 cp, uint256 cv) = task.committeeOf(1);

        _join(actors[8], MIN_STAKE, false);
        vm.prank(actors[9]);
        task.join(MIN_STAKE, 2, _seedCommit(actors[9], 2));

        assertTrue(task.roleOf(1, actors[8]) == IAllianceTask.Role.None, "late joiner has a role");
        assertTrue(task.roleOf(1, actors[9]) == IAllianceTask.Role.None, "late joiner has a role");
        assertEq(task.seedOf(1), seed, "seed changed");
        (uint256 cp2, uint256 cv2) = task.committeeOf(1);
        assertEq(cp2, cp);
        assertEq(cv2, cv);
        for (uint256 i = 0; i < 8; ++i) {
            assertTrue(task.roleOf(1, actors[i]) == before[i], "role changed");
        }
        // the late joiner cannot act in round 1
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.RoleMismatch.selector,
                actors[8],
                1,
                IAllianceTask.Role.Proposer,
                IAllianceTask.Role.None
            )
        );
        vm.prank(actors[8]);
        task.propose(1, keccak256("u"), MODEL0, 1, "");
    }

    function test_roleOf_previousRoundStaysReadable() public {
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _propose(1, props[0], keccak256("u"));
        bytes32 seed1 = task.seedOf(1);
        _settle(1);
        assertEq(task.seedOf(1), seed1, "round 1 seed changed when round 2 opened");
        for (uint256 i = 0; i < props.length; ++i) {
            assertTrue(task.roleOf(1, props[i]) == IAllianceTask.Role.Proposer);
        }
        for (uint256 i = 0; i < voters.length; ++i) {
            assertTrue(task.roleOf(1, voters[i]) == IAllianceTask.Role.Voter);
        }
        assertTrue(task.seedOf(2) != seed1, "round 2 reuses round 1's seed");
    }

    function test_seedOf_fixedWhenTheRoundOpens() public {
        _openRound1(10);
        bytes32 seed = task.seedOf(1);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        _propose(1, p, keccak256("u"));
        vm.roll(block.number + 1000);
        assertEq(task.seedOf(1), seed, "cached seed drifted");
    }

    // ================================================================ propose

    function test_propose_recordsProposal() public {
        _openRound1(10);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        bytes32 h = keccak256("update");
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Proposed(1, p, 0, h, MODEL0, SAMPLES, "ipfs://update");
        _propose(1, p, h);
        assertEq(task.proposalHash(1, 0), h);
        assertEq(task.roundInfo(1).numProposals, 1);
        assertEq(task.seatOf(p, 1).proposalIndex1, 1);
    }

    function test_propose_revertsForVoter() public {
        _openRound1(10);
        address v = _firstWithRole(1, IAllianceTask.Role.Voter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.RoleMismatch.selector, v, 1, IAllianceTask.Role.Proposer, IAllianceTask.Role.Voter
            )
        );
        vm.prank(v);
        task.propose(1, keccak256("u"), MODEL0, 1, "");
    }

    function test_propose_revertsTwice() public {
        _openRound1(10);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        _propose(1, p, keccak256("u"));
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ProposalDuplicate.selector, p, 1));
        vm.prank(p);
        task.propose(1, keccak256("u2"), MODEL0, 1, "");
    }

    function test_propose_revertsOnZeroHash() public {
        _openRound1(10);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        vm.expectRevert(IAllianceTask.ProposalEmpty.selector);
        vm.prank(p);
        task.propose(1, bytes32(0), MODEL0, 1, "");
    }

    function test_propose_revertsAfterWindow() public {
        _openRound1(10);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        uint256 start_ = task.roundInfo(1).start;
        vm.warp(start_ + PERIOD);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.Propose, block.timestamp, start_, start_ + PERIOD
            )
        );
        vm.prank(p);
        task.propose(1, keccak256("u"), MODEL0, 1, "");
    }

    function test_propose_revertsForWrongRound() public {
        _openRound1(10);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.RoundMismatch.selector, 2, 1));
        vm.prank(p);
        task.propose(2, keccak256("u"), MODEL0, 1, "");
    }

    function test_propose_revertsWhenIneligible() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.slashBps = 5000;
        _use(_createTask(c, POOL));
        _joinActors(10); // every actor commits for round 1 and nobody reveals
        (, uint256 closes) = task.seedRevealWindow(1);
        vm.warp(closes);
        task.start();
        vm.roll(block.number + 1);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        task.slashMissedSeedReveal(p);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.ParticipantIneligible.selector, p, MIN_STAKE / 2));
        vm.prank(p);
        task.propose(1, keccak256("u"), MODEL0, 1, "");
    }

    // ================================================================ votes

    function test_commitVote_revertsForProposer() public {
        _openRound1(10);
        address p = _firstWithRole(1, IAllianceTask.Role.Proposer);
        _warpToCommit(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.RoleMismatch.selector, p, 1, IAllianceTask.Role.Voter, IAllianceTask.Role.Proposer
            )
        );
        vm.prank(p);
        task.commitVote(1, keccak256("c"));
    }

    function test_commitVote_revertsForOutsider() public {
        _openRound1(10);
        _warpToCommit(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.RoleMismatch.selector,
                actors[11],
                1,
                IAllianceTask.Role.Voter,
                IAllianceTask.Role.None
            )
        );
        vm.prank(actors[11]);
        task.commitVote(1, keccak256("c"));
    }

    function test_commitVote_revertsOutsideWindow() public {
        _openRound1(10);
        address v = _firstWithRole(1, IAllianceTask.Role.Voter);
        (uint256 proposeEnd, uint256 commitEnd,) = task.deadlines(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.VoteCommit, block.timestamp, proposeEnd, commitEnd
            )
        );
        vm.prank(v);
        task.commitVote(1, keccak256("c"));
        vm.warp(commitEnd);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.VoteCommit, block.timestamp, proposeEnd, commitEnd
            )
        );
        vm.prank(v);
        task.commitVote(1, keccak256("c"));
    }

    function test_commitVote_revertsOnDuplicate() public {
        _openRound1(10);
        address v = _firstWithRole(1, IAllianceTask.Role.Voter);
        _warpToCommit(1);
        _commitVote(1, v, _scores(8000));
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteDuplicate.selector, v, 1));
        vm.prank(v);
        task.commitVote(1, keccak256("c"));
    }

    function _oneProposalOneVote() internal returns (address v, bytes memory scores, bytes32 salt) {
        // the voter attests the initial model (MODEL0): nothing is pending in round 1
        _openRound1(10);
        _propose(1, _firstWithRole(1, IAllianceTask.Role.Proposer), keccak256("u"));
        v = _firstWithRole(1, IAllianceTask.Role.Voter);
        _warpToCommit(1);
        scores = _scores(8000, 8100);
        salt = _salt(v, 1);
        _commitVote(1, v, scores);
    }

    function test_revealVote_acceptsCommittedScores() public {
        (address v, bytes memory scores, bytes32 salt) = _oneProposalOneVote();
        _warpToVoteReveal(1);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.VoteRevealed(1, v, scores, MODEL0, salt);
        vm.prank(v);
        task.revealVote(1, scores, MODEL0, salt);
        // no shared counter is written by a reveal (settlement counts them): the seat says it
        assertEq(task.roundInfo(1).numVoteReveals, 0);
        assertTrue(task.seatOf(v, 1).voteRevealed);
    }

    function test_revealVote_revertsOnMismatch() public {
        (address v, bytes memory scores,) = _oneProposalOneVote();
        _warpToVoteReveal(1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteRevealMismatch.selector, v, 1));
        vm.prank(v);
        task.revealVote(1, scores, MODEL0, keccak256("other salt"));
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteRevealMismatch.selector, v, 1));
        vm.prank(v);
        task.revealVote(1, _scores(8000, 8101), MODEL0, _salt(v, 1));
        // another attestation than the committed one
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteRevealMismatch.selector, v, 1));
        vm.prank(v);
        task.revealVote(1, scores, keccak256("another model"), _salt(v, 1));
    }

    function test_revealVote_revertsOnWrongLength() public {
        (address v,, bytes32 salt) = _oneProposalOneVote();
        _warpToVoteReveal(1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteScoresLength.selector, 2, 4));
        vm.prank(v);
        task.revealVote(1, _scores(8000), MODEL0, salt);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteScoresLength.selector, 6, 4));
        vm.prank(v);
        task.revealVote(1, _scores(8000, 8000, 8000), MODEL0, salt);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteScoresLength.selector, 3, 4));
        vm.prank(v);
        task.revealVote(1, hex"1f401f", MODEL0, salt);
    }

    function test_revealVote_revertsOnScoreAboveMax() public {
        (address v,, bytes32 salt) = _oneProposalOneVote();
        _warpToVoteReveal(1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteScoreOutOfRange.selector, 1, 10_001));
        vm.prank(v);
        task.revealVote(1, _scores(10_000, 10_001), MODEL0, salt);
    }

    function test_revealVote_revertsOutsideWindow() public {
        (address v, bytes memory scores, bytes32 salt) = _oneProposalOneVote();
        (, uint256 commitEnd, uint256 revealEnd) = task.deadlines(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.VoteReveal, block.timestamp, commitEnd, revealEnd
            )
        );
        vm.prank(v);
        task.revealVote(1, scores, MODEL0, salt);
        vm.warp(revealEnd);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.VoteReveal, block.timestamp, commitEnd, revealEnd
            )
        );
        vm.prank(v);
        task.revealVote(1, scores, MODEL0, salt);
    }

    function test_revealVote_revertsWithoutCommitAndTwice() public {
        (address v, bytes memory scores, bytes32 salt) = _oneProposalOneVote();
        _warpToVoteReveal(1);
        address other = actors[11];
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteNotCommitted.selector, other, 1));
        vm.prank(other);
        task.revealVote(1, scores, MODEL0, salt);
        vm.prank(v);
        task.revealVote(1, scores, MODEL0, salt);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteAlreadyRevealed.selector, v, 1));
        vm.prank(v);
        task.revealVote(1, scores, MODEL0, salt);
    }

    // ================================================================ settle

    function test_settle_fullRound() public {
        _playReferenceRound1();
        uint256 slash = MIN_STAKE / 10;
        uint256 poolShare = POOL / 3;
        uint256 budget = poolShare + 3 * slash;
        uint256 voterBudget = (budget * 3000) / 10_000;
        uint256 proposerBudget = budget - voterBudget;

        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Slashed(rMissing, 1, 1, slash);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Slashed(rProps[2], 1, 2, slash);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Slashed(rOutlier, 1, 3, slash);
        _settle(1);

        IAllianceTask.RoundInfo memory info = task.roundInfo(1);
        assertTrue(info.outcome == IAllianceTask.Outcome.Settled, "outcome");
        assertEq(task.acceptedMask(1), 3, "accepted mask");

        // proposers: geometric weights 2^63 (P0, median paired difference +600) and 2^62
        // (P1, +300); P2 (-2000) is rejected
        uint256 w0 = uint256(1) << 63;
        uint256 w1 = uint256(1) << 62;
        assertEq(_claimable(rProps[0]), (proposerBudget * w0) / (w0 + w1), "P0 reward");
        assertEq(_claimable(rProps[1]), (proposerBudget * w1) / (w0 + w1), "P1 reward");
        assertEq(_claimable(rProps[2]), 0, "rejected proposer rewarded");
        assertEq(_stake(rProps[2]), MIN_STAKE - slash, "rejected proposer stake");
        assertEq(_stake(rProps[0]), MIN_STAKE);

        // voters: voter i scores everything 20 i higher (its own test split): the paired
        // differences cancel that, so all five agree exactly with the medians:
        // weight = 3 proposals * 2 * 10000 - 0 + 1 each
        uint256[5] memory vw;
        uint256 total;
        for (uint256 i = 0; i < 5; ++i) {
            vw[i] = 60_001;
            total += vw[i];
        }
        uint256 credited = _claimable(rProps[0]) + _claimable(rProps[1]);
        for (uint256 i = 0; i < 5; ++i) {
            uint256 expected = (voterBudget * vw[i]) / total;
            assertEq(_claimable(rVoters[i]), expected, "voter reward");
            assertEq(_stake(rVoters[i]), MIN_STAKE);
            credited += expected;
        }
        assertEq(_claimable(rOutlier), 0, "outlier rewarded");
        assertEq(_stake(rOutlier), MIN_STAKE - slash, "outlier stake");
        assertEq(_claimable(rMissing), 0, "missing rewarded");
        assertEq(_stake(rMissing), MIN_STAKE - slash, "missing stake");

        assertEq(task.totalClaimable(), credited, "totalClaimable");
        assertEq(task.rewardPool(), POOL + 3 * slash - credited, "pool");
        assertEq(task.totalStaked(), 10 * MIN_STAKE - 3 * slash, "totalStaked");
        _assertConserved();

        (uint256 current, bool ended,) = task.status();
        assertEq(current, 2, "next round opened");
        assertFalse(ended);
        assertEq(task.roundInfo(2).start, block.timestamp);
    }

    function test_settle_emitsRoundSettled() public {
        _playReferenceRound1();
        _warpToSettle(1);
        AllianceTask.SettleInput memory input = _settleInput();
        vm.expectEmit(true, true, true, false, address(task));
        emit IAllianceTask.RoundSettled(1, IAllianceTask.Outcome.Settled, 3, 0, 0);
        task.settle(1, input);
    }

    function test_settle_washRoundIsVoid() public {
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        // two of the three proposers propose: three items (baseline, P0, P1)
        _propose(1, props[0], keccak256("u0"));
        _propose(1, props[1], keccak256("u1"));
        _warpToCommit(1);
        // A, B, C judge both proposals 80 points away from D and E (paired differences +80,
        // -80, +80 against 0): MAD 8000 above washMadBps on both proposals, no consensus
        _commitVote(1, voters[0], _scores(0, 8000, 8000)); // A
        _commitVote(1, voters[1], _scores(8000, 0, 0)); // B
        _commitVote(1, voters[2], _scores(0, 8000, 8000)); // C
        _commitVote(1, voters[3], _scores(8000, 8000, 8000));
        _commitVote(1, voters[4], _scores(8000, 8000, 8000));
        _commitVote(1, voters[5], _scores(8000, 8000, 8000)); // never reveals
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, voters[5]);
        uint256 poolBefore = task.rewardPool();
        _settle(1);

        assertTrue(task.roundInfo(1).outcome == IAllianceTask.Outcome.Void, "outcome");
        assertEq(task.acceptedMask(1), 0, "mask");
        assertEq(task.totalClaimable(), 0, "rewards credited");
        uint256 slash = MIN_STAKE / 10;
        assertEq(_stake(voters[5]), MIN_STAKE - slash, "missing reveal not slashed");
        for (uint256 i = 0; i < 5; ++i) {
            assertEq(_stake(voters[i]), MIN_STAKE, "revealed voter slashed");
        }
        assertEq(_stake(props[0]), MIN_STAKE);
        assertEq(_stake(props[1]), MIN_STAKE);
        assertEq(task.rewardPool(), poolBefore + slash, "pool");
        _assertConserved();
    }

    function test_settle_dispersedScoresAreVoid() public {
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _propose(1, props[0], keccak256("u0"));
        _warpToCommit(1);
        // paired differences -20, 0, +20 points: MAD 2000 > washMadBps, but nobody is outside
        // the (3 x MAD) band
        _commitVote(1, voters[0], _scores(6000, 4000));
        _commitVote(1, voters[1], _scores(6000, 6000));
        _commitVote(1, voters[2], _scores(6000, 8000));
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        assertTrue(task.roundInfo(1).outcome == IAllianceTask.Outcome.Void, "outcome");
        assertEq(task.totalClaimable(), 0);
        assertEq(task.rewardPool(), POOL);
        assertEq(task.totalStaked(), 10 * MIN_STAKE, "someone was slashed");
    }

    /// Regression: an agreeing voter whose deviation is the maximal 10000 on every item had
    /// weight items * 10000 - distance = 0 and was slashed as an outlier; agreeing voters now
    /// always get a positive weight.
    function test_settle_agreeingVoterAtMaximalDeviationIsNotSlashed() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.minDeviationBps = 10_000; // agreement band covers the whole score range
        _use(_createTask(c, POOL));
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _propose(1, props[0], keccak256("u0"));
        _warpToCommit(1);
        _commitVote(1, voters[0], _scores(10_000, 10_000));
        _commitVote(1, voters[1], _scores(10_000, 10_000));
        _commitVote(1, voters[2], _scores(0, 0)); // deviation 10000 <= band 10000 on both items
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        assertTrue(task.roundInfo(1).outcome == IAllianceTask.Outcome.Settled, "outcome");
        assertEq(_stake(voters[2]), MIN_STAKE, "agreeing voter slashed as outside consensus");
    }

    function test_settle_gasAtFullCommittee() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.maxParticipants = 96;
        c.proposersPerRound = 32;
        c.maxVoters = 64;
        for (uint256 i = actors.length; i < 96; ++i) {
            address a = vm.addr(0xA000 + i);
            actors.push(a);
            token.transfer(a, 1_000e18);
        }
        _use(_createTask(c, POOL));
        _openRound1(96);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        assertEq(props.length, 32);
        assertEq(voters.length, 64);
        _proposeAll(1, props);
        _warpToCommit(1);
        uint256[] memory s = new uint256[](33);
        for (uint256 v = 0; v < voters.length; ++v) {
            for (uint256 i = 0; i < 33; ++i) {
                s[i] = 8000 + ((v * 37 + i * 11) % 300);
            }
            _commitVote(1, voters[v], _packScores(s));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _warpToSettle(1);
        AllianceTask.SettleInput memory input = _settleInput();
        uint256 before = gasleft();
        task.settle(1, input);
        uint256 used = before - gasleft();
        emit log_named_uint("settle gas, 32 proposals x 64 voters", used);
        assertLt(used, 15_000_000); // half a 30M block for the largest committee allowed
        assertTrue(task.roundInfo(1).outcome == IAllianceTask.Outcome.Settled);
        _assertConserved();
    }

    function test_settle_tooFewRevealsIsVoid() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.minVoters = 3;
        _use(_createTask(c, POOL));
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _propose(1, props[0], keccak256("u0"));
        _warpToCommit(1);
        _commitVote(1, voters[0], _scores(8000, 8000));
        _commitVote(1, voters[1], _scores(8000, 8000));
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        assertTrue(task.roundInfo(1).outcome == IAllianceTask.Outcome.Void);
        assertEq(task.totalClaimable(), 0);
        assertEq(task.rewardPool(), POOL);
    }

    function test_settle_noRevealsIsVoid() public {
        _openRound1(10);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _propose(1, props[0], keccak256("u0"));
        _warpToCommit(1);
        _commitVote(1, voters[0], _scores(8000, 8000));
        _settle(1);
        assertTrue(task.roundInfo(1).outcome == IAllianceTask.Outcome.Void);
        assertEq(_stake(voters[0]), MIN_STAKE - MIN_STAKE / 10, "missing reveal");
        _assertConserved();
    }

    function test_settle_emptyRound() public {
        _openRound1(10);
        (, address[] memory voters,) = _rolesOf(1);
        _warpToCommit(1);
        _commitVote(1, voters[0], _scores(8000));
        _commitVote(1, voters[1], _scores(8000));
        _warpToVoteReveal(1);
        _revealVote(1, voters[0]);
        _settle(1);
        assertTrue(task.roundInfo(1).outcome == IAllianceTask.Outcome.Empty, "outcome");
        assertEq(task.totalClaimable(), 0, "credited");
        assertEq(_stake(voters[0]), MIN_STAKE);
        assertEq(_stake(voters[1]), MIN_STAKE - MIN_STAKE / 10, "missing reveal");
        assertEq(task.rewardPool(), POOL + MIN_STAKE / 10);
        _assertConserved();
    }

    function test_settle_revertsTwice() public {
        _playReferenceRound1();
        _warpToSettle(1);
        AllianceTask.SettleInput memory input = _settleInput();
        task.settle(1, input);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.RoundMismatch.selector, 1, 2));
        task.settle(1, input);
    }

    function test_settle_revertsTwiceOnLastRound() public {
        _openRound1(3);
        _settle(1);
        _settle(2);
        _warpToSettle(3);
        AllianceTask.SettleInput memory empty;
        task.settle(3, empty);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.RoundAlreadySettled.selector, 3));
        task.settle(3, empty);
    }

    function test_settle_revertsBeforeDeadline() public {
        _playReferenceRound1();
        (,, uint256 revealEnd) = task.deadlines(1);
        AllianceTask.SettleInput memory input = _settleInput();
        vm.expectRevert(
            abi.encodeWithSelector(IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.Settle, block.timestamp, revealEnd, 0)
        );
        task.settle(1, input);
    }

    function test_settle_revertsBeforeStart() public {
        AllianceTask.SettleInput memory empty;
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.RoundMismatch.selector, 1, 0));
        task.settle(1, empty);
    }

    function _expectInvalid(AllianceTask.SettleInput memory input, IAllianceTask.SettleField what, uint256 index) internal {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.SettlementInputInvalid.selector, what, index));
        task.settle(1, input);
    }

    function test_settle_revertsOnInvalidInput() public {
        _playReferenceRound1();
        _warpToSettle(1);
        AllianceTask.SettleInput memory good = _settleInput();
        AllianceTask.SettleInput memory bad;

        // proposers out of index order
        bad = _settleInput();
        (bad.proposers[0], bad.proposers[1]) = (bad.proposers[1], bad.proposers[0]);
        _expectInvalid(bad, IAllianceTask.SettleField.Proposers, 0);
        // a proposer omitted
        bad = _settleInput();
        bad.proposers = new address[](2);
        _expectInvalid(bad, IAllianceTask.SettleField.Proposers, 0);
        // a non-proposer in the proposer list
        bad = _settleInput();
        bad.proposers[2] = rVoters[0];
        _expectInvalid(bad, IAllianceTask.SettleField.Proposers, 2);

        // revealed voters not ascending
        bad = _settleInput();
        (bad.voters[0], bad.voters[1]) = (bad.voters[1], bad.voters[0]);
        (bad.scores[0], bad.scores[1]) = (bad.scores[1], bad.scores[0]);
        (bad.attestations[0], bad.attestations[1]) = (bad.attestations[1], bad.attestations[0]);
        (bad.salts[0], bad.salts[1]) = (bad.salts[1], bad.salts[0]);
        _expectInvalid(bad, IAllianceTask.SettleField.VotersOrder, 1);
        // a revealed voter omitted: revealed + missing no longer count every commit
        bad = _settleInput();
        bad.voters = _drop(good.voters, 0);
        _expectInvalid(bad, IAllianceTask.SettleField.Missing, 0);
        // scores that were not the revealed ones
        bad = _settleInput();
        bad.scores[2] = _scores(10_000, 10_000, 10_000, 10_000);
        _expectInvalid(bad, IAllianceTask.SettleField.Scores, 2);
        bad = _settleInput();
        bad.salts[3] = bytes32(0);
        _expectInvalid(bad, IAllianceTask.SettleField.Scores, 3);
        // an attestation that was not the revealed one, or one attestation too few
        bad = _settleInput();
        bad.attestations[1] = keccak256("poisoned");
        _expectInvalid(bad, IAllianceTask.SettleField.Scores, 1);
        bad = _settleInput();
        bad.attestations = new bytes32[](good.attestations.length - 1);
        _expectInvalid(bad, IAllianceTask.SettleField.Attestations, 0);
        // the missing voter listed as revealed (replacing a real one, order kept)
        bad = _settleInput();
        bad.voters[0] = address(1);
        _expectInvalid(bad, IAllianceTask.SettleField.Voters, 0);

        // the committed-but-unrevealed voter omitted, or a revealed one listed as missing
        bad = _settleInput();
        bad.missing = new address[](0);
        _expectInvalid(bad, IAllianceTask.SettleField.Missing, 0);
        bad = _settleInput();
        bad.missing[0] = good.voters[0];
        _expectInvalid(bad, IAllianceTask.SettleField.Missing, 0);

        // hints: wrong length, a wrong median, a wrong deviation
        bad = _settleInput();
        bad.hints = bytes.concat(bad.hints, hex"0000");
        _expectInvalid(bad, IAllianceTask.SettleField.Hints, 3); // 3 proposals: 3 x 8 bytes
        bad = _settleInput();
        bad.hints[8 + 1] = bytes1(uint8(bad.hints[8 + 1]) ^ 0x01); // proposal 1, lower middle value
        _expectInvalid(bad, IAllianceTask.SettleField.Hints, 1);
        bad = _settleInput();
        bad.hints[16 + 7] = bytes1(uint8(bad.hints[16 + 7]) ^ 0x01); // proposal 2, upper middle deviation
        _expectInvalid(bad, IAllianceTask.SettleField.Hints, 2);

        // the untouched input settles
        task.settle(1, good);
    }

    function _drop(address[] memory a, uint256 index) internal pure returns (address[] memory out) {
        out = new address[](a.length - 1);
        for (uint256 i = 0; i < a.length; ++i) {
            if (i < index) out[i] = a[i];
            else if (i > index) out[i - 1] = a[i];
        }
    }

    function test_settle_finalRoundEndsTask() public {
        _openRound1(3);
        _settle(1);
        _settle(2);
        _warpToSettle(3);
        AllianceTask.SettleInput memory empty;
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.TaskEnded(block.timestamp);
        task.settle(3, empty);
        (uint256 current, bool ended,) = task.status();
        assertEq(current, 3);
        assertTrue(ended);
    }

    function test_settle_poolShareSpreadsOverRemainingRounds() public {
        _playReferenceRound1();
        _settle(1);
        uint256 pool2 = task.rewardPool();
        _settle(2); // empty round: the pool carries over
        assertEq(task.rewardPool(), pool2);
        // round 3 spends at most the whole remainder
        _playSimpleRound(3, [uint256(8000), 8000, 8000, 8000]);
        assertLe(task.rewardPool(), pool2);
        _assertConserved();
    }

    /// @dev Every proposer proposes and every voter votes `s` (needs round `round` open).
    function _playSimpleRound(uint256 round, uint256[4] memory s) internal {
        (address[] memory props, address[] memory voters,) = _rolesOf(round);
        uint256 n;
        for (uint256 i = 0; i < props.length; ++i) {
            if (_stake(props[i]) >= MIN_STAKE) props[n++] = props[i];
        }
        _shrink(props, n);
        _proposeAll(round, props);
        _warpToCommit(round);
        uint256[] memory scores = new uint256[](props.length + 1);
        for (uint256 i = 0; i < scores.length; ++i) {
            scores[i] = s[i];
        }
        for (uint256 i = 0; i < voters.length; ++i) {
            if (_stake(voters[i]) < MIN_STAKE) continue; // slashed below the minimum: ineligible
            _commitVote(round, voters[i], _packScores(scores));
        }
        _warpToVoteReveal(round);
        _revealAllVotesExcept(round, address(0));
        _settle(round);
    }

    // ================================================================ rewards

    function test_claim_paysExactlyCredited() public {
        _playReferenceRound1();
        _settle(1);
        address p = rProps[0];
        uint256 owed = _claimable(p);
        assertGt(owed, 0);
        uint256 before = token.balanceOf(p);
        uint256 totalBefore = task.totalClaimable();
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Claimed(p, owed);
        vm.prank(p);
        task.claim();
        assertEq(token.balanceOf(p) - before, owed, "paid");
        assertEq(_claimable(p), 0);
        assertEq(task.totalClaimable(), totalBefore - owed);
        _assertConserved();
    }

    function test_claim_revertsTwice() public {
        _playReferenceRound1();
        _settle(1);
        address p = rVoters[0];
        vm.prank(p);
        task.claim();
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.NothingToPay.selector, p));
        vm.prank(p);
        task.claim();
    }

    function test_claim_revertsWithNothingCredited() public {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.NothingToPay.selector, actors[0]));
        vm.prank(actors[0]);
        task.claim();
    }

    /// @dev Plays one round on a task with `rule`, P_i scored `pScores[i]` by every voter, and
    /// returns the proposers (in proposal order) and their credits.
    function _rewardRound(IAllianceTask.RewardRule rule, uint256[3] memory pScores, uint256[3] memory extraStake)
        internal
        returns (address[] memory props, uint256[3] memory credit)
    {
        return _scoredRound(rule, 8000, pScores, extraStake);
    }

    /// @dev One full round with every voter scoring the baseline `baseline` and the proposals
    /// `pScores`; proposer i adds `extraStake[i]` before the round opens; returns the proposers
    /// and their credits.
    function _scoredRound(
        IAllianceTask.RewardRule rule,
        uint256 baseline,
        uint256[3] memory pScores,
        uint256[3] memory extraStake
    ) internal returns (address[] memory props, uint256[3] memory credit) {
        return _scoredRoundTopUp(rule, baseline, pScores, extraStake, false);
    }

    /// @dev As `_scoredRound`; the top-ups happen after round 1 opened when `afterOpen`.
    function _scoredRoundTopUp(
        IAllianceTask.RewardRule rule,
        uint256 baseline,
        uint256[3] memory pScores,
        uint256[3] memory extraStake,
        bool afterOpen
    ) internal returns (address[] memory props, uint256[3] memory credit) {
        IAllianceTask.TaskConfig memory c = _config();
        c.rewardRule = rule;
        return _scoredRoundIn(c, baseline, pScores, extraStake, afterOpen);
    }

    /// @dev As `_scoredRoundTopUp`, on a task created with the configuration `c`.
    function _scoredRoundIn(
        IAllianceTask.TaskConfig memory c,
        uint256 baseline,
        uint256[3] memory pScores,
        uint256[3] memory extraStake,
        bool afterOpen
    ) internal returns (address[] memory props, uint256[3] memory credit) {
        _use(_createTask(c, POOL));
        _joinActors(10);
        _revealSeedsFor(1);
        // the roles follow from the revealed secrets alone: the proposers are known before the start
        address[] memory predicted = _predictedProposers1(10, _predictedSeed1(10));
        if (!afterOpen) _topUp(predicted, extraStake);
        _start();
        address[] memory voters;
        (props, voters,) = _rolesOf(1);
        assertEq(props, predicted, "predicted proposers");
        if (afterOpen) _topUp(props, extraStake);
        _proposeAll(1, props);
        _warpToCommit(1);
        for (uint256 i = 0; i < voters.length; ++i) {
            _commitVote(1, voters[i], _scores(baseline, pScores[0], pScores[1], pScores[2]));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        for (uint256 i = 0; i < 3; ++i) {
            credit[i] = _claimable(props[i]);
        }
        _assertConserved();
    }

    function _topUp(address[] memory props, uint256[3] memory extraStake) internal {
        for (uint256 i = 0; i < 3; ++i) {
            if (extraStake[i] > 0) {
                vm.prank(props[i]);
                task.stakeMore(extraStake[i]);
            }
        }
    }

    function _proposerBudget() internal pure returns (uint256) {
        uint256 budget = POOL / 3;
        return budget - (budget * 3000) / 10_000;
    }

    function test_rewards_stakeRuleIsProportionalToStake() public {
        (, uint256[3] memory credit) = _rewardRound(
            IAllianceTask.RewardRule.Stake, [uint256(8100), 8600, 8300], [uint256(0), 100e18, 200e18]
        );
        uint256 pb = _proposerBudget();
        assertEq(credit[0], (pb * 100e18) / 600e18, "stake 100");
        assertEq(credit[1], (pb * 200e18) / 600e18, "stake 200");
        assertEq(credit[2], (pb * 300e18) / 600e18, "stake 300");
        assertGt(credit[2], credit[1]);
        assertGt(credit[1], credit[0]);
    }

    /// Finding (issue 12): stake added while the round is open does not count toward that
    /// round's stake-rule weight; a proposer topping up after the round opened is credited
    /// exactly as without the top-up (and less than one who staked before the round opened).
    function test_stakeMore_topUpDuringRoundEarnsNoStakeReward(uint256 extra) public {
        extra = bound(extra, 1, 3_000e18);
        uint256[3] memory pScores = [uint256(8100), 8600, 8300];
        (, uint256[3] memory plain) =
            _scoredRoundTopUp(IAllianceTask.RewardRule.Stake, 8000, pScores, [uint256(0), 0, 0], false);
        (address[] memory props, uint256[3] memory late) =
            _scoredRoundTopUp(IAllianceTask.RewardRule.Stake, 8000, pScores, [uint256(0), 0, extra], true);
        assertEq(_stake(props[2]), MIN_STAKE + extra, "top-up not booked");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(late[i], plain[i], "a top-up during the round changed the credit");
        }
        (, uint256[3] memory early) =
            _scoredRoundTopUp(IAllianceTask.RewardRule.Stake, 8000, pScores, [uint256(0), 0, extra], false);
        uint256 pb = _proposerBudget();
        assertEq(early[2], (pb * (MIN_STAKE + extra)) / (3 * MIN_STAKE + extra), "stake before the round");
        assertGt(early[2], late[2]);
    }

    function test_rewards_geometricRuleHalvesPerRank() public {
        (, uint256[3] memory credit) = _rewardRound(
            IAllianceTask.RewardRule.Geometric, [uint256(8100), 8600, 8300], [uint256(0), 0, 0]
        );
        uint256 pb = _proposerBudget();
        // ranks: P1 (8600) 0, P2 (8300) 1, P0 (8100) 2 -> weights 4 : 2 : 1
        assertEq(credit[1], (pb * 4) / 7, "rank 0");
        assertEq(credit[2], (pb * 2) / 7, "rank 1");
        assertEq(credit[0], (pb * 1) / 7, "rank 2");
    }

    function test_rewards_geometricRuleBreaksTiesByProposalIndex() public {
        (, uint256[3] memory credit) = _rewardRound(
            IAllianceTask.RewardRule.Geometric, [uint256(8500), 8500, 8500], [uint256(0), 0, 0]
        );
        assertGt(credit[0], credit[1]);
        assertGt(credit[1], credit[2]);
    }

    function test_rewards_softmaxRuleHalvesPerTemperature() public {
        // temperature 100: each 100 bps below the best halves the weight
        (, uint256[3] memory credit) = _rewardRound(
            IAllianceTask.RewardRule.Softmax, [uint256(8400), 8600, 8500], [uint256(0), 0, 0]
        );
        uint256 pb = _proposerBudget();
        uint256 total = 1e18 + 5e17 + 25e16;
        assertEq(credit[1], (pb * 1e18) / total, "best");
        assertEq(credit[2], (pb * 5e17) / total, "best - T");
        assertEq(credit[0], (pb * 25e16) / total, "best - 2T");
    }

    function test_rewards_softmaxGivesEqualScoresEqualShares() public {
        (, uint256[3] memory credit) = _rewardRound(
            IAllianceTask.RewardRule.Softmax, [uint256(8500), 8500, 8500], [uint256(0), 0, 0]
        );
        assertEq(credit[0], credit[1]);
        assertEq(credit[1], credit[2]);
    }

    function test_settle_rejectsProposerFarBelowItsPeers() public {
        // all three beat the baseline (8000), but P2 is 800 below the median proposal (8900)
        // and peerToleranceBps is 500: P2 is rejected and slashed
        (address[] memory props, uint256[3] memory credit) = _rewardRound(
            IAllianceTask.RewardRule.Geometric, [uint256(8900), 8900, 8100], [uint256(0), 0, 0]
        );
        assertEq(task.acceptedMask(1), 3, "mask");
        assertEq(credit[2], 0, "laggard credited");
        assertEq(_stake(props[2]), MIN_STAKE - MIN_STAKE / 10, "laggard not slashed");
        assertGt(credit[0], 0);
        assertGt(credit[1], 0);
    }

    /// @dev The default config with accept tolerances inside wider slash tolerances: accept at
    /// >= -200 from the base and >= -500 from the median proposal, slash past -1000 of either.
    function _threeWayConfig() internal pure returns (IAllianceTask.TaskConfig memory c) {
        c = _config();
        c.toleranceBps = 1000;
        c.peerToleranceBps = 1000;
        c.acceptToleranceBps = 200;
        c.acceptPeerToleranceBps = 500;
    }

    /// @dev Under `_threeWayConfig` at baseline 8000: in a round scoring the proposals
    /// `declined`, P0 and P1 are accepted and P2 is declined (no credit, stake kept); in a
    /// round scoring them `slashed`, P2 is slashed.
    function _assertDeclinedThenSlashed(uint256[3] memory declined, uint256[3] memory slashed) internal {
        uint256[3] memory none = [uint256(0), 0, 0];
        (address[] memory props, uint256[3] memory credit) =
            _scoredRoundIn(_threeWayConfig(), 8000, declined, none, false);
        assertEq(task.acceptedMask(1), 3, "mask");
        assertEq(credit[2], 0, "declined proposer credited");
        assertEq(_stake(props[2]), MIN_STAKE, "declined proposer slashed");
        assertGt(credit[0], 0);
        assertGt(credit[1], 0);
        (props, credit) = _scoredRoundIn(_threeWayConfig(), 8000, slashed, none, false);
        assertEq(task.acceptedMask(1), 3, "mask");
        assertEq(credit[2], 0, "rejected proposer credited");
        assertEq(_stake(props[2]), MIN_STAKE - MIN_STAKE / 10, "rejected proposer not slashed");
    }

    function test_settle_declinesWithoutSlashingBetweenTheAcceptAndSlashTolerances() public {
        // P2 at 7500 is 500 below the baseline (past the accept tolerance, 200, within the
        // slash tolerance, 1000) and 900 below the median proposal (8400; within 1000); at
        // 6900 it is 1100 below the baseline: past the slash tolerance
        _assertDeclinedThenSlashed([uint256(8500), 8400, 7500], [uint256(8500), 8400, 6900]);
    }

    function test_settle_declinesWithoutSlashingBetweenThePeerTolerances() public {
        // P2 at 8300 beats the baseline but is 600 below the median proposal (8900): past the
        // accept peer tolerance (500), within the slash peer tolerance (1000); at 7800 it is
        // within 200 of the baseline but 1100 below the median proposal
        _assertDeclinedThenSlashed([uint256(8900), 8900, 8300], [uint256(8900), 8900, 7800]);
    }

    function test_settle_rejectsZeroMedianEvenAtAZeroBaseline() public {
        // an untrained global model can score 0: a proposal the voters scored 0 (missing,
        // tampered, copied or oversized) still clears "baseline - tolerance", and is rejected
        (address[] memory props, uint256[3] memory credit) = _scoredRound(
            IAllianceTask.RewardRule.Geometric, 0, [uint256(0), 1, 1], [uint256(0), 0, 0]
        );
        assertEq(task.acceptedMask(1), 6, "mask");
        assertEq(credit[0], 0, "zero-scored proposal credited");
        assertEq(_stake(props[0]), MIN_STAKE - MIN_STAKE / 10, "zero-scored proposal not slashed");
        assertGt(credit[1], 0);
    }

    function test_rewards_rejectedProposerGetsNothingUnderEveryRule() public {
        for (uint256 rule = 0; rule < 3; ++rule) {
            (, uint256[3] memory credit) = _rewardRound(
                IAllianceTask.RewardRule(rule), [uint256(7000), 8600, 8300], [uint256(0), 0, 0]
            );
            assertEq(credit[0], 0, "rejected proposer credited");
            assertGt(credit[1], credit[2] > 0 ? 0 : 1);
        }
    }

    // ================================================================ aggregates

    // ================================================================ end of task

    function test_withdraw_revertsBeforeEnd() public {
        _openRound1(3);
        vm.expectRevert(IAllianceTask.TaskNotEnded.selector);
        vm.prank(actors[0]);
        task.withdraw();
    }

    function test_withdraw_paysStakeOnceAfterEnd() public {
        _playReferenceRound1();
        _settle(1);
        _finishTask();
        address p = rProps[0];
        uint256 before = token.balanceOf(p);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Withdrawn(p, MIN_STAKE);
        vm.prank(p);
        task.withdraw();
        assertEq(token.balanceOf(p) - before, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.NothingToPay.selector, p));
        vm.prank(p);
        task.withdraw();
        // rewards stay claimable after the stake is withdrawn
        vm.prank(p);
        task.claim();
        _assertConserved();
    }

    function test_withdraw_everyoneThenReclaimEmptiesTask() public {
        _playReferenceRound1();
        _settle(1);
        _finishTask();
        for (uint256 i = 0; i < 10; ++i) {
            vm.startPrank(actors[i]);
            task.withdraw();
            if (_claimable(actors[i]) > 0) task.claim();
            vm.stopPrank();
        }
        uint256 left = task.rewardPool();
        uint256 before = token.balanceOf(creator);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.LeftoverReclaimed(creator, left);
        vm.prank(creator);
        task.reclaimLeftover();
        assertEq(token.balanceOf(creator) - before, left);
        assertEq(token.balanceOf(address(task)), 0, "dust left behind");
        assertEq(task.totalStaked(), 0);
        assertEq(task.totalClaimable(), 0);
        assertEq(task.rewardPool(), 0);
    }

    function test_reclaimLeftover_onlyCreator() public {
        _openRound1(3);
        _finishTask();
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.TaskOnlyCreator.selector, actors[0]));
        vm.prank(actors[0]);
        task.reclaimLeftover();
    }

    function test_reclaimLeftover_revertsBeforeEnd() public {
        _openRound1(3);
        vm.expectRevert(IAllianceTask.TaskNotEnded.selector);
        vm.prank(creator);
        task.reclaimLeftover();
    }

    function test_reclaimLeftover_revertsTwice() public {
        _openRound1(3);
        _finishTask();
        vm.prank(creator);
        task.reclaimLeftover();
        assertEq(task.rewardPool(), 0);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.NothingToPay.selector, creator));
        vm.prank(creator);
        task.reclaimLeftover();
    }

    function test_stakeMore_revertsAfterEnd() public {
        _openRound1(3);
        _finishTask();
        vm.expectRevert(
            abi.encodeWithSelector(IAllianceTask.PhaseClosed.selector, IAllianceTask.Phase.Task, block.timestamp, 0, block.timestamp)
        );
        vm.prank(actors[0]);
        task.stakeMore(1e18);
    }

    // ================================================================ factory

    function test_factory_createsFundedTask() public {
        assertEq(factory.taskCount(), 1);
        assertEq(factory.taskAt(0), address(task));
        assertEq(factory.implementation(), address(impl));
        assertEq(task.rewardPool(), POOL);
        assertEq(token.balanceOf(address(task)), POOL);
        assertEq(task.creator(), creator);
        assertEq(task.factory(), address(factory));
        assertEq(address(task.token()), address(token));
        assertEq(task.enrolEnd(), block.timestamp + PERIOD);
        assertEq(task.config().specHash, keccak256("spec"));
        assertTrue(address(task) != address(impl));
    }

    function test_factory_emitsTaskCreated() public {
        IAllianceTask.TaskConfig memory c = _config();
        vm.startPrank(creator);
        token.approve(address(factory), 1e18);
        vm.expectEmit(false, true, true, true, address(factory));
        emit TaskFactory.TaskCreated(address(0), creator, address(token), c.specHash, 1e18);
        factory.createTask(IERC20(address(token)), c, 1e18);
        vm.stopPrank();
        assertEq(factory.taskCount(), 2);
    }

    function test_factory_revertsOnEmptyPool() public {
        IAllianceTask.TaskConfig memory c = _config();
        vm.expectRevert(TaskFactory.FactoryEmptyRewardPool.selector);
        vm.prank(creator);
        factory.createTask(IERC20(address(token)), c, 0);
    }

    function test_factory_implementationCannotBeInitialized() public {
        IAllianceTask.TaskConfig memory c = _config();
        vm.expectRevert(IAllianceTask.TaskAlreadyInitialized.selector);
        impl.initialize(IERC20(address(token)), address(this), c);
    }

    function test_factory_cloneCannotBeInitializedTwice() public {
        IAllianceTask.TaskConfig memory c = _config();
        vm.expectRevert(IAllianceTask.TaskAlreadyInitialized.selector);
        task.initialize(IERC20(address(token)), address(this), c);
        vm.expectRevert(IAllianceTask.TaskAlreadyInitialized.selector);
        vm.prank(address(factory));
        task.initialize(IERC20(address(token)), address(this), c);
    }

    function test_factory_poolCanOnlyBeBookedOnceByFactory() public {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.TaskOnlyFactory.selector, address(this)));
        task.initializePool(1);
        vm.expectRevert(IAllianceTask.TaskAlreadyFunded.selector);
        vm.prank(address(factory));
        task.initializePool(1);
    }

    function _expectInvalidConfig(IAllianceTask.TaskConfig memory c, IAllianceTask.ConfigField field) internal {
        vm.startPrank(creator);
        token.approve(address(factory), 1e18);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.TaskInvalidConfig.selector, field));
        factory.createTask(IERC20(address(token)), c, 1e18);
        vm.stopPrank();
    }

    function test_factory_rejectsInvalidConfigs() public {
        IAllianceTask.TaskConfig memory c;

        c = _config();
        c.minStake = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.MinStake);
        c = _config();
        c.maxParticipants = 1;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.MaxParticipants);
        c = _config();
        c.proposersPerRound = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.ProposersPerRound);
        c = _config();
        c.proposersPerRound = 33;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.ProposersPerRound);
        c = _config();
        c.maxVoters = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.MaxVoters);
        c = _config();
        c.maxVoters = 65;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.MaxVoters);
        c = _config();
        c.minVoters = 17;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.MinVoters);
        c = _config();
        c.minVoters = 8; // 10 participants - 3 proposers = 7 voters at most
        _expectInvalidConfig(c, IAllianceTask.ConfigField.MinVoters);
        c = _config();
        c.maxSamples = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.MaxSamples);
        c = _config();
        c.rounds = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.Rounds);
        c = _config();
        c.enrolPeriod = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.Period);
        c = _config();
        c.proposePeriod = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.Period);
        c = _config();
        c.commitPeriod = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.Period);
        c = _config();
        c.revealPeriod = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.Period);
        c = _config();
        c.slashBps = 10_001;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.SlashBps);
        c = _config();
        c.voterShareBps = 10_001;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.VoterShareBps);
        c = _config();
        c.toleranceBps = 10_001;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.ToleranceBps);
        c = _config();
        c.peerToleranceBps = 10_001;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.ToleranceBps);
        c = _config();
        c.acceptToleranceBps = c.toleranceBps + 1; // an accept band wider than the slash band
        _expectInvalidConfig(c, IAllianceTask.ConfigField.ToleranceBps);
        c = _config();
        c.acceptPeerToleranceBps = c.peerToleranceBps + 1;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.ToleranceBps);
        c = _config();
        c.rewardRule = IAllianceTask.RewardRule.Softmax;
        c.softmaxTemperatureBps = 0;
        _expectInvalidConfig(c, IAllianceTask.ConfigField.SoftmaxTemperatureBps);

        assertEq(factory.taskCount(), 1, "an invalid task was created");
    }

    function test_factory_acceptsBoundaryConfig() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.maxParticipants = 96; // a full roster: 32 proposers and 64 voters
        c.proposersPerRound = 32;
        c.maxVoters = 64;
        c.minVoters = 64;
        c.maxSamples = type(uint32).max;
        c.slashBps = 10_000;
        c.voterShareBps = 10_000;
        c.toleranceBps = 10_000;
        AllianceTask t = _createTask(c, 1);
        assertEq(t.config().maxVoters, 64);
    }
}
