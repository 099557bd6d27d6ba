// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Base} from "./Base.t.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {IAllianceTask} from "../IAllianceTask.sol";

/// @dev Whole tasks played with random stakes, roles, scores and no-shows: the task's token
/// balance equals rewardPool + totalStaked + totalClaimable after every step, and once everyone
/// has been paid the task holds nothing.
contract SettlementFuzzTest is Base {
    uint256 internal fuzzSeed;
    uint256 internal joined;
    uint256 internal paidMidTask;
    uint256 internal deposited;
    uint256[] internal truth;

    function _rand(bytes32 tag, uint256 i) internal view returns (uint256) {
        return uint256(keccak256(abi.encode(fuzzSeed, tag, i)));
    }

    function _chance(bytes32 tag, uint256 i, uint256 percent) internal view returns (bool) {
        return _rand(tag, i) % 100 < percent;
    }

    function _eligible(address p) internal view returns (bool) {
        return _stake(p) >= MIN_STAKE;
    }

    /// @dev Everyone holding a commitment for `round` reveals it with 80 % probability, and then
    /// commits for `round + 1` with 50 % probability (the others are slashed later).
    function _revealSeedsRandomly(uint256 round) internal {
        _warpToSeedReveal(round);
        uint256 rounds = task.config().rounds;
        for (uint256 i = 0; i < joined; ++i) {
            address p = actors[i];
            (uint256 r, bytes28 c) = task.seedCommitOf(p);
            if (c == bytes28(0) || r != round || !_chance("seed-reveal", round * 100 + i, 80)) continue;
            bool next = round < rounds && _eligible(p) && _chance("seed-next", round * 100 + i, 50);
            vm.prank(p);
            task.revealSeed(uint32(round), _secret(p, round), next ? _seedCommit(p, round + 1) : bytes32(0));
            _assertConserved();
        }
    }

    function _randomScores(uint256 round, uint256 voter, uint256 items) internal view returns (bytes memory) {
        uint256[] memory s = new uint256[](items);
        bool outlier = _chance("outlier", round * 100 + voter, 15);
        for (uint256 i = 0; i < items; ++i) {
            if (outlier) {
                s[i] = _rand("wild", round * 10_000 + voter * 100 + i) % 10_001;
            } else {
                uint256 noise = _rand("noise", round * 10_000 + voter * 100 + i) % 401; // +-200
                uint256 v = truth[i] + noise;
                s[i] = v < 200 ? 0 : v - 200;
                if (s[i] > 10_000) s[i] = 10_000;
            }
        }
        return _packScores(s);
    }

    function _playRandomRound(uint256 round) internal {
        (address[] memory props, address[] memory voters,) = _rolesOf(round);
        for (uint256 i = 0; i < props.length; ++i) {
            if (_eligible(props[i]) && _chance("propose", round * 100 + i, 80)) {
                _propose(round, props[i], keccak256(abi.encode(fuzzSeed, round, i)));
            }
        }
        uint256 items = task.roundInfo(round).numProposals + 1;
        delete truth;
        for (uint256 i = 0; i < items; ++i) {
            truth.push(4000 + (_rand("truth", round * 100 + i) % 5000));
        }
        _warpToCommit(round);
        for (uint256 i = 0; i < voters.length; ++i) {
            if (_eligible(voters[i]) && _chance("commit", round * 100 + i, 85)) {
                // one voter in ten attests a poisoned base model (slashed when a majority is honest)
                if (_chance("poison", round * 100 + i, 10)) _attestAs(voters[i], keccak256(abi.encode("poison", round)));
                _commitVote(round, voters[i], _randomScores(round, i, items));
            }
        }
        _warpToVoteReveal(round);
        for (uint256 i = 0; i < votes.length; ++i) {
            if (!_chance("reveal", round * 100 + i, 85)) continue;
            vm.prank(votes[i].voter);
            task.revealVote(round, votes[i].scores, votes[i].attestation, votes[i].salt);
            votes[i].revealed = true;
        }
        _revealSeedsRandomly(round + 1);
        _settle(round);
        _assertConserved();

        // some claim mid-task, some top up their stake, somebody gets a stale seed slashed
        for (uint256 i = 0; i < joined; ++i) {
            address p = actors[i];
            if (_claimable(p) > 0 && _chance("claim", round * 100 + i, 40)) {
                uint256 owed = _claimable(p);
                uint256 before = token.balanceOf(p);
                vm.prank(p);
                task.claim();
                assertEq(token.balanceOf(p) - before, owed, "claim paid a different amount");
                paidMidTask += owed;
                _assertConserved();
            }
            (, bool ended,) = task.status();
            if (!ended && !_eligible(p) && _chance("topup", round * 100 + i, 50)) {
                vm.prank(p);
                task.stakeMore(MIN_STAKE);
                deposited += MIN_STAKE;
                _assertConserved();
            }
            if (_chance("slash-seed", round * 100 + i, 30)) {
                try task.slashMissedSeedReveal(p) {} catch {}
                _assertConserved();
            }
        }
    }

    function testFuzz_settlement_conservesTokens(uint256 seed, uint256 participants, uint256 maxExtraStake)
        public
    {
        fuzzSeed = seed;
        joined = bound(participants, 2, 10);
        maxExtraStake = bound(maxExtraStake, 0, 20 * MIN_STAKE);
        for (uint256 i = 0; i < joined; ++i) {
            uint256 amount = MIN_STAKE + (_rand("stake", i) % (maxExtraStake + 1));
            _join(actors[i], amount, _chance("seed-commit", i, 90));
            deposited += amount;
            _assertConserved();
        }
        _revealSeedsRandomly(1);
        _start();
        uint256 rounds = task.config().rounds;
        for (uint256 r = 1; r <= rounds; ++r) {
            _playRandomRound(r);
        }
        (uint256 current, bool ended,) = task.status();
        if (!ended) {
            // the last round accepted updates: the closing round attests their aggregate
            assertEq(current, rounds + 1, "closing round");
            _playRandomRound(current);
            (, ended,) = task.status();
        }
        assertTrue(ended, "task did not end");

        // everyone is paid out; what left the task is exactly what entered it
        uint256 paid = paidMidTask;
        for (uint256 i = 0; i < joined; ++i) {
            address p = actors[i];
            uint256 before = token.balanceOf(p);
            vm.startPrank(p);
            if (_stake(p) > 0 || _hasSeedCommit(p)) {
                try task.withdraw() {} catch {}
            }
            if (_claimable(p) > 0) task.claim();
            vm.stopPrank();
            paid += token.balanceOf(p) - before;
            assertEq(_stake(p), 0, "stake left behind");
            assertEq(_claimable(p), 0, "reward left behind");
            _assertConserved();
        }
        uint256 left = task.rewardPool();
        if (left > 0) {
            vm.prank(creator);
            task.reclaimLeftover();
        }
        paid += left;
        assertEq(token.balanceOf(address(task)), 0, "tokens stuck in the task");
        assertEq(paid, deposited + POOL, "paid out != paid in");
        assertEq(task.totalStaked(), 0);
        assertEq(task.totalClaimable(), 0);
    }

    function _hasSeedCommit(address p) internal view returns (bool) {
        (, bytes28 c) = task.seedCommitOf(p);
        return c != bytes28(0);
    }
}
