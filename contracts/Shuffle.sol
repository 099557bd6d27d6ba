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
            uint256 pivot = uint256(keccak256(abi.encodePacked(seed, uint8(r)))) % n;
            uint256 flip = (pivot + n - index) % n;
            uint256 position = index > flip ? index : flip;
            bytes32 source = keccak256(abi.encodePacked(seed, uint8(r), uint32(position >> 8)));
            uint256 bit = (uint256(uint8(source[(position & 0xff) >> 3])) >> (position & 7)) & 1;
            if (bit == 1) index = flip;
        }
        return index;
    }
}
