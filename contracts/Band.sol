// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {PackedScores} from "./PackedScores.sol";
import {ScoreMatrix} from "./ScoreMatrix.sol";

/// @title Band
/// @notice The voters' agreement band around each proposal's median (median +- k * MAD, with
/// a floor): agreement weight per voter, and whether the round is a wash.
library Band {
    /// @notice Agreement weight per voter of the paired matrix `cells` (proposals x voters): 0
    /// for a voter outside the band on most proposals (an outlier), else
    /// items * 2 * MAX_SCORE - (its summed distance to the medians) + 1, always positive.
    /// The band of item i is max(mads[i] * multiplierX100 / 100, floor).
    function voterWeights(
        uint256[] memory cells,
        uint256[] memory medians,
        uint256[] memory mads,
        uint256 multiplierX100,
        uint256 floor
    ) internal pure returns (uint256[] memory weights, uint256 outliers) {
        uint256 items = medians.length;
        uint256 voters = cells.length / items;
        uint256[] memory bands = new uint256[](items);
        for (uint256 i = 0; i < items; ++i) {
            uint256 band = (mads[i] * multiplierX100) / 100;
            bands[i] = band < floor ? floor : band;
        }
        weights = new uint256[](voters);
        for (uint256 v = 0; v < voters; ++v) {
            (uint256 disagreements, uint256 distance) = ScoreMatrix.agreement(cells, voters, v, medians, bands);
            if (2 * disagreements > items) {
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
