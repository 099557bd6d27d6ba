// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @dev Minimal stand-in for forge-std (not installable offline). Only what flock's tests use.
/// The cheatcode signatures are Foundry's; the invariant hooks mirror forge-std's StdInvariant.
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function prevrandao(bytes32 newPrevrandao) external;
    function coinbase(address newCoinbase) external;
    function setBlockhash(uint256 blockNumber, bytes32 blockHash) external;
    function fee(uint256 newBasefee) external;
    function skip(bool skipTest) external;
    function envOr(string calldata name, bool defaultValue) external view returns (bool value);
    function getBlockNumber() external view returns (uint256);
    function getBlockTimestamp() external view returns (uint256);
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit() external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    function assume(bool condition) external pure;
    function label(address account, string calldata newLabel) external;
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);
}

/// @dev forge-std's StdInvariant, verbatim in shape: forge calls these getters by name.
abstract contract StdInvariant {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    struct FuzzArtifactSelector {
        string artifact;
        bytes4[] selectors;
    }

    struct FuzzInterface {
        address addr;
        string[] artifacts;
    }

    address[] private _excludedContracts;
    address[] private _excludedSenders;
    address[] private _targetedContracts;
    address[] private _targetedSenders;

    string[] private _excludedArtifacts;
    string[] private _targetedArtifacts;

    FuzzArtifactSelector[] private _targetedArtifactSelectors;

    FuzzSelector[] private _excludedSelectors;
    FuzzSelector[] private _targetedSelectors;

    FuzzInterface[] private _targetedInterfaces;

    function excludeArtifacts() public view returns (string[] memory excludedArtifacts_) {
        excludedArtifacts_ = _excludedArtifacts;
    }

    function excludeContracts() public view returns (address[] memory excludedContracts_) {
        excludedContracts_ = _excludedContracts;
    }

    function excludeSelectors() public view returns (FuzzSelector[] memory excludedSelectors_) {
        excludedSelectors_ = _excludedSelectors;
    }

    function excludeSenders() public view returns (address[] memory excludedSenders_) {
        excludedSenders_ = _excludedSenders;
    }

    function targetArtifacts() public view returns (string[] memory targetedArtifacts_) {
        targetedArtifacts_ = _targetedArtifacts;
    }

    function targetArtifactSelectors() public view returns (FuzzArtifactSelector[] memory targetedArtifactSelectors_) {
        targetedArtifactSelectors_ = _targetedArtifactSelectors;
    }

    function targetContracts() public view returns (address[] memory targetedContracts_) {
        targetedContracts_ = _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targetedSelectors_) {
        targetedSelectors_ = _targetedSelectors;
    }

    function targetSenders() public view returns (address[] memory targetedSenders_) {
        targetedSenders_ = _targetedSenders;
    }

    function targetInterfaces() public view returns (FuzzInterface[] memory targetedInterfaces_) {
        targetedInterfaces_ = _targetedInterfaces;
    }

    function excludeContract(address newExcludedContract_) internal {
        _excludedContracts.push(newExcludedContract_);
    }

    function excludeSelector(FuzzSelector memory newExcludedSelector_) internal {
        _excludedSelectors.push(newExcludedSelector_);
    }

    function excludeSender(address newExcludedSender_) internal {
        _excludedSenders.push(newExcludedSender_);
    }

    function excludeArtifact(string memory newExcludedArtifact_) internal {
        _excludedArtifacts.push(newExcludedArtifact_);
    }

    function targetArtifact(string memory newTargetedArtifact_) internal {
        _targetedArtifacts.push(newTargetedArtifact_);
    }

    function targetArtifactSelector(FuzzArtifactSelector memory newTargetedArtifactSelector_) internal {
        _targetedArtifactSelectors.push(newTargetedArtifactSelector_);
    }

    function targetContract(address newTargetedContract_) internal {
        _targetedContracts.push(newTargetedContract_);
    }

    function targetSelector(FuzzSelector memory newTargetedSelector_) internal {
        _targetedSelectors.push(newTargetedSelector_);
    }

    function targetSender(address newTargetedSender_) internal {
        _targetedSenders.push(newTargetedSender_);
    }

    function targetInterface(FuzzInterface memory newTargetedInterface_) internal {
        _targetedInterfaces.push(newTargetedInterface_);
    }
}

