// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title RewardMath
/// @notice Integer reward weights for the task's reward rules; flock's Python mirror copies them.
library RewardMath {
    uint256 internal constant ONE = 1e18;
    /// @dev ln(2) in 18-decimal fixed point.
    uint256 internal constant LN2 = 693147180559945309;

    /// @notice Geometric weight for a 0-based rank: 2^(63 - rank), i.e. proportional to 0.5^rank.
    function geometric(uint256 rank) internal pure returns (uint256) {
        return rank >= 64 ? 0 : uint256(1) << (63 - rank);
    }

    /// @notice Geometric-rule weights: for each proposal in `mask` (bit p set: proposal p is
    /// accepted) `geometric` of its rank among them by score (ties: the lower index ranks
    /// first); 0 for the others.
    function geometricWeights(uint256[] memory scores, uint256 mask) internal pure returns (uint256[] memory w) {
        uint256 n = scores.length;
        w = new uint256[](n);
        for (uint256 p = 0; p < n; ++p) {
            if (mask & (uint256(1) << p) == 0) continue;
            uint256 rank = 0;
            for (uint256 q = 0; q < n; ++q) {
                if (q == p || mask & (uint256(1) << q) == 0) continue;
                if (scores[q] > scores[p] || (scores[q] == scores[p] && q < p)) ++rank;
            }
            w[p] = geometric(rank);
        }
    }

    /// @notice Softmax-rule weights: for each proposal in `mask` `softmax` of its score against
    /// the best score in `mask`, at `temperature`; 0 for the others.
    function softmaxWeights(uint256[] memory scores, uint256 mask, uint256 temperature)
        internal
        pure
        returns (uint256[] memory w)
    {
        uint256 n = scores.length;
        uint256 best = 0;
        for (uint256 p = 0; p < n; ++p) {
            if (mask & (uint256(1) << p) != 0 && scores[p] > best) best = scores[p];
        }
        w = new uint256[](n);
        for (uint256 p = 0; p < n; ++p) {
            if (mask & (uint256(1) << p) != 0) w[p] = softmax(scores[p], best, temperature);
        }
    }

    /// @notice Sum of `weights`.
    function sum(uint256[] memory weights) internal pure returns (uint256 total) {
        for (uint256 i = 0; i < weights.length; ++i) {
            total += weights[i];
        }
    }

    /// @notice Softmax weight of `score` against the best score, base 2, temperature `temperature`
    /// (same score units): 2^(-(best - score) / temperature) in 18-decimal fixed point.
    function softmax(uint256 score, uint256 best, uint256 temperature) internal pure returns (uint256) {
        uint256 x = ((best - score) * ONE) / temperature;
        return exp2neg(x);
    }

    /// @notice 2^(-x / 1e18) in 18-decimal fixed point: integer part by shift, fraction by the
    /// degree-8 Taylor polynomial of e^(-y), y = frac * ln 2 < 0.7, in Horner form
    /// (relative error < 2e-7). An even degree over-estimates e^(-y) and is decreasing on
    /// [0, 0.7], so the result does not increase with x, across integer boundaries too.
    function exp2neg(uint256 x) internal pure returns (uint256) {
        uint256 whole = x / ONE;
        if (whole >= 60) return 0;
        uint256 y = ((x % ONE) * LN2) / ONE;
        uint256 h = ONE;
        for (uint256 k = 8; k >= 1; --k) {
            // h = 1 - y * h / k stays in (0, 1] because y < 0.7 and h <= 1
            h = ONE - (y * h) / (k * ONE);
        }
        return h >> whole;
    }
}
