// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IRandomnessBeacon} from "../../IRandomnessBeacon.sol";

/// @dev A beacon a test sets by hand: not ready for a time until `publish`, then one fixed
/// value for it (the first publication wins, as a real beacon's value never changes).
contract ManualBeacon is IRandomnessBeacon {
    mapping(uint256 => bytes32) public valueAt;
    mapping(uint256 => bool) public readyAt;

    function publish(uint256 timestamp, bytes32 value) external {
        if (readyAt[timestamp]) return;
        valueAt[timestamp] = value;
        readyAt[timestamp] = true;
    }

    function randomnessAt(uint256 timestamp) external view returns (bool ready, bytes32 value) {
        return (readyAt[timestamp], valueAt[timestamp]);
    }
}
