// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAllianceTask} from "./IAllianceTask.sol";
import {PackedScores} from "./PackedScores.sol";
import {ScoreMatrix} from "./ScoreMatrix.sol";

/// @title Consensus
/// @notice The per-proposal median consensus of one round: the paired medians and MADs the
/// settler hints, checked against the score matrix, and the rule that accepts a proposal.
library Consensus {
    /// @notice The median and the MAD (each the mean of the two middle values, rounded down) of
    /// each row of the paired matrix `cells` (`items` x `voters`, see ScoreMatrix.loadPaired),
    /// read from the settler's `hints` (per item 4 x uint16: lower/upper middle value,
    /// lower/upper middle deviation from the median) and checked by counting (O(voters) per
    /// item) instead of sorting.
    /// @dev Reverts with `SettlementInputInvalid(Hints, i)` on a wrong hint for item i, or with
    /// i = `items` when `hints` is not 8 * `items` bytes long.
    function fromHints(uint256[] memory cells, bytes calldata hints, uint256 items, uint256 voters)
        internal
        pure
        returns (uint256[] memory medians, uint256[] memory mads)
    {
        if (hints.length != 8 * items) {
            revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Hints, items);
        }
        medians = new uint256[](items);
        mads = new uint256[](items);
        for (uint256 i = 0; i < items; ++i) {
            uint256 lo = PackedScores.wordAt(hints, 4 * i);
            uint256 hi = PackedScores.wordAt(hints, 4 * i + 1);
            uint256 m = (lo + hi) / 2;
            uint256 dLo = PackedScores.wordAt(hints, 4 * i + 2);
            uint256 dHi = PackedScores.wordAt(hints, 4 * i + 3);
            if (
                !ScoreMatrix.isMiddle(cells, i, voters, lo, hi, false, 0)
                    || !ScoreMatrix.isMiddle(cells, i, voters, dLo, dHi, true, m)
            ) revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Hints, i);
            medians[i] = m;
            mads[i] = (dLo + dHi) / 2;
        }
    }

    /// @notice Whether a proposal with paired median `score` (MAX_SCORE + the median paired
    /// difference) passes: not refused (`refused`: a strict majority scored it 0), at least
    /// -`tolerance` from its base model, and within `peerTolerance` of the median proposal's `peer`.
    function accepts(uint256 score, bool refused, uint256 peer, uint256 tolerance, uint256 peerTolerance)
        internal
        pure
        returns (bool)
    {
        return !refused && score + tolerance >= PackedScores.MAX_SCORE && score + peerTolerance >= peer;
    }
}
