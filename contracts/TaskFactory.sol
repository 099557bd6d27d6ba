// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {AllianceTask} from "./AllianceTask.sol";
import {IAllianceTask} from "./IAllianceTask.sol";
import {IRandomnessBeacon} from "./IRandomnessBeacon.sol";

/// @title TaskFactory
/// @notice Creates one AllianceTask per federated-learning task (an EIP-1167 clone of one
/// audited implementation), funded with its reward pool.
contract TaskFactory is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The AllianceTask implementation every task clones.
    address public immutable implementation;

    /// @notice The reward pool must not be empty.
    error FactoryEmptyRewardPool();

    /// @notice A task was created and funded.
    event TaskCreated(
        address indexed task,
        address indexed creator,
        address indexed token,
        bytes32 specHash,
        uint256 rewardPool
    );

    address[] private _tasks;

    /// @param implementation_ A deployed AllianceTask (its own storage is locked by its constructor).
    constructor(address implementation_) {
        implementation = implementation_;
    }

    /// @notice Deploys a task and funds it with `rewardPool` tokens pulled from the caller; its
    /// round seeds come from its members' commit-reveal entropy alone.
    /// @param token ERC-20 for stake and rewards (the caller must have approved this factory).
    /// @param config The task's immutable rules.
    /// @param rewardPool Tokens moved from the caller into the task's reward pool.
    function createTask(IERC20 token, IAllianceTask.TaskConfig calldata config, uint256 rewardPool)
        external
        nonReentrant
        returns (AllianceTask task)
    {
        task = _create(token, config, rewardPool, IRandomnessBeacon(address(0)), 0);
    }

    /// @notice Deploys a task like `createTask` whose round seeds also mix `beacon`'s randomness.
    /// @param token ERC-20 for stake and rewards (the caller must have approved this factory).
    /// @param config The task's immutable rules.
    /// @param rewardPool Tokens moved from the caller into the task's reward pool.
    /// @param beacon The randomness beacon (its output enters every round seed: members must
    /// trust its code).
    /// @param beaconGrace Seconds after a round's target time after which the round opens
    /// without the beacon's value.
    function createTaskWithBeacon(
        IERC20 token,
        IAllianceTask.TaskConfig calldata config,
        uint256 rewardPool,
        IRandomnessBeacon beacon,
        uint32 beaconGrace
    ) external nonReentrant returns (AllianceTask task) {
        task = _create(token, config, rewardPool, beacon, beaconGrace);
    }

    /// @notice Number of tasks created.
    function taskCount() external view returns (uint256) {
        return _tasks.length;
    }

    /// @notice Address of task `index`.
    function taskAt(uint256 index) external view returns (address) {
        return _tasks[index];
    }

    function _create(
        IERC20 token,
        IAllianceTask.TaskConfig calldata config,
        uint256 rewardPool,
        IRandomnessBeacon beacon,
        uint32 beaconGrace
    ) private returns (AllianceTask task) {
        if (rewardPool == 0) revert FactoryEmptyRewardPool();
        task = AllianceTask(Clones.clone(implementation));
        task.initialize(token, msg.sender, config);
        if (address(beacon) != address(0)) task.initializeBeacon(beacon, beaconGrace);
        _tasks.push(address(task));
        token.safeTransferFrom(msg.sender, address(task), rewardPool);
        task.initializePool(rewardPool);
        emit TaskCreated(address(task), msg.sender, address(token), config.specHash, rewardPool);
    }
}
