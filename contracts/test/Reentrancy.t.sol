// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Base} from "./Base.t.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {IAllianceTask} from "../IAllianceTask.sol";

interface ITokenHook {
    function onTokenTransfer(address from, address to, uint256 amount) external;
}

/// @dev ERC-777-style ERC-20: a hooked sender is called before its tokens move
/// (tokensToSend), a hooked recipient after they arrived (tokensReceived).
contract HookToken is ERC20 {
    mapping(address => bool) public hooked;

    constructor(uint256 supply) ERC20("Hook Token", "HOOK") {
        _mint(msg.sender, supply);
    }

    function setHooked(address account, bool on) external {
        hooked[account] = on;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && hooked[from]) ITokenHook(from).onTokenTransfer(from, to, value);
        super._update(from, to, value);
        if (to != address(0) && hooked[to]) ITokenHook(to).onTokenTransfer(from, to, value);
    }
}

/// @dev Takes a fee of `feeBps` on every transfer once switched on (fee goes to a sink).
contract FeeToken is ERC20 {
    uint256 public feeBps;
    address public constant SINK = address(0xFEE);

    constructor(uint256 supply) ERC20("Fee Token", "FEE") {
        _mint(msg.sender, supply);
    }

    function setFee(uint256 bps) external {
        feeBps = bps;
    }

    function _update(address from, address to, uint256 value) internal override {
        uint256 fee = from == address(0) || to == address(0) ? 0 : (value * feeBps) / 10_000;
        if (fee > 0) super._update(from, SINK, fee);
        super._update(from, to, value - fee);
    }
}

/// @dev A participant contract that, when armed, re-enters the task from the token hook with
/// every payout and stake entry point, catching and recording what happens.
contract Attacker is ITokenHook {
    AllianceTask public immutable task;
    IERC20 public immutable token;
    bool public armed;
    bool public bubble; // re-enter claim() without catching, so the revert propagates
    uint256 public attempts;
    uint256 public successes;
    bytes4[] public errors;

    constructor(AllianceTask task_, IERC20 token_) {
        task = task_;
        token = token_;
    }

    function arm(bool bubble_) external {
        armed = true;
        bubble = bubble_;
    }

    function errorCount() external view returns (uint256) {
        return errors.length;
    }

    function onTokenTransfer(address, address, uint256) external override {
        require(msg.sender == address(token), "not the token");
        if (!armed) return;
        armed = false; // one level of re-entry
        if (bubble) {
            task.claim();
            return;
        }
        _try(abi.encodeCall(AllianceTask.claim, ()));
        _try(abi.encodeCall(AllianceTask.withdraw, ()));
        _try(abi.encodeCall(AllianceTask.leave, ()));
        _try(abi.encodeCall(AllianceTask.stakeMore, (1e18)));
        _try(abi.encodeCall(AllianceTask.join, (100e18, 0, bytes32(0))));
        _try(abi.encodeCall(AllianceTask.reclaimLeftover, ()));
    }

    function _try(bytes memory data) private {
        ++attempts;
        (bool ok, bytes memory ret) = address(task).call(data);
        if (ok) {
            ++successes;
        } else {
            errors.push(bytes4(ret));
        }
    }
}

