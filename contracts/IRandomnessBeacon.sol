// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IRandomnessBeacon
/// @notice A source of public randomness that a task mixes into its round seeds on top of its
/// members' commit-reveal entropy: e.g. an adapter over a drand relay (BLS-verified rounds) or
/// over a VRF coordinator. A task chooses its beacon once, at creation; members who do not
/// trust that beacon's code must not join (its output enters every round seed).
interface IRandomnessBeacon {
    /// @notice The beacon's output for the first beacon round published at or after `timestamp`.
    /// @dev Must be a view, deterministic once `ready` is true (the same value ever after), and
    /// must not depend on the caller. An AllianceTask calls it with a fixed gas allowance and
    /// treats a revert like `ready == false`.
    /// @param timestamp Unix time the value must postdate (the task passes the close of the
    /// round's seed reveal window, so the value was unknown while members revealed).
    /// @return ready True once the value is on chain.
    /// @return value The randomness (meaningful only when `ready`).
    function randomnessAt(uint256 timestamp) external view returns (bool ready, bytes32 value);
}
