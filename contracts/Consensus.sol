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
    /// each row of the paired matrix `cells` (`items` x `voters`, see ScoreMatrix.loadPaired)
    /// and of the voters' own base-model scores `bases`, read from the settler's `hints` (per
    /// item, then for the base scores, 4 x uint16: lower/upper middle value, lower/upper middle
    /// deviation from the median) and checked by counting (O(voters) per item) instead of
    /// sorting.
    /// @dev Reverts with `SettlementInputInvalid(Hints, i)` on a wrong hint for item i, or with
    /// i = `items` on a wrong hint for the base scores or when `hints` is not
    /// 8 * (`items` + 1) bytes long.
    function fromHints(
        uint256[] memory cells,
        uint256[] memory bases,
        bytes calldata hints,
        uint256 items,
        uint256 voters
    ) internal pure returns (uint256[] memory medians, uint256[] memory mads, uint256 baseMedian, uint256 baseMad) {
        if (hints.length != 8 * (items + 1)) {
            revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Hints, items);
        }
        medians = new uint256[](items);
        mads = new uint256[](items);
        for (uint256 i = 0; i < items; ++i) {
            (medians[i], mads[i]) = _fromHint(cells, i, hints, i, voters);
        }
        (baseMedian, baseMad) = _fromHint(bases, 0, hints, items, voters);
    }

    /// @dev The median and MAD of row `row` of `cells` from hint number `hint`; reverts with
    /// `SettlementInputInvalid(Hints, hint)` when the hint is wrong.
    function _fromHint(uint256[] memory cells, uint256 row, bytes calldata hints, uint256 hint, uint256 voters)
        private
        pure
        returns (uint256 median, uint256 mad)
    {
        uint256 lo = PackedScores.wordAt(hints, 4 * hint);
        uint256 hi = PackedScores.wordAt(hints, 4 * hint + 1);
        median = (lo + hi) / 2;
        uint256 dLo = PackedScores.wordAt(hints, 4 * hint + 2);
        uint256 dHi = PackedScores.wordAt(hints, 4 * hint + 3);
        if (
            !ScoreMatrix.isMiddle(cells, row, voters, lo, hi, false, 0)
                || !ScoreMatrix.isMiddle(cells, row, voters, dLo, dHi, true, median)
        ) revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Hints, hint);
        mad = (dLo + dHi) / 2;
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
