// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Stats
/// @notice Integer order statistics for one round's committee (arrays bounded by the task caps).
library Stats {
    /// @notice The smaller of `a` and `b`.
    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @notice Sorts `a` ascending in place (insertion sort: committees are small and bounded).
    function sort(uint256[] memory a) internal pure {
        // Indices stay within [0, n) by the loop bounds, so the raw memory accesses are in range.
        assembly ("memory-safe") {
            let n := mload(a)
            let base := add(a, 0x20)
            for { let i := 1 } lt(i, n) { i := add(i, 1) } {
                let key := mload(add(base, shl(5, i)))
                let j := i
                for {} gt(j, 0) {} {
                    let prev := mload(add(base, shl(5, sub(j, 1))))
                    if iszero(gt(prev, key)) { break }
                    mstore(add(base, shl(5, j)), prev)
                    j := sub(j, 1)
                }
                mstore(add(base, shl(5, j)), key)
            }
        }
    }

    /// @notice Median of a sorted, non-empty `a` (mean of the two middle values, rounded down).
    function medianOfSorted(uint256[] memory a) internal pure returns (uint256) {
        uint256 n = a.length;
        if (n % 2 == 1) return a[n / 2];
        return (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    /// @notice Median of `a` (sorts `a` in place).
    function median(uint256[] memory a) internal pure returns (uint256) {
        sort(a);
        return medianOfSorted(a);
    }

    /// @notice Median of `a`, which it leaves as it is (it sorts a copy).
    function medianOfCopy(uint256[] memory a) internal pure returns (uint256) {
        uint256 n = a.length;
        uint256[] memory sorted = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            sorted[i] = a[i];
        }
        return median(sorted);
    }

    /// @notice Median absolute deviation around `m` of a sorted, non-empty `a`, in O(n): the
    /// deviations of a sorted array grow outwards from `m`, so a two-pointer merge walks them
    /// in ascending order up to the middle.
    function madOfSorted(uint256[] memory a, uint256 m) internal pure returns (uint256) {
        uint256 n = a.length;
        uint256 hi = 0; // first index with a[hi] > m
        while (hi < n && a[hi] <= m) ++hi;
        uint256 lo = hi; // one past the next left candidate
        uint256 want = n / 2; // 0-based rank of the upper middle deviation
        uint256 previous = 0;
        uint256 current = 0;
        for (uint256 t = 0; t <= want; ++t) {
            previous = current;
            bool takeLeft;
            if (lo == 0) takeLeft = false;
            else if (hi == n) takeLeft = true;
            else takeLeft = m - a[lo - 1] <= a[hi] - m;
            if (takeLeft) {
                current = m - a[lo - 1];
                --lo;
            } else {
                current = a[hi] - m;
                ++hi;
            }
        }
        if (n % 2 == 1) return current;
        return (previous + current) / 2;
    }

    /// @notice Whether `lo` and `hi` are the lower and upper middle order statistics of `a`
    /// (equal for odd length), checked by counting in one pass, without sorting: a value v has
    /// 0-based rank k iff #(a < v) <= k < #(a <= v).
    function isMiddle(uint256[] memory a, uint256 lo, uint256 hi) internal pure returns (bool) {
        uint256 n = a.length;
        if (n == 0) return false;
        uint256 ltLo;
        uint256 leLo;
        uint256 ltHi;
        uint256 leHi;
        unchecked {
            // counters are bounded by n
            for (uint256 i = 0; i < n; ++i) {
                uint256 x = a[i];
                if (x < lo) ++ltLo;
                if (x <= lo) ++leLo;
                if (x < hi) ++ltHi;
                if (x <= hi) ++leHi;
            }
            uint256 kLo = (n - 1) / 2;
            uint256 kHi = n / 2;
            return ltLo <= kLo && kLo < leLo && ltHi <= kHi && kHi < leHi;
        }
    }

    /// @notice Whether `lo` and `hi` are the middle order statistics of |a[i] - m|.
    function isMiddleDeviation(uint256[] memory a, uint256 m, uint256 lo, uint256 hi)
        internal
        pure
        returns (bool)
    {
        uint256 n = a.length;
        uint256[] memory d = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 x = a[i];
            d[i] = x > m ? x - m : m - x;
        }
        return isMiddle(d, lo, hi);
    }
}