contract ReentrancyTest is Base {
    HookToken internal hookToken;
    Attacker internal attacker;
    address internal honest;

    function _deployToken() internal override returns (IERC20) {
        hookToken = new HookToken(SUPPLY);
        return IERC20(address(hookToken));
    }

    function setUp() public override {
        super.setUp();
        IAllianceTask.TaskConfig memory c = _config();
        c.rounds = 1;
        // a one-round task whose participants are the attacker contract and one honest actor
        AllianceTask t = _createTask(c, POOL);
        attacker = new Attacker(t, token);
        vm.label(address(attacker), "attacker");
        token.transfer(address(attacker), ACTOR_FUNDS);
        vm.prank(address(attacker));
        token.approve(address(t), type(uint256).max);
        hookToken.setHooked(address(attacker), true);
        honest = actors[1];
        actors[0] = address(attacker); // the helpers drive actors[0..n)
        _use(t);
    }

    function _assertAllReentriesBlocked() internal view {
        assertEq(attacker.successes(), 0, "a re-entrant call succeeded");
        assertEq(attacker.errorCount(), attacker.attempts());
        assertGt(attacker.attempts(), 0, "hook never ran");
        for (uint256 i = 0; i < attacker.errorCount(); ++i) {
            assertTrue(
                attacker.errors(i) == ReentrancyGuard.ReentrancyGuardReentrantCall.selector,
                "re-entry failed for another reason than the guard"
            );
        }
    }

    /// @dev Logs what a test let the attacker take beyond its entitlement (scripts/assurance.sh
    /// sums the `reentrancy_drained_wei` lines of `forge test -vv`), then requires it to be zero.
    function _reportDrained(uint256 gained, uint256 entitled) internal {
        uint256 drained = gained > entitled ? gained - entitled : 0;
        emit log_named_uint("reentrancy_drained_wei", drained);
        assertEq(drained, 0, "attacker drained the task");
    }

    /// @dev Attacker and one honest actor play the single round and the closing round that
    /// attests its aggregate; both are credited.
    function _playRound() internal {
        _openRound1(2);
        (address[] memory props, address[] memory voters,) = _rolesOf(1);
        assertEq(props.length, 1);
        assertEq(voters.length, 1);
        _proposeAll(1, props);
        _warpToCommit(1);
        _commitVote(1, voters[0], _scores(8000, 8100));
        _warpToVoteReveal(1);
        _revealAllVotesExcept(1, address(0));
        _settle(1);
        _playClosingRound(8000);
        (, bool ended,) = task.status();
        assertTrue(ended, "task should have ended");
        assertGt(_claimable(address(attacker)), 0, "attacker not credited");
    }

    function test_reentrancy_claimPaysOnlyTheEntitlement() public {
        _playRound();
        uint256 owed = _claimable(address(attacker));
        uint256 before = token.balanceOf(address(attacker));
        attacker.arm(false);
        vm.prank(address(attacker));
        task.claim();
        _assertAllReentriesBlocked();
        _reportDrained(token.balanceOf(address(attacker)) - before, owed);
        assertEq(token.balanceOf(address(attacker)) - before, owed, "paid more than credited");
        assertEq(_claimable(address(attacker)), 0);
        assertEq(_stake(address(attacker)), MIN_STAKE, "stake moved during claim");
        _assertConserved();
    }

    function test_reentrancy_withdrawPaysOnlyTheStake() public {
        _playRound();
        uint256 owed = _claimable(address(attacker));
        uint256 before = token.balanceOf(address(attacker));
        attacker.arm(false);
        vm.prank(address(attacker));
        task.withdraw();
        _assertAllReentriesBlocked();
        _reportDrained(token.balanceOf(address(attacker)) - before, MIN_STAKE);
        assertEq(token.balanceOf(address(attacker)) - before, MIN_STAKE, "paid more than the stake");
        assertEq(_claimable(address(attacker)), owed, "claimable changed");
        _assertConserved();

        // claim afterwards: the whole entitlement, once
        vm.prank(address(attacker));
        task.claim();
        assertEq(token.balanceOf(address(attacker)) - before, MIN_STAKE + owed);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.NothingToPay.selector, address(attacker)));
        vm.prank(address(attacker));
        task.withdraw();

        // everybody else settles up and the task is left empty
        vm.startPrank(honest);
        task.withdraw();
        task.claim();
        vm.stopPrank();
        if (task.rewardPool() > 0) {
            vm.prank(creator);
            task.reclaimLeftover();
        }
        assertEq(token.balanceOf(address(task)), 0, "task not empty");
    }

    function test_reentrancy_bubbledReentryRevertsTheClaim() public {
        _playRound();
        uint256 owed = _claimable(address(attacker));
        uint256 before = token.balanceOf(address(attacker));
        attacker.arm(true);
        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        vm.prank(address(attacker));
        task.claim();
        _reportDrained(token.balanceOf(address(attacker)) - before, 0);
        assertEq(_claimable(address(attacker)), owed, "claimable lost");
        assertEq(token.balanceOf(address(attacker)), before, "paid anyway");
        _assertConserved();
    }

    function test_reentrancy_leaveRefundsOnlyTheStakeLessTheFee() public {
        uint256 before = token.balanceOf(address(attacker));
        _join(address(attacker), 300e18, true);
        uint256 joined = token.balanceOf(address(attacker));
        attacker.arm(false);
        vm.prank(address(attacker));
        task.leave();
        _assertAllReentriesBlocked();
        uint256 fee = 30e18; // slashBps 10 % of the stake
        _reportDrained(token.balanceOf(address(attacker)) - joined, 300e18 - fee);
        assertEq(token.balanceOf(address(attacker)), before - fee, "refund differs from stake less the fee");
        assertEq(task.rewardPool(), POOL + fee, "fee not in the pool");
        assertFalse(task.isParticipant(address(attacker)), "still a participant");
        assertEq(task.totalStaked(), 0);
        _assertConserved();
    }

    function test_reentrancy_joinPullHookCannotReenter() public {
        uint256 before = token.balanceOf(address(attacker));
        attacker.arm(false); // tokensToSend fires while join pulls the stake
        _join(address(attacker), 250e18, false);
        _assertAllReentriesBlocked();
        uint256 paid = before - token.balanceOf(address(attacker));
        _reportDrained(_stake(address(attacker)) + _claimable(address(attacker)), paid);
        assertEq(before - token.balanceOf(address(attacker)), 250e18);
        assertEq(_stake(address(attacker)), 250e18, "stake differs from what was pulled");
        assertEq(task.totalStaked(), 250e18);
        _assertConserved();
    }

    function test_reentrancy_stakeMorePullHookCannotReenter() public {
        _join(address(attacker), MIN_STAKE, false);
        uint256 before = token.balanceOf(address(attacker));
        attacker.arm(false);
        vm.prank(address(attacker));
        task.stakeMore(50e18);
        _assertAllReentriesBlocked();
        _reportDrained(_stake(address(attacker)) - MIN_STAKE, before - token.balanceOf(address(attacker)));
        assertEq(_stake(address(attacker)), MIN_STAKE + 50e18);
        _assertConserved();
    }
}

