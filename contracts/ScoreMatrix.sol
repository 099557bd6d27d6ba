// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ScoreMatrix
/// @notice The revealed scores of one round as an items x voters matrix in memory (row-major,
/// one word per score) and the per-row checks settlement runs on it. The hot loops are in
/// assembly: every index stays below items * voters by the loop bounds, and scores are 16-bit
/// values, so no arithmetic can overflow.
library ScoreMatrix {
    /// @notice Each voter's paired differences: row p - 1 holds, per voter, its score of
    /// proposal p minus its own score of the base model (item 0), shifted by `offset` so that it
    /// is never negative (0 .. 2 * offset); the voter's test-split bias cancels. `bases[v]` is
    /// voter v's own score of the base model, the offset of all its differences (judged on its
    /// own, Band.voterWeights). The mark 0xFFFF counts as 0. `refusals[p - 1]` counts the
    /// voters who scored proposal p 0 (refused or could not fetch it).
    /// @dev Every `scores[v]` holds exactly 2 * (proposals + 1) bytes of scores <= offset or
    /// 0xFFFF (checked at reveal); so no arithmetic can wrap.
    function loadPaired(bytes[] calldata scores, uint256 proposals, uint256 offset)
        internal
        pure
        returns (uint256[] memory cells, uint256[] memory refusals, uint256[] memory bases)
    {
        uint256 voters = scores.length;
        cells = new uint256[](proposals * voters);
        refusals = new uint256[](proposals);
        bases = new uint256[](voters);
        for (uint256 v = 0; v < voters; ++v) {
            bytes calldata packed = scores[v];
            assembly ("memory-safe") {
                let src := packed.offset
                let base := shr(240, calldataload(src))
                base := mul(base, iszero(eq(base, 0xffff)))
                mstore(add(add(bases, 0x20), shl(5, v)), base)
                let shifted := sub(offset, base)
                let dst := add(add(cells, 0x20), shl(5, v))
                let stride := shl(5, voters)
                let refused := add(refusals, 0x20)
                for { let p := 0 } lt(p, proposals) { p := add(p, 1) } {
                    let x := shr(240, calldataload(add(src, shl(1, add(p, 1)))))
                    x := mul(x, iszero(eq(x, 0xffff)))
                    let slot := add(refused, shl(5, p))
                    mstore(slot, add(mload(slot), iszero(x)))
                    mstore(add(dst, mul(p, stride)), add(x, shifted))
                }
            }
        }
    }

    /// @notice Whether `lo` and `hi` are the lower and upper middle order statistics of row
    /// `row` (or, when `deviation` is set, of the row's absolute deviations from `center`):
    /// a value x has 0-based rank k iff #(< x) <= k < #(<= x). One pass, no sorting.
    function isMiddle(
        uint256[] memory cells,
        uint256 row,
        uint256 voters,
        uint256 lo,
        uint256 hi,
        bool deviation,
        uint256 center
    ) internal pure returns (bool ok) {
        if (voters == 0) return false;
        assembly ("memory-safe") {
            let base := add(add(cells, 0x20), shl(5, mul(row, voters)))
            let ltLo := 0
            let leLo := 0
            let ltHi := 0
            let leHi := 0
            for { let j := 0 } lt(j, voters) { j := add(j, 1) } {
                let x := mload(add(base, shl(5, j)))
                if deviation {
                    switch gt(x, center)
                    case 1 { x := sub(x, center) }
                    default { x := sub(center, x) }
                }
                ltLo := add(ltLo, lt(x, lo))
                leLo := add(leLo, iszero(gt(x, lo)))
                ltHi := add(ltHi, lt(x, hi))
                leHi := add(leHi, iszero(gt(x, hi)))
            }
            let kLo := shr(1, sub(voters, 1))
            let kHi := shr(1, voters)
            ok := and(and(iszero(gt(ltLo, kLo)), lt(kLo, leLo)), and(iszero(gt(ltHi, kHi)), lt(kHi, leHi)))
        }
    }

    /// @notice For voter `v`: on how many items its score is outside `bands[i]` of
    /// `medians[i]`, and the sum of its absolute deviations.
    function agreement(
        uint256[] memory cells,
        uint256 voters,
        uint256 v,
        uint256[] memory medians,
        uint256[] memory bands
    ) internal pure returns (uint256 disagreements, uint256 distance) {
        uint256 items = medians.length;
        assembly ("memory-safe") {
            let base := add(add(cells, 0x20), shl(5, v))
            let stride := shl(5, voters)
            let med := add(medians, 0x20)
            let band := add(bands, 0x20)
            for { let i := 0 } lt(i, items) { i := add(i, 1) } {
                let x := mload(add(base, mul(i, stride)))
                let m := mload(add(med, shl(5, i)))
                let d := sub(m, x)
                if gt(x, m) { d := sub(x, m) }
                disagreements := add(disagreements, gt(d, mload(add(band, shl(5, i)))))
                distance := add(distance, d)
            }
        }
    }
}
