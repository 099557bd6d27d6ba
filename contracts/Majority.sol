// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Majority
/// @notice Strict-majority tally of hashes (the voters' attestations) in two passes: the
/// Boyer-Moore candidate (the only value that can hold a strict majority), then its count.
library Majority {
    /// @notice One Boyer-Moore step: the running `candidate` and its `lead` after `ballot`.
    function vote(bytes32 candidate, uint256 lead, bytes32 ballot) internal pure returns (bytes32, uint256) {
        if (lead == 0) return (ballot, 1);
        if (ballot == candidate) return (candidate, lead + 1);
        return (candidate, lead - 1);
    }

    /// @notice How many `ballots` equal `expected`, and a bit mask of the others (bit v set
    /// when ballot v differs; at most 256 ballots, the caller's committee cap bounds them).
    function count(bytes32[] calldata ballots, bytes32 expected)
        internal
        pure
        returns (uint256 votes, uint256 dissenters)
    {
        for (uint256 v = 0; v < ballots.length; ++v) {
            if (ballots[v] == expected) {
                unchecked {
                    ++votes; // at most ballots.length
                }
            } else {
                dissenters |= uint256(1) << v;
            }
        }
    }
}
