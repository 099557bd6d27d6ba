// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Base} from "./Base.t.sol";
import {FlockToken} from "../FlockToken.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {IAllianceTask} from "../IAllianceTask.sol";

/// @dev Regression tests of contract bugs found in review, each fixed.
contract CreditCapTest is Base {
    uint256 internal constant MAX = 2 ** 110;

    function _deployToken() internal override returns (IERC20) {
        return IERC20(address(new FlockToken(2 ** 116)));
    }

    /// Bug (fixed): MAX_AMOUNT capped the pool and the *current* total stake, not the stake
    /// slashed over the task: a whale slashed (100 %) for a missed seed reveal once per round
    /// and re-staking each time grew the pool past 2^112; the last round's credit then
    /// overflowed `_toUint112` and `settle` reverted forever. Now the books (pool + stake +
    /// credits) are capped at 2 * MAX_AMOUNT: the re-stake that would pass it is refused and
    /// every settlement goes through.
    function test_stakeMore_refusesRestakingPastTheBooksCapAndSettleNeverReverts() public {
        IAllianceTask.TaskConfig memory c = _config();
        c.rounds = 4;
        c.proposersPerRound = 1;
        c.slashBps = 10_000;
        c.voterShareBps = 0;
        token.transfer(creator, 1e18);
        _use(_createTask(c, 1e18)); // a small pool: the whale's re-stakes make it large
        address whale = actors[0];
        token.transfer(whale, 6 * MAX);
        uint256 w = MAX - 3 * MIN_STAKE;
        _join(whale, w, true); // commits round-1 randomness and never reveals it
        for (uint256 i = 1; i < 4; ++i) {
            _join(actors[i], MIN_STAKE, true);
        }
        _warpToSeedReveal(1);
        for (uint256 i = 1; i < 4; ++i) {
            _revealSeed(actors[i], 1);
        }
        (, uint256 closes) = task.seedRevealWindow(1);
        vm.warp(closes);
        bool refused = false;
        for (uint256 r = 1; r <= 4; ++r) {
            if (!refused) task.slashMissedSeedReveal(whale); // the whole stake goes to the pool
            uint256 books = task.rewardPool() + task.totalStaked() + task.totalClaimable();
            vm.startPrank(whale);
            if (refused || books + w > 2 * MAX) {
                if (!refused) {
                    vm.expectRevert(abi.encodeWithSelector(IAllianceTask.AmountTooLarge.selector, books + w));
                    task.stakeMore(w);
                }
                refused = true;
            } else {
                task.stakeMore(w);
                if (r < 4) task.commitSeed(uint32(r + 1), keccak256(abi.encode("never revealed", r)));
            }
            vm.stopPrank();
            if (r == 1) _start();
            if (r < 4) _settle(r); // empty rounds: the pool carries over
        }
        assertTrue(refused, "the re-stake past the books cap was refused");
        assertLe(task.rewardPool() + task.totalStaked() + task.totalClaimable(), 2 * MAX, "books");
        // round 4: one accepted proposal takes the whole budget
        (address[] memory drawn, address[] memory voters,) = _rolesOf(4);
        address[] memory props = _without(drawn, whale); // slashed to 0: it cannot act
        _proposeAll(4, props);
        _warpToCommit(4);
        for (uint256 i = 0; i < voters.length; ++i) {
            if (voters[i] == whale) continue;
            _commitVote(4, voters[i], props.length == 1 ? _scores(8000, 8100) : _scores(8000));
        }
        _warpToVoteReveal(4);
        _revealAllVotesExcept(4, address(0));
        _settle(4); // reverted AmountTooLarge before the fix
        assertTrue(task.roundInfo(4).outcome != IAllianceTask.Outcome.Pending, "round 4 settled");
    }

    function _without(address[] memory list, address who) internal pure returns (address[] memory out) {
        uint256 n = 0;
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] != who) ++n;
        }
        out = new address[](n);
        n = 0;
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] != who) out[n++] = list[i];
        }
    }
}