contract FeeOnTransferTest is Base {
    FeeToken internal feeToken;

    function _deployToken() internal override returns (IERC20) {
        feeToken = new FeeToken(SUPPLY);
        return IERC20(address(feeToken));
    }

    function test_join_refusesFeeOnTransferToken() public {
        feeToken.setFee(100); // 1 %
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.TokenTransferShort.selector, 100e18, 99e18));
        vm.prank(actors[0]);
        task.join(100e18, 1, bytes32(0));
        assertFalse(task.isParticipant(actors[0]));
        assertEq(task.totalStaked(), 0);
    }

    function test_stakeMore_refusesFeeOnTransferToken() public {
        _join(actors[0], MIN_STAKE, false);
        feeToken.setFee(50);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.TokenTransferShort.selector, 10e18, 9.95e18));
        vm.prank(actors[0]);
        task.stakeMore(10e18);
        assertEq(_stake(actors[0]), MIN_STAKE);
    }

    function test_factory_refusesFeeOnTransferPool() public {
        feeToken.setFee(100);
        IAllianceTask.TaskConfig memory c = _config();
        vm.startPrank(creator);
        token.approve(address(factory), 1000e18);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.TokenTransferShort.selector, 1000e18, 990e18));
        factory.createTask(token, c, 1000e18);
        vm.stopPrank();
    }
}
