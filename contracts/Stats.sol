// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Stats
/// @notice Integer order statistics for one round's committee (arrays bounded by the task caps).
library Stats {
    /// @notice Sorts `a` ascending in place (insertion sort: committees are small and bounded).
    function sort(uint256[] memory a) internal pure {
        uint256 n = a.length;
        for (uint256 i = 1; i < n; ++i) {
            uint256 key = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > key) {
                a[j] = a[j - 1];
                --j;
            }
            a[j] = key;
        }
    }

    /// @notice Median of `a` (mean of the two middle values, rounded down, for even length).
    /// @dev Sorts `a` in place. `a` must not be empty.
    function median(uint256[] memory a) internal pure returns (uint256) {
        sort(a);
        uint256 n = a.length;
        if (n % 2 == 1) return a[n / 2];
        return (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    /// @notice Median absolute deviation of `a` around `m`; `a` is left unchanged.
    function mad(uint256[] memory a, uint256 m) internal pure returns (uint256) {
        uint256[] memory d = new uint256[](a.length);
        for (uint256 i = 0; i < a.length; ++i) {
            d[i] = a[i] > m ? a[i] - m : m - a[i];
        }
        return median(d);
    }
}