/// @dev Cheatcode handle plus forge-std's `bound` (same wrapping rule), for tests and handlers.
abstract contract CommonBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 private constant UINT256_MAX = type(uint256).max;

    /// @dev forge-std's _bound: values already in range are kept, 0..3 and MAX-3..MAX map to the
    /// edges, anything else wraps into [min, max].
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256 result) {
        require(min <= max, "bound: max is less than min");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (x <= 3 && size > x) return min + x;
        if (x >= UINT256_MAX - 3 && size > UINT256_MAX - x) return max - (UINT256_MAX - x);
        if (x > max) {
            uint256 diff = x - max;
            uint256 rem = diff % size;
            if (rem == 0) return max;
            result = min + rem - 1;
        } else {
            uint256 diff = min - x;
            uint256 rem = diff % size;
            if (rem == 0) return min;
            result = max - rem + 1;
        }
    }
}

/// @dev Assertions revert with a message (forge treats a reverting test as failed).
abstract contract Test is CommonBase, StdInvariant {
    bool public IS_TEST = true;

    /// @dev Decoded and printed by forge with -vv (DSTest's logging events).
    event log_named_uint(string key, uint256 val);

    function fail(string memory message) internal pure {
        revert(message);
    }

    function assertTrue(bool condition) internal pure {
        if (!condition) revert("assertion failed");
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) revert(message);
    }

    function assertFalse(bool condition) internal pure {
        if (condition) revert("assertion failed: expected false");
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) revert(message);
    }

    function assertEq(uint256 left, uint256 right) internal pure {
        if (left != right) revert(string.concat("assertEq(uint) ", _u(left), " != ", _u(right)));
    }

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left != right) revert(string.concat(message, ": ", _u(left), " != ", _u(right)));
    }

    function assertEq(address left, address right) internal pure {
        if (left != right) revert("assertEq(address) failed");
    }

    function assertEq(address left, address right, string memory message) internal pure {
        if (left != right) revert(message);
    }

    function assertEq(address[] memory left, address[] memory right, string memory message) internal pure {
        if (left.length != right.length) revert(string.concat(message, ": lengths differ"));
        for (uint256 i = 0; i < left.length; ++i) {
            if (left[i] != right[i]) revert(message);
        }
    }

    function assertEq(bytes32 left, bytes32 right) internal pure {
        if (left != right) revert("assertEq(bytes32) failed");
    }

    function assertEq(bytes32 left, bytes32 right, string memory message) internal pure {
        if (left != right) revert(message);
    }

    function assertEq(bool left, bool right) internal pure {
        if (left != right) revert("assertEq(bool) failed");
    }

    function assertEq(bool left, bool right, string memory message) internal pure {
        if (left != right) revert(message);
    }

    function assertNotEq(uint256 left, uint256 right) internal pure {
        if (left == right) revert(string.concat("assertNotEq(uint) both ", _u(left)));
    }

    function assertGt(uint256 left, uint256 right) internal pure {
        if (left <= right) revert(string.concat("assertGt ", _u(left), " <= ", _u(right)));
    }

    function assertGt(uint256 left, uint256 right, string memory message) internal pure {
        if (left <= right) revert(string.concat(message, ": ", _u(left), " <= ", _u(right)));
    }

    function assertGe(uint256 left, uint256 right) internal pure {
        if (left < right) revert(string.concat("assertGe ", _u(left), " < ", _u(right)));
    }

    function assertGe(uint256 left, uint256 right, string memory message) internal pure {
        if (left < right) revert(string.concat(message, ": ", _u(left), " < ", _u(right)));
    }

    function assertLt(uint256 left, uint256 right) internal pure {
        if (left >= right) revert(string.concat("assertLt ", _u(left), " >= ", _u(right)));
    }

    function assertLe(uint256 left, uint256 right) internal pure {
        if (left > right) revert(string.concat("assertLe ", _u(left), " > ", _u(right)));
    }

    function assertLe(uint256 left, uint256 right, string memory message) internal pure {
        if (left > right) revert(string.concat(message, ": ", _u(left), " > ", _u(right)));
    }

    function _u(uint256 value) private pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) ++digits;
        bytes memory buffer = new bytes(digits);
        while (value != 0) {
            --digits;
            buffer[digits] = bytes1(uint8(48 + (value % 10)));
            value /= 10;
        }
        return string(buffer);
    }
}
