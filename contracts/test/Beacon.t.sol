// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Base} from "./Base.t.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {IAllianceTask} from "../IAllianceTask.sol";
import {IRandomnessBeacon} from "../IRandomnessBeacon.sol";
import {ManualBeacon} from "./utils/ManualBeacon.sol";

/// @dev Beacons that misbehave: revert, burn all gas, return short data, return a non-boolean flag.
contract BrokenBeacon {
    uint256 public mode;

    constructor(uint256 mode_) {
        mode = mode_;
    }

    fallback() external {
        if (mode == 0) revert("down");
        if (mode == 1) {
            while (true) {}
        }
        if (mode == 2) {
            assembly {
                mstore(0, 1)
                return(0, 32)
            }
        }
        assembly {
            mstore(0, 2) // flag 2: not a boolean, so not ready
            mstore(32, 0x1234)
            return(0, 64)
        }
    }
}

/// Specification of the pluggable randomness beacon: its value, unknown until after every seed
/// secret of a round was revealed, enters that round's seed; a dead or broken beacon delays the
/// round by at most the grace period and never locks the task.
contract BeaconTest is Base {
    uint32 internal constant GRACE = 1 hours;
    ManualBeacon internal beacon;

    function setUp() public override {
        super.setUp();
        beacon = new ManualBeacon();
        _use(_createBeaconTask(IRandomnessBeacon(address(beacon))));
    }

    function _createBeaconTask(IRandomnessBeacon b) internal returns (AllianceTask t) {
        vm.startPrank(creator);
        token.approve(address(factory), POOL);
        t = factory.createTaskWithBeacon(token, _config(), POOL, b, GRACE);
        vm.stopPrank();
        for (uint256 i = 0; i < actors.length; ++i) {
            vm.prank(actors[i]);
            token.approve(address(t), type(uint256).max);
        }
    }

    function _seedWith(uint256 round, bytes32 entropy) internal view returns (bytes32) {
        return keccak256(abi.encode(task.SEED_DOMAIN(), address(task), block.chainid, round, entropy));
    }

    function _entropy1(uint256 n) internal view returns (bytes32 entropy) {
        for (uint256 i = 0; i < n; ++i) {
            entropy ^= _secret(actors[i], 1);
        }
    }

    function test_createTaskWithBeacon_recordsBeaconAndGrace() public view {
        assertEq(address(task.randomnessBeacon()), address(beacon));
        assertEq(task.beaconGrace(), GRACE);
    }

    function test_initializeBeacon_onlyFactoryAndOnlyOnce() public {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.TaskOnlyFactory.selector, address(this)));
        task.initializeBeacon(IRandomnessBeacon(address(0xBEEF)), 0);
        vm.prank(address(factory));
        vm.expectRevert(IAllianceTask.BeaconAlreadySet.selector);
        task.initializeBeacon(IRandomnessBeacon(address(0xBEEF)), 0);
    }

    function test_openRound_mixesTheBeaconValueForTheCloseOfTheSeedRevealWindow(bytes32 value) public {
        _joinActors(10);
        _revealSeedsFor(1);
        (, uint256 target) = task.seedRevealWindow(1);
        beacon.publish(target, value);
        vm.warp(target + 5);
        bytes32 expected = _seedWith(1, _entropy1(10) ^ value);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.BeaconMixed(1, target, value);
        task.start();
        assertEq(task.seedOf(1), expected);
    }

    /// The last revealer sees every other secret but not the beacon's later value, so its
    /// choice to reveal or withhold (at the cost of its slash) cannot aim the seed.
    function test_openRound_seedChangesWithTheBeaconValue(bytes32 a, bytes32 b) public {
        vm.assume(a != b);
        _joinActors(10);
        _revealSeedsFor(1);
        (, uint256 target) = task.seedRevealWindow(1);
        vm.warp(target);
        uint256 snap = vm.snapshotState();
        beacon.publish(target, a);
        task.start();
        bytes32 seedA = task.seedOf(1);
        vm.revertToState(snap);
        beacon.publish(target, b);
        task.start();
        assertTrue(task.seedOf(1) != seedA, "the beacon value does not enter the seed");
    }

    function test_openRound_waitsForTheBeaconUntilTheGraceEnds() public {
        _joinActors(10);
        _revealSeedsFor(1);
        (, uint256 target) = task.seedRevealWindow(1);
        vm.warp(target + GRACE - 1);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.BeaconNotReady.selector, 1, target, target + GRACE));
        task.start();
        vm.warp(target + GRACE);
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.BeaconMissed(1, target);
        task.start();
        assertEq(task.seedOf(1), _seedWith(1, _entropy1(10)), "fallback seed is not commit-reveal alone");
    }

    function test_openRound_brokenBeaconsCountAsNotReady(uint256 mode) public {
        mode = bound(mode, 0, 3);
        AllianceTask t = _createBeaconTask(IRandomnessBeacon(address(new BrokenBeacon(mode))));
        _use(t);
        _joinActors(10);
        _revealSeedsFor(1);
        (, uint256 target) = task.seedRevealWindow(1);
        vm.warp(target);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.BeaconNotReady.selector, 1, target, target + GRACE));
        task.start();
        vm.warp(target + GRACE);
        task.start();
        assertEq(task.seedOf(1), _seedWith(1, _entropy1(10)));
    }

    /// A caller who sends too little gas cannot starve the beacon call into "not ready" and
    /// so skip the beacon after the grace period.
    function test_openRound_refusesGasTooLowForTheBeacon() public {
        _joinActors(10);
        _revealSeedsFor(1);
        (, uint256 target) = task.seedRevealWindow(1);
        beacon.publish(target, keccak256("drand"));
        vm.warp(target + GRACE);
        (bool ok,) = address(task).call{gas: 90_000}(abi.encodeCall(AllianceTask.start, ()));
        assertFalse(ok, "start went through without the gas the beacon needs");
        (uint256 current,,) = task.status();
        assertEq(current, 0, "round 1 opened without the beacon");
        task.start();
        assertEq(task.seedOf(1), _seedWith(1, _entropy1(10) ^ keccak256("drand")));
    }

    /// Round 2 opens in settle: its target is the close of round 1's vote reveal window (the
    /// window in which round 2's secrets are revealed), and settle waits for the beacon too.
    function test_settle_opensTheNextRoundWithItsOwnBeaconValue() public {
        _joinActors(10);
        _revealSeedsFor(1);
        (, uint256 target1) = task.seedRevealWindow(1);
        beacon.publish(target1, keccak256("one"));
        _start();
        (, address[] memory voters,) = _rolesOf(1);
        _warpToCommit(1);
        for (uint256 i = 0; i < voters.length; ++i) {
            _commitVote(1, voters[i], _scores(8000));
        }
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _warpToSettle(1);
        (, uint256 target2) = task.seedRevealWindow(2);
        AllianceTask.SettleInput memory input = _settleInput();
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.BeaconNotReady.selector, 2, target2, target2 + GRACE));
        task.settle(1, input);
        beacon.publish(target2, keccak256("two"));
        vm.expectEmit(true, true, true, true, address(task));
        emit IAllianceTask.BeaconMixed(2, target2, keccak256("two"));
        task.settle(1, input);
        (uint256 current,,) = task.status();
        assertEq(current, 2);
    }
}
