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
        for (uint256 r = 0; r < ROUNDS; ++r) {
            uint256 pivot;
            bytes32 source;
            uint256 flip;
            uint256 position;
            // Scratch space (0x00-0x3f) holds seed ++ uint8(r) [++ uint32(position >> 8)]: the
            // same bytes abi.encodePacked would produce, hashed without allocating memory.
            assembly ("memory-safe") {
                mstore(0x00, seed)
                mstore(0x20, shl(248, r))
                pivot := mod(keccak256(0x00, 0x21), n)
                flip := mod(sub(add(pivot, n), index), n)
                position := index
                if gt(flip, index) { position := flip }
                mstore(0x20, or(shl(248, r), shl(216, shr(8, position))))
                source := keccak256(0x00, 0x25)
            }
            uint256 bit = (uint256(uint8(source[(position & 0xff) >> 3])) >> (position & 7)) & 1;
            if (bit == 1) index = flip;
        }
        return index;
    }
}
