// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Shuffle
/// @notice Swap-or-not shuffle (as in the Ethereum consensus spec's compute_shuffled_index):
/// maps one index to its shuffled position in O(ROUNDS) hashes, with no loop over the set.
library Shuffle {
    /// @notice Hash rounds of the shuffle; flock's Python mirror uses the same number.
    uint256 internal constant ROUNDS = 32;

    /// @notice Position of `index` in the permutation of [0, n) drawn from `seed`.
    function shuffledIndex(uint256 index, uint256 n, bytes32 seed) internal pure returns (uint256) {
        // Scratch space (0x00-0x3f) holds seed ++ uint8(r) [++ uint32(position >> 8)]: the same
        // bytes abi.encodePacked would produce, hashed without allocating memory. n > 0 and
        // index < n are the caller's to ensure (mod by zero yields zero in the EVM).
        assembly ("memory-safe") {
            mstore(0x00, seed)
            for { let r := 0 } lt(r, ROUNDS) { r := add(r, 1) } {
                mstore(0x20, shl(248, r))
                let pivot := mod(keccak256(0x00, 0x21), n)
                let flip := mod(sub(add(pivot, n), index), n)
                let position := index
                if gt(flip, index) { position := flip }
                mstore(0x20, or(shl(248, r), shl(216, shr(8, position))))
                let source := keccak256(0x00, 0x25)
                // byte (position % 256) / 8 of source, then bit position % 8 of that byte
                let bit := and(shr(and(position, 7), byte(shr(3, and(position, 0xff)), source)), 1)
                if bit { index := flip }
            }
        }
        return index;
    }
}
