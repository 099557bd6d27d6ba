// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAllianceTask} from "./IAllianceTask.sol";

/// @title PackedScores
/// @notice A voter's packed score vector (2 bytes big-endian per item: the round's base model
/// first, then each proposal in index order) and its range check.
library PackedScores {
    /// @notice Scores are accuracies in basis points.
    uint256 internal constant MAX_SCORE = 10_000;
    /// @notice The score of a blob the voter could not fetch; counts as 0 in consensus.
    uint256 internal constant UNAVAILABLE = 0xFFFF;

    /// @notice The `index`-th 2-byte big-endian value of `packed` (reverts past its end).
    function wordAt(bytes calldata packed, uint256 index) internal pure returns (uint256) {
        return uint256(uint16(bytes2(packed[2 * index:2 * index + 2])));
    }

    /// @notice Reverts unless `scores` holds one score per item (the base model and
    /// `numProposals` proposals), each at most MAX_SCORE or the mark UNAVAILABLE.
    function check(bytes calldata scores, uint256 numProposals) internal pure {
        uint256 items = numProposals + 1;
        if (scores.length != 2 * items) revert IAllianceTask.VoteScoresLength(scores.length, 2 * items);
        for (uint256 i = 0; i < items; ++i) {
            uint256 score = wordAt(scores, i);
            if (score > MAX_SCORE && score != UNAVAILABLE) revert IAllianceTask.VoteScoreOutOfRange(i, score);
        }
    }

    /// @notice Whether a strict majority of the voters' `scores` mark `item` UNAVAILABLE.
    function mostlyUnavailable(bytes[] calldata scores, uint256 item) internal pure returns (bool) {
        uint256 marks = 0;
        for (uint256 v = 0; v < scores.length; ++v) {
            if (wordAt(scores[v], item) == UNAVAILABLE) ++marks;
        }
        return 2 * marks > scores.length;
    }
}
