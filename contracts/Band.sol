// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {PackedScores} from "./PackedScores.sol";
import {ScoreMatrix} from "./ScoreMatrix.sol";

/// @title Band
/// @notice The voters' agreement band around each proposal's median (median +- k * MAD, with
/// a floor) and around the median of their own base-model scores: agreement weight per voter,
/// and whether the round is a wash.
library Band {
    /// @notice The band of one item: max(mad * multiplierX100 / 100, floor).
    function width(uint256 mad, uint256 multiplierX100, uint256 floor) internal pure returns (uint256) {
        uint256 band = (mad * multiplierX100) / 100;
        return band < floor ? floor : band;
    }

    /// @notice Agreement weight per voter of the paired matrix `cells` (proposals x voters): 0
    /// for an outlier, a voter outside the band on most proposals or whose own base-model score
    /// `bases[v]` is further than `baseBand` from `baseMedian` (its base score offsets every
    /// paired difference it reveals: a voter that misreports it shifts them all at once), else
    /// items * 2 * MAX_SCORE - (its summed distance to the medians) + 1, always positive.
    /// The band of item i is width(mads[i], multiplierX100, floor).
    function voterWeights(
        uint256[] memory cells,
        uint256[] memory medians,
        uint256[] memory mads,
        uint256 multiplierX100,
        uint256 floor,
        uint256[] memory bases,
        uint256 baseMedian,
        uint256 baseBand
    ) internal pure returns (uint256[] memory weights, uint256 outliers) {
        uint256 items = medians.length;
        uint256 voters = cells.length / items;
        uint256[] memory bands = new uint256[](items);
        for (uint256 i = 0; i < items; ++i) {
            bands[i] = width(mads[i], multiplierX100, floor);
        }
        weights = new uint256[](voters);
        for (uint256 v = 0; v < voters; ++v) {
            (uint256 disagreements, uint256 distance) = ScoreMatrix.agreement(cells, voters, v, medians, bands);
            uint256 base = bases[v];
            uint256 baseDistance = base > baseMedian ? base - baseMedian : baseMedian - base;
            if (2 * disagreements > items || baseDistance > baseBand) {
                ++outliers; // weight 0 marks an outlier
            } else {
                // + 1: an agreeing voter always has a positive weight (paired values lie in
                // [0, 2 * MAX_SCORE], so distance <= items * 2 * MAX_SCORE)
                weights[v] = items * 2 * PackedScores.MAX_SCORE - distance + 1;
            }
        }
    }

    /// @notice A wash: most of the `voters` are `outliers`, or most items' MAD exceeds
    /// `washMad` (no tight consensus).
    function isWash(uint256[] memory mads, uint256 outliers, uint256 voters, uint256 washMad)
        internal
        pure
        returns (bool)
    {
        uint256 dispersed = 0;
        for (uint256 i = 0; i < mads.length; ++i) {
            if (mads[i] > washMad) ++dispersed;
        }
        return 2 * outliers > voters || 2 * dispersed > mads.length;
    }
}
