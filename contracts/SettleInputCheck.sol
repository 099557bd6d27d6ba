// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AllianceTask} from "./AllianceTask.sol";
import {IAllianceTask} from "./IAllianceTask.sol";
import {Majority} from "./Majority.sol";

/// @title SettleInputCheck
/// @notice Checks a settler's input (what the chain holds only as events and commitments)
/// against one round's record: the proposers' and voters' seats and the vote commitments.
library SettleInputCheck {
    /// @notice Reverts with `SettlementInputInvalid(field, index)` unless `input` lists the
    /// round's proposers in proposal order, its revealed voters ascending by address with the
    /// scores, attestations and salts their commitments bind, and its committed voters who did
    /// not reveal (`missing`) ascending by address; returns the XOR of the revealed salts and the
    /// Boyer-Moore majority candidate of the attestations (one pass).
    /// @dev `voters` and `missing` are disjoint sets of committers (checked seat by seat) that
    /// together count every commit: so `voters` holds exactly the voters who revealed, and
    /// `missing` exactly those who did not.
    function check(
        mapping(address => AllianceTask.Seat[2]) storage seats,
        uint256 round,
        IAllianceTask.RoundInfo storage info,
        AllianceTask.SettleInput calldata input
    ) internal view returns (bytes32 salts, bytes32 candidate) {
        uint256 parity = round % 2;
        if (input.proposers.length != info.numProposals) {
            revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Proposers, 0);
        }
        for (uint256 i = 0; i < input.proposers.length; ++i) {
            AllianceTask.Seat storage seat = seats[input.proposers[i]][parity];
            if (seat.round != round || seat.proposalIndex1 != i + 1) {
                revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Proposers, i);
            }
        }
        uint256 reveals = input.voters.length;
        if (reveals + input.missing.length != info.numVoteCommits) {
            revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Missing, 0);
        }
        if (input.scores.length != reveals || input.salts.length != reveals) {
            revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Voters, 0);
        }
        if (input.attestations.length != reveals) {
            revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Attestations, 0);
        }
        uint256 lead = 0;
        address previous = address(0);
        for (uint256 v = 0; v < reveals; ++v) {
            address voter = input.voters[v];
            if (v > 0 && voter <= previous) {
                revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.VotersOrder, v);
            }
            previous = voter;
            AllianceTask.Seat storage seat = seats[voter][parity];
            if (seat.round != round || !seat.voteRevealed) {
                revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Voters, v);
            }
            bytes32 attestation = input.attestations[v];
            bytes32 salt = input.salts[v];
            if (
                bytes24(keccak256(abi.encodePacked(input.scores[v], attestation, salt, voter, round)))
                    != seat.voteCommit
            ) {
                revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Scores, v);
            }
            salts ^= salt;
            (candidate, lead) = Majority.vote(candidate, lead, attestation);
        }
        for (uint256 m = 0; m < input.missing.length; ++m) {
            address voter = input.missing[m];
            if (m > 0 && voter <= input.missing[m - 1]) {
                revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.MissingOrder, m);
            }
            AllianceTask.Seat storage seat = seats[voter][parity];
            if (seat.round != round || !seat.voteCommitted || seat.voteRevealed) {
                revert IAllianceTask.SettlementInputInvalid(IAllianceTask.SettleField.Missing, m);
            }
        }
    }
}
