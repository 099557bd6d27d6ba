// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Seeds
/// @notice The round seed and the randomness commitments it is built from; flock's Python
/// mirror derives both the same way.
library Seeds {
    /// @notice Domain separator of the round seed.
    bytes32 internal constant DOMAIN = keccak256("flock.AllianceTask.seed.v2");

    /// @notice Seed of `round` of the task at `task` on chain `chainId`, from `entropy` (the
    /// running XOR of the secrets revealed so far, XORed with the task's beacon value when it
    /// has a beacon): keccak256(abi.encode(DOMAIN, task,
    /// chainId, round, entropy)).
    function roundSeed(address task, uint256 chainId, uint256 round, bytes32 entropy) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN, task, chainId, round, entropy));
    }

    /// @notice Randomness commitment of `participant` to `secret` for `round`:
    /// keccak256(abi.encodePacked(secret, participant, uint256(round))) truncated to 224 bits.
    function commitment(bytes32 secret, address participant, uint256 round) internal pure returns (bytes28) {
        return bytes28(keccak256(abi.encodePacked(secret, participant, round)));
    }
}
