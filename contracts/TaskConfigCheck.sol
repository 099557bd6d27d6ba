// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAllianceTask} from "./IAllianceTask.sol";
import {PackedScores} from "./PackedScores.sol";
import {Stats} from "./Stats.sol";

/// @title TaskConfigCheck
/// @notice The range checks a task's configuration must pass when the task is initialised.
library TaskConfigCheck {
    /// @notice Largest proposer committee a task may ask for (bounds settlement gas).
    uint256 internal constant MAX_PROPOSERS = 32;
    /// @notice Largest voter committee a task may ask for (bounds settlement gas).
    uint256 internal constant MAX_VOTERS = 64;

    /// @notice Reverts with `TaskInvalidConfig(field)` for the first field of `c` out of range:
    /// committees within the caps, a `minVoters` that a full roster's committee can reach
    /// (else every round is void), non-zero periods, stake, samples and rounds, basis points
    /// within MAX_SCORE, accept tolerances no wider than the slash tolerances they sit inside,
    /// and a non-zero softmax temperature for the softmax rule.
    function validate(IAllianceTask.TaskConfig memory c) internal pure {
        if (c.minStake == 0) revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.MinStake);
        if (c.maxParticipants < 2) revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.MaxParticipants);
        if (c.proposersPerRound == 0 || c.proposersPerRound > MAX_PROPOSERS) {
            revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.ProposersPerRound);
        }
        if (c.maxVoters == 0 || c.maxVoters > MAX_VOTERS) {
            revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.MaxVoters);
        }
        // minVoters must be reachable by a full roster's committee, else every round is void
        uint256 fullProposers = Stats.min(c.proposersPerRound, c.maxParticipants - 1);
        if (c.minVoters > c.maxVoters || c.minVoters > c.maxParticipants - fullProposers) {
            revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.MinVoters);
        }
        if (c.maxSamples == 0) revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.MaxSamples);
        if (c.rounds == 0) revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.Rounds);
        if (c.enrolPeriod == 0 || c.proposePeriod == 0 || c.commitPeriod == 0 || c.revealPeriod == 0) {
            revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.Period);
        }
        if (c.slashBps > PackedScores.MAX_SCORE) {
            revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.SlashBps);
        }
        if (
            c.minDeviationBps > PackedScores.MAX_SCORE || c.washMadBps > PackedScores.MAX_SCORE
                || c.baseBandBps > PackedScores.MAX_SCORE
        ) {
            revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.ConsensusBand);
        }
        if (c.voterShareBps > PackedScores.MAX_SCORE) {
            revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.VoterShareBps);
        }
        if (
            c.toleranceBps > PackedScores.MAX_SCORE || c.peerToleranceBps > PackedScores.MAX_SCORE
                || c.acceptToleranceBps > c.toleranceBps || c.acceptPeerToleranceBps > c.peerToleranceBps
        ) {
            revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.ToleranceBps);
        }
        if (c.rewardRule == IAllianceTask.RewardRule.Softmax && c.softmaxTemperatureBps == 0) {
            revert IAllianceTask.TaskInvalidConfig(IAllianceTask.ConfigField.SoftmaxTemperatureBps);
        }
    }
}
