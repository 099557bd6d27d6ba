// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Base} from "./Base.t.sol";
import {FlockToken} from "../FlockToken.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {IAllianceTask} from "../IAllianceTask.sol";

/// @dev Issue 12: one test per audit finding, named after it.
contract FindingsTest is Base {
    uint256 internal constant SLASH = MIN_STAKE / 10;

    /// The opening block's builder controls prevrandao, coinbase, the block number and hash and
    /// (a little) the timestamp: none of it changes the seed or the roles, which follow from
    /// the revealed secrets alone (round 1 at `start`, round 2 at `settle`).
    function test_openRound_blockBuilderCannotChooseRoles(
        bytes32 randao,
        uint256 blockNo,
        address builder,
        uint256 lateBy,
        bytes32 parentHash
    ) public {
        _joinActors(10);
        _revealSeedsFor(1);
        bytes32 expected = _predictedSeed1(10);
        address[] memory predicted = _predictedProposers1(10, expected);

        (, uint256 closes) = task.seedRevealWindow(1);
        vm.warp(closes + bound(lateBy, 0, 1 days));
        blockNo = bound(blockNo, block.number + 1, 1e12);
        vm.roll(blockNo);
        vm.prevrandao(randao);
        vm.coinbase(builder);
        vm.setBlockhash(blockNo - 1, parentHash);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.RoundOpened(1, block.timestamp, blockNo, expected, 0);
        task.start();
        assertEq(task.seedOf(1), expected, "round 1 seed depends on the block");
        (address[] memory props,,) = _rolesOf(1);
        assertEq(props, predicted, "round 1 proposers depend on the block");

        // round 2 opens in settle: the same block fields there change nothing either
        (, address[] memory voters,) = _rolesOf(1);
        _warpToCommit(1);
        for (uint256 i = 0; i < voters.length; ++i) {
            _commitVote(1, voters[i], _scores(8000));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _warpToSettle(1);
        AllianceTask.SettleInput memory input = _settleInput();
        uint256 snap = vm.snapshotState();
        task.settle(1, input);
        bytes32 seed2 = task.seedOf(2);
        (address[] memory props2,,) = _rolesOf(2);
        vm.revertToState(snap);
        vm.roll(block.number + 1 + (blockNo % 1000));
        vm.prevrandao(keccak256(abi.encode(randao)));
        vm.coinbase(address(uint160(builder) ^ 1));
        vm.setBlockhash(block.number - 1, keccak256(abi.encode(parentHash)));
        vm.warp(block.timestamp + (lateBy % 50));
        task.settle(1, input);
        assertEq(task.seedOf(2), seed2, "round 2 seed depends on the block");
        (address[] memory again,,) = _rolesOf(2);
        assertEq(again, props2, "round 2 proposers depend on the block");
    }

    /// The seed is fixed when the round opens and never expires: 1,000 blocks (and a long
    /// propose period) later, roles are the same and proposals and votes go through.
    function test_seed_doesNotExpireOnFastChains() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.proposePeriod = 2 hours; // 7,200 blocks on a 1 s chain
        _use(_createTask(c, POOL));
        _openRound1(10);
        bytes32 seed = task.seedOf(1);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        uint256 opened = task.roundInfo(1).startBlock;
        vm.roll(opened + 1000);
        vm.warp(block.timestamp + 1000);
        assertEq(task.seedOf(1), seed, "seed changed");
        (address[] memory props2, address[] memory voters2,) = _rolesOf(1);
        assertEq(props2, props, "proposers changed");
        assertEq(voters2, voters, "voters changed");
        _proposeAll(1, props);
        vm.roll(block.number + 5000);
        _warpToCommit(1);
        for (uint256 i = 0; i < voters.length; ++i) {
            _commitVote(1, voters[i], _scores(8000, 8100, 8100, 8100));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        assertTrue(task.roundInfo(1).outcome == IAllianceTask.Outcome.Settled, "outcome");
        assertEq(task.acceptedMask(1), 7);
    }

    /// `join`'s NatSpec: seedCommit = keccak256(abi.encodePacked(bytes32 secret, address
    /// msg.sender, uint256 seedRound)). A commitment computed exactly so reveals.
    function test_join_seedCommitFormulaMatchesNatSpec(bytes32 secret, uint32 round) public {
        round = uint32(bound(round, 1, 3));
        address p = actors[0];
        bytes32 commit = keccak256(abi.encodePacked(secret, p, uint256(round)));
        vm.assume(commit != bytes32(0));
        vm.prank(p);
        task.join(MIN_STAKE, round, commit);
        (uint256 r, bytes28 stored) = task.seedCommitOf(p);
        assertEq(r, round);
        assertEq(bytes32(stored), bytes32(bytes28(commit)), "stored commitment");
        if (round != 1) return; // later rounds reveal once the task runs; round 1 now
        _warpToSeedReveal(1);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.SeedRevealed(p, 1);
        vm.prank(p);
        task.revealSeed(1, secret, bytes32(0));
        // a uint32-packed round (the old, undocumented encoding) would not have matched
        bytes32 narrow = keccak256(abi.encodePacked(secret, p, round));
        assertTrue(narrow != commit, "encodings coincide");
    }

    /// minVoters above what a full roster's committee can reach (maxParticipants minus its
    /// proposers) voids every round: refused at creation. The reachable maximum is accepted.
    function test_validate_refusesUnreachableMinVoters(uint256 participants, uint256 proposers) public {
        IAllianceTask.TaskConfig memory c = _config();
        c.maxParticipants = uint32(bound(participants, 2, 80));
        c.proposersPerRound = uint16(bound(proposers, 1, 32));
        c.maxVoters = 64;
        uint256 full = uint256(c.proposersPerRound) < uint256(c.maxParticipants) - 1
            ? uint256(c.proposersPerRound)
            : uint256(c.maxParticipants) - 1;
        uint256 reachable = c.maxParticipants - full;
        if (reachable > 64) reachable = 64;
        c.minVoters = uint16(reachable + 1);
        vm.startPrank(creator);
        token.approve(address(factory), 2);
        vm.expectRevert(
            abi.encodeWithSelector(IAllianceTask.TaskInvalidConfig.selector, IAllianceTask.ConfigField.MinVoters)
        );
        factory.createTask(token, c, 1);
        c.minVoters = uint16(reachable);
        AllianceTask t = factory.createTask(token, c, 1);
        vm.stopPrank();
        assertEq(t.config().minVoters, reachable);
    }

    /// leave() refunds the stake less slashBps, and the fee goes to the reward pool.
    function test_leave_chargesFee(uint256 amount) public {
        amount = bound(amount, MIN_STAKE, ACTOR_FUNDS);
        address p = actors[0];
        uint256 before = token.balanceOf(p);
        _join(p, amount, true);
        uint256 fee = (amount * 1000) / 10_000;
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.Left(p, amount - fee, fee);
        vm.prank(p);
        task.leave();
        assertEq(before - token.balanceOf(p), fee, "refund != stake - fee");
        assertEq(task.rewardPool(), POOL + fee, "fee not in the pool");
        assertEq(task.totalStaked(), 0);
        _assertConserved();
    }
}

/// @dev MAX_AMOUNT = 2^110 on a token with a supply far above it.
contract AmountCapTest is Base {
    uint256 internal constant MAX = 2 ** 110;

    function _deployToken() internal override returns (IERC20) {
        return IERC20(address(new FlockToken(2 ** 114)));
    }

    function test_initializePool_refusesPoolAbove2pow110() public {
        IAllianceTask.TaskConfig memory c = _config();
        token.transfer(creator, 2 * MAX);
        vm.startPrank(creator);
        token.approve(address(factory), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.AmountTooLarge.selector, MAX + 1));
        factory.createTask(token, c, MAX + 1);
        AllianceTask t = factory.createTask(token, c, MAX);
        vm.stopPrank();
        assertEq(t.rewardPool(), MAX);
    }

    function test_join_refusesStakeAbove2pow110() public {
        address p = actors[0];
        token.transfer(p, 2 * MAX);
        _join(actors[1], MIN_STAKE, false);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.AmountTooLarge.selector, MAX + 1));
        vm.prank(p);
        task.join(MAX - MIN_STAKE + 1, 1, bytes32(0));
        vm.prank(p);
        task.join(MAX - MIN_STAKE, 1, bytes32(0));
        assertEq(task.totalStaked(), MAX);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.AmountTooLarge.selector, MAX + 1));
        vm.prank(actors[1]);
        task.stakeMore(1);
    }

    /// A pool of exactly MAX_AMOUNT and a stake of nearly MAX_AMOUNT: a whole task (round, closing
    /// round) settles, credits fit, and everyone is paid.
    function test_settle_creditsNeverRevertNearTheCap() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.rounds = 1;
        token.transfer(creator, MAX);
        AllianceTask t = _createTask(c, MAX);
        _use(t);
        address whale = actors[0];
        token.transfer(whale, MAX);
        _join(whale, MAX - 9 * MIN_STAKE, true);
        for (uint256 i = 1; i < 10; ++i) {
            _join(actors[i], MIN_STAKE, true);
        }
        _revealSeedsFor(1);
        _start();
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        _proposeAll(1, props);
        _warpToCommit(1);
        for (uint256 i = 0; i < voters.length; ++i) {
            // the whale, if a voter, votes far outside the band (slashed: the budget grows)
            bool wild = voters[i] == whale;
            _commitVote(1, voters[i], wild ? _scores(0, 0, 0, 0) : _scores(8000, 9000, 8900, 8800));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        assertTrue(task.roundInfo(1).outcome == IAllianceTask.Outcome.Settled, "round 1");
        _playClosingRound(9000);
        (, bool ended,) = task.status();
        assertTrue(ended);
        for (uint256 i = 0; i < 10; ++i) {
            vm.startPrank(actors[i]);
            if (_stake(actors[i]) > 0) task.withdraw();
            if (_claimable(actors[i]) > 0) task.claim();
            vm.stopPrank();
        }
        vm.prank(creator);
        task.reclaimLeftover();
        assertEq(token.balanceOf(address(task)), 0, "tokens left behind");
    }

    /// Finding "a minority of voters can get honest members slashed": one proposer, a voter
    /// committee of 11, fewer than a third colluding with arbitrary scores; every honest voter
    /// has its own test-split bias (its base-model score anywhere in [10, 89] %) and sees the
    /// honest proposal improve the base by D in [0, 5] points, give or take two score steps
    /// (of a 36-sample split: 556 bps). With the band floor and the wash limit at the honest
    /// spread (4 steps) and the tolerance at 2 steps, no honest proposer and no honest voter is
    /// ever slashed, whatever the colluders reveal.
    function test_settle_minorityOfVotersCannotSlashHonestMembers(
        uint256 seed,
        uint256 colluders,
        uint256 improvement
    ) public {
        uint256 noise = 556;
        IAllianceTask.TaskConfig memory c = _config();
        c.maxParticipants = 12;
        c.proposersPerRound = 1;
        c.maxVoters = 16;
        c.minDeviationBps = uint16(2 * noise);
        c.washMadBps = uint16(2 * noise);
        c.toleranceBps = uint16(noise);
        c.acceptToleranceBps = uint16(noise);
        _use(_createTask(c, POOL));
        _openRound1(12);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        assertEq(voters.length, 11);
        colluders = bound(colluders, 0, 3); // < 11 / 3
        improvement = bound(improvement, 0, 500);
        _proposeAll(1, props);
        _warpToCommit(1);
        for (uint256 v = 0; v < voters.length; ++v) {
            uint256 r = uint256(keccak256(abi.encode(seed, v)));
            uint256 baseScore;
            uint256 proposalScore;
            if (v < colluders) {
                baseScore = r % 10_001;
                proposalScore = (r >> 64) % 10_001;
            } else {
                baseScore = 1000 + r % 7901; // 10 .. 89 %
                proposalScore = baseScore + improvement + (r >> 64) % (2 * noise + 1) - noise;
            }
            _commitVote(1, voters[v], _scores(baseScore, proposalScore));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        _assertNoHonestMemberSlashed(props[0], voters, colluders);
    }

    /// @dev After round 1 settled: the honest proposer and every voter from `colluders` on kept
    /// their whole stake, and the honest proposal was accepted if the round settled.
    function _assertNoHonestMemberSlashed(address proposer, address[] memory voters, uint256 colluders)
        internal
        view
    {
        (uint256 proposerStake,) = task.accountOf(proposer);
        assertEq(proposerStake, MIN_STAKE, "honest proposer slashed");
        for (uint256 v = colluders; v < voters.length; ++v) {
            (uint256 stake,) = task.accountOf(voters[v]);
            assertEq(stake, MIN_STAKE, "honest voter slashed");
        }
        if (task.roundInfo(1).outcome == IAllianceTask.Outcome.Settled) {
            assertEq(task.acceptedMask(1), 1, "honest proposal rejected");
        }
    }

    /// @dev One proposer and 11 voters (12 participants): honest voter v's base-model score is
    /// `level` give or take `noise` (IID test splits), its proposal score that plus
    /// `improvement` give or take `noise`; voters below `colluders` reveal random scores.
    function _voteWithBase(uint256 seed, uint256 colluders, uint256 level, uint256 improvement, uint256 noise)
        internal
        returns (address proposer, address[] memory voters)
    {
        _openRound1(12);
        address[] memory props;
        (props, voters,) = _rolesOf(1);
        assertEq(voters.length, 11);
        proposer = props[0];
        _proposeAll(1, props);
        _warpToCommit(1);
        for (uint256 v = 0; v < voters.length; ++v) {
            uint256 r = uint256(keccak256(abi.encode(seed, v)));
            uint256 baseScore = level + r % (2 * noise + 1) - noise;
            uint256 proposalScore = baseScore + improvement + (r >> 64) % (2 * noise + 1) - noise;
            if (v < colluders) {
                baseScore = (r >> 128) % 10_001;
                proposalScore = (r >> 192) % 10_001;
            }
            _commitVote(1, voters[v], _scores(baseScore, proposalScore));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
    }

    function _baseBandConfig(uint256 noise, uint256 baseBand) internal pure returns (IAllianceTask.TaskConfig memory c) {
        c = _config();
        c.maxParticipants = 12;
        c.proposersPerRound = 1;
        c.maxVoters = 16;
        c.minDeviationBps = uint16(4 * noise);
        c.washMadBps = uint16(4 * noise);
        c.toleranceBps = uint16(2 * noise);
        c.acceptToleranceBps = uint16(2 * noise);
        c.baseBandBps = uint16(baseBand);
    }

    /// @dev A round of 11 voters on one honest proposal (base scores 85, 87 and 89 %, the
    /// proposal 1 point better); voter 0 inverts what it measured (10000 - score).
    function _invertedVoterRound(uint256 baseBand) internal returns (address[] memory voters) {
        _use(_createTask(_baseBandConfig(556, baseBand), POOL));
        _openRound1(12);
        address[] memory props;
        (props, voters,) = _rolesOf(1);
        _proposeAll(1, props);
        _warpToCommit(1);
        for (uint256 v = 0; v < voters.length; ++v) {
            uint256 base = 8500 + (v % 3) * 200;
            uint256 proposal = base + 100;
            if (v == 0) (base, proposal) = (10_000 - base, 10_000 - proposal);
            _commitVote(1, voters[v], _scores(base, proposal));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        for (uint256 v = 1; v < voters.length; ++v) {
            (uint256 stake,) = task.accountOf(voters[v]);
            assertEq(stake, MIN_STAKE, "honest voter slashed");
        }
        assertEq(task.acceptedMask(1), 1, "honest proposal rejected");
    }

    /// Finding "a voter can misreport its own base-model score": every paired difference it
    /// reveals is offset by that score, so a voter that inverts its scores (10000 - measured)
    /// or scores the base 0 stays inside the proposals' band wherever the proposals score near
    /// the base. Its base score is judged against the committee's median base score: outside
    /// width(base MAD, k, baseBandBps) it is slashed (reason 3).
    function test_settle_aVoterMisreportingItsBaseScoreIsSlashed() public {
        address[] memory voters = _invertedVoterRound(4 * 556);
        (uint256 stake,) = task.accountOf(voters[0]);
        assertEq(stake, MIN_STAKE - MIN_STAKE / 10, "inverted voter not slashed"); // slashBps 1000
    }

    /// ... and a task that leaves base scores unjudged (baseBandBps = 10000, as for strongly
    /// non-IID test splits) judges the paired differences alone: the inverted voter is inside.
    function test_settle_unjudgedBaseScoresLeaveTheInvertedVoterInside() public {
        address[] memory voters = _invertedVoterRound(10_000);
        (uint256 stake,) = task.accountOf(voters[0]);
        assertEq(stake, MIN_STAKE, "inverted voter slashed");
    }

    /// The same guarantee as above with base scores judged: fewer than a third colluding with
    /// arbitrary scores, honest voters' base scores at a common level give or take two score
    /// steps (IID test splits of 36 samples; all within [10, 89] %), proposals improving it by
    /// D in [0, 5] points give or take two steps. With the base band and the voter band at 4 steps, no
    /// honest proposer and no honest voter is ever slashed, whatever the colluders reveal.
    function test_settle_minorityOfVotersCannotSlashHonestMembersThroughTheBaseBand(
        uint256 seed,
        uint256 colluders,
        uint256 level,
        uint256 improvement
    ) public {
        uint256 noise = 556;
        _use(_createTask(_baseBandConfig(noise, 4 * noise), POOL));
        colluders = bound(colluders, 0, 3); // < 11 / 3
        level = bound(level, 1000 + noise, 8900 - noise); // base scores within [10, 89] %
        improvement = bound(improvement, 0, 500);
        (address proposer, address[] memory voters) = _voteWithBase(seed, colluders, level, improvement, noise);
        _settle(1);
        _assertNoHonestMemberSlashed(proposer, voters, colluders);
    }
}
