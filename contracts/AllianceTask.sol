// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IAllianceTask} from "./IAllianceTask.sol";
import {IRandomnessBeacon} from "./IRandomnessBeacon.sol";
import {Band} from "./Band.sol";
import {Consensus} from "./Consensus.sol";
import {Majority} from "./Majority.sol";
import {PackedScores} from "./PackedScores.sol";
import {RewardMath} from "./RewardMath.sol";
import {ScoreMatrix} from "./ScoreMatrix.sol";
import {Seeds} from "./Seeds.sol";
import {SettleInputCheck} from "./SettleInputCheck.sol";
import {Shuffle} from "./Shuffle.sol";
import {Stats} from "./Stats.sol";
import {TaskConfigCheck} from "./TaskConfigCheck.sol";

/// @title AllianceTask
/// @notice One federated-learning task: stake, per-round commit-reveal randomness for roles,
/// proposals by hash, commit-reveal votes per proposer, settlement by median consensus,
/// pull-style rewards and slashing, and the global model adopted only by a voter majority's
/// attestation. Every loop is bounded by one round's committee caps.
/// @dev The global model. Round r's proposers train from the aggregate of round r-1's accepted
/// updates (every member recomputes it: it is a deterministic function of on-chain data and
/// content-addressed blobs). Round r's voters commit, with their scores, the hash of the base
/// model they recomputed (their attestation). Settling round r adopts that aggregate as the
/// global model when a strict majority of r's revealed voters attested one non-zero hash and
/// slashes the voters who attested another; with no majority the aggregate is void for good,
/// round r (built on it) is void, and the alliance continues from the last adopted model.
/// With fewer revealed voters than `minVoters` nothing is decided and the aggregate stays
/// pending for the next round. After the last round a closing round (voters only, no
/// proposals) attests the last aggregate. When no aggregate is pending, voters attest the
/// adopted global model and are slashed for any other hash.
contract AllianceTask is IAllianceTask, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Largest proposer committee a task may ask for (bounds settlement gas).
    uint256 public constant MAX_PROPOSERS = TaskConfigCheck.MAX_PROPOSERS;
    /// @notice Largest voter committee a task may ask for (bounds settlement gas).
    uint256 public constant MAX_VOTERS = TaskConfigCheck.MAX_VOTERS;
    /// @notice Scores are accuracies in basis points.
    uint256 public constant MAX_SCORE = PackedScores.MAX_SCORE;
    /// @notice Domain separator of the round seed.
    bytes32 public constant SEED_DOMAIN = Seeds.DOMAIN;
    /// @notice The score a voter reveals for a proposal whose blob it could not fetch (missing,
    /// not served, or bytes that do not hash to the on-chain hash); counts as 0 in consensus.
    uint256 public constant UNAVAILABLE = PackedScores.UNAVAILABLE;
    /// @notice Largest reward pool and largest total stake; the task's books (pool + stake +
    /// credited rewards, i.e. its token balance) never exceed 2 * MAX_AMOUNT, so every stake
    /// and every credit fits the 112-bit accounting (and slashed stake re-staked cannot grow
    /// the pool past it).
    uint256 public constant MAX_AMOUNT = 2 ** 110;

    /// @dev One slot per participant: stake, credited rewards and 1-based join index.
    struct Account {
        uint112 stake;
        uint112 claimable;
        uint32 index1; // 0 = not a participant
    }

    struct SeedCommit {
        bytes28 commit; // keccak256(secret, participant, round), truncated to 224 bits
        uint32 round;
    }

    /// @dev A participant's seat in one round, in one slot; two alternating slots per
    /// participant (by round parity) so steady-state rounds rewrite slots instead of creating
    /// them. The vote commitment is keccak256(scores, attestation, salt, voter, round) truncated to 192 bits
    /// (second-preimage resistance 2^192; only the voter itself could search for a collision,
    /// at 2^96 work).
    struct Seat {
        uint32 round;
        uint16 proposalIndex1; // 1-based; 0 = no proposal
        bool voteCommitted;
        bool voteRevealed;
        bytes24 voteCommit;
    }

    /// @notice Everything `settle` needs that the chain holds only as events or commitments.
    struct SettleInput {
        address[] proposers; // in proposal index order
        address[] voters; // the voters who revealed, ascending by address
        bytes[] scores; // per voter, the revealed score bytes
        bytes32[] attestations; // per voter, the revealed base-model hash
        bytes32[] salts; // per voter, the revealed salt
        address[] missing; // voters who committed and did not reveal, ascending by address
        bytes hints; // per proposal, then for the base scores: 4 x uint16 (lower/upper middle value and deviation)
    }

    /// @dev Running totals of one settlement.
    struct Tally {
        uint256 poolShare;
        uint256 slashed;
        uint256 credited;
        uint256 acceptedMask;
        Outcome outcome;
    }

    /// @dev Stake added during a round; excluded from that round's stake-rule weight.
    struct TopUp {
        uint112 amount;
        uint32 round;
    }

    IERC20 public token;
    address public factory;
    address public creator;
    uint256 public enrolEnd;

    TaskConfig private _config;
    bool private _initialized;
    bool private _funded;
    bool private _ended;
    uint32 private _participantCount;
    uint32 private _currentRound;
    uint64 private _endedAt;
    uint32 private _modelRound; // round whose aggregate is the global model (0: the initial model)
    uint32 private _pendingRound; // round whose aggregate awaits attestation (0: none)

    uint256 public rewardPool;
    uint256 public totalStaked;
    uint256 public totalClaimable;
    /// @notice Hash of the adopted global model (the initial model until an aggregate is adopted).
    bytes32 public globalModelHash;

    /// @dev Running XOR of every revealed secret (randomness reveals and vote salts).
    bytes32 private _entropy;

    mapping(address => Account) private _accounts;
    mapping(uint256 => address) private _participantAt; // 1-based join index -> participant
    mapping(address => SeedCommit) private _seedCommits;
    mapping(address => Seat[2]) private _seats;

    mapping(uint256 => RoundInfo) private _rounds;
    /// @dev By round parity: the round seed, fixed when the round opens.
    mapping(uint256 => bytes32) private _seeds;
    mapping(uint256 => mapping(uint256 => bytes32)) private _proposalHashes; // by round parity
    mapping(address => TopUp) private _topUps;

    /// @notice The randomness beacon mixed into every round seed (zero: commit-reveal entropy
    /// alone), set by the factory at creation.
    IRandomnessBeacon public randomnessBeacon;
    /// @notice Seconds after a round's beacon target time after which the round opens without
    /// the beacon's value (so a dead beacon cannot lock the task).
    uint32 public beaconGrace;
    /// @notice Gas the beacon's `randomnessAt` may spend; the caller must send enough for it.
    uint256 public constant BEACON_GAS = 100_000;

    /// @dev The implementation behind the factory's clones can never be initialised itself.
    constructor() {
        _initialized = true;
    }

    /// @notice Sets up a freshly cloned task; called once, by the factory that cloned it.
    /// @param token_ ERC-20 used for stake and rewards.
    /// @param creator_ The task creator (may reclaim the unspent pool after the end).
    /// @param config_ The task's immutable rules.
    function initialize(IERC20 token_, address creator_, TaskConfig calldata config_) external {
        if (_initialized) revert TaskAlreadyInitialized();
        TaskConfigCheck.validate(config_);
        _initialized = true;
        token = token_;
        factory = msg.sender;
        creator = creator_;
        _config = config_;
        globalModelHash = config_.initialModelHash;
        enrolEnd = block.timestamp + config_.enrolPeriod;
        emit Initialized(address(token_), creator_, config_.specHash);
    }

    /// @notice Sets the randomness beacon and its grace period; callable once, by the factory,
    /// in the transaction that creates the task (before the pool is booked).
    function initializeBeacon(IRandomnessBeacon beacon_, uint32 grace) external {
        if (msg.sender != factory) revert TaskOnlyFactory(msg.sender);
        if (_funded || address(randomnessBeacon) != address(0)) revert BeaconAlreadySet();
        randomnessBeacon = beacon_;
        beaconGrace = grace;
        emit BeaconSet(address(beacon_), grace);
    }

    // ================================================================ funding and membership

    /// @notice Books the tokens the factory sent as the reward pool; callable once, by the factory.
    function initializePool(uint256 expected) external {
        if (msg.sender != factory) revert TaskOnlyFactory(msg.sender);
        if (_funded) revert TaskAlreadyFunded();
        uint256 balance = token.balanceOf(address(this));
        if (balance < expected) revert TokenTransferShort(expected, balance);
        if (balance > MAX_AMOUNT) revert AmountTooLarge(balance);
        _funded = true;
        rewardPool = balance;
        emit PoolFunded(balance);
    }

    /// @notice Stake `amount` and join; optionally commit randomness for `seedRound`.
    /// @param amount Stake, at least the task minimum; pulled with `transferFrom`.
    /// @param seedRound Round the commitment is for (ignored when `seedCommit` is zero).
    /// @param seedCommit keccak256(abi.encodePacked(bytes32 secret, address msg.sender,
    /// uint256 seedRound)) (the round widened to 32 bytes), or zero.
    function join(uint256 amount, uint32 seedRound, bytes32 seedCommit) external nonReentrant {
        if (_ended) revert PhaseClosed(Phase.Task, block.timestamp, 0, _endedAt);
        if (_accounts[msg.sender].index1 != 0) revert ParticipantAlreadyJoined(msg.sender);
        uint32 count = _participantCount;
        if (count >= _config.maxParticipants) revert TaskFull(_config.maxParticipants);
        if (amount < _config.minStake) revert StakeBelowMinimum(amount, _config.minStake);
        unchecked {
            // bounded by maxParticipants (uint32)
            ++count;
        }
        _participantCount = count;
        _participantAt[count] = msg.sender;
        _accounts[msg.sender] = Account(_toUint112(amount), 0, count);
        _addStaked(amount);
        if (seedCommit != bytes32(0)) _commitSeed(msg.sender, seedRound, seedCommit);
        _pull(amount);
        emit Joined(msg.sender, amount);
    }

    /// @notice Adds stake (e.g. to regain eligibility after a slash). Stake added while a round
    /// is open does not count toward that round's stake-rule reward weight (the stake is
    /// snapshotted when the round opens), only toward later rounds'.
    function stakeMore(uint256 amount) external nonReentrant {
        _requireParticipant(msg.sender);
        if (_ended) revert PhaseClosed(Phase.Task, block.timestamp, 0, _endedAt);
        if (amount == 0) revert StakeBelowMinimum(0, 1);
        Account storage account = _accounts[msg.sender];
        account.stake = _toUint112(uint256(account.stake) + amount);
        _addStaked(amount);
        TopUp storage topUp = _topUps[msg.sender];
        uint32 current = _currentRound;
        if (topUp.round != current) {
            topUp.round = current;
            topUp.amount = 0;
        }
        topUp.amount = _toUint112(uint256(topUp.amount) + amount);
        _pull(amount);
        emit StakeAdded(msg.sender, amount, account.stake);
    }

    /// @notice Leaves during enrolment, refunded the stake less a leave fee of `slashBps` that
    /// goes to the reward pool (so filling the task and leaving at the last moment, to keep
    /// others from committing round-1 randomness, is not free). The last joiner takes the
    /// freed index.
    function leave() external nonReentrant {
        _requireParticipant(msg.sender);
        if (_currentRound != 0 || block.timestamp >= enrolEnd) {
            revert PhaseClosed(Phase.Enrolment, block.timestamp, 0, enrolEnd);
        }
        Account memory account = _accounts[msg.sender];
        uint256 amount = account.stake;
        uint32 last = _participantCount;
        if (account.index1 != last) {
            address moved = _participantAt[last];
            _participantAt[account.index1] = moved;
            _accounts[moved].index1 = account.index1;
        }
        delete _participantAt[last];
        delete _accounts[msg.sender];
        delete _seedCommits[msg.sender];
        _participantCount = last - 1;
        totalStaked -= amount;
        uint256 fee = (amount * _config.slashBps) / MAX_SCORE;
        rewardPool += fee;
        token.safeTransfer(msg.sender, amount - fee);
        emit Left(msg.sender, amount - fee, fee);
    }

    // ================================================================ randomness

    /// @notice Commits randomness for `round` (before that round's reveal window opens).
    function commitSeed(uint32 round, bytes32 commit) external {
        _requireParticipant(msg.sender);
        _commitSeed(msg.sender, round, commit);
    }

    /// @notice Reveals the secret committed for `round`; optionally commits for `round + 1`.
    function revealSeed(uint32 round, bytes32 secret, bytes32 nextCommit) external {
        _requireParticipant(msg.sender);
        _revealSeed(msg.sender, round, secret);
        if (nextCommit != bytes32(0)) _commitSeed(msg.sender, round + 1, nextCommit);
    }

    /// @notice Opens round 1 once enrolment and round 1's reveal window are over (anyone).
    function start() external {
        if (!_funded) revert TaskNotFunded();
        if (_currentRound != 0) revert RoundMismatch(_currentRound, 0);
        uint256 opensAt = enrolEnd + _config.revealPeriod;
        if (block.timestamp < opensAt) revert PhaseClosed(Phase.Start, block.timestamp, opensAt, 0);
        _openRound(1);
    }

    /// @notice Slashes `participant` for a randomness commitment whose reveal window has passed.
    function slashMissedSeedReveal(address participant) external {
        if (!_resolveStaleSeed(participant)) revert SeedCommitMissing(participant, 0);
    }

    // ================================================================ proposals and votes

    /// @notice A proposer of `round` submits the hash of its update blob, the hash of the base
    /// model it trained from, and where the blob is stored. The proposer must serve the blob
    /// until the round settles: a proposal most voters could not fetch is rejected and slashed.
    /// @param baseHash The model this update was trained from: the aggregate of the round's
    /// `baseRound` as the proposer recomputed it. Voters refuse (score 0) a proposal whose base
    /// differs from their own recomputation.
    /// @param numSamples Training samples behind the update (its aggregation weight), in
    /// [1, maxSamples]; voters refuse a claim implausible for the task's data.
    function propose(uint256 round, bytes32 updateHash, bytes32 baseHash, uint64 numSamples, string calldata uri)
        external
    {
        RoundInfo storage info = _requireOpen(round);
        uint256 closes = _proposeEnd(info);
        if (block.timestamp >= closes) revert PhaseClosed(Phase.Propose, block.timestamp, info.start, closes);
        if (updateHash == bytes32(0)) revert ProposalEmpty();
        if (numSamples == 0 || numSamples > _config.maxSamples) {
            revert ProposalSamplesOutOfRange(numSamples, _config.maxSamples);
        }
        Seat storage seat = _requireRole(msg.sender, round, Role.Proposer);
        if (seat.proposalIndex1 != 0) revert ProposalDuplicate(msg.sender, round);
        uint256 index = info.numProposals;
        unchecked {
            // at most proposersPerRound <= MAX_PROPOSERS proposals
            info.numProposals = uint16(index + 1);
            seat.proposalIndex1 = uint16(index + 1);
        }
        _proposalHashes[round % 2][index] = updateHash;
        emit Proposed(round, msg.sender, index, updateHash, baseHash, numSamples, uri);
    }

    /// @notice A voter of `round` commits keccak256(abi.encodePacked(bytes scores, bytes32
    /// attestation, bytes32 salt, address voter, uint256 round)), where `attestation` is the
    /// hash of the round's base model as the voter recomputed it. The salt doubles as the
    /// voter's randomness contribution: its reveal enters the seed of the next round, so a vote
    /// commit is also a randomness commit.
    function commitVote(uint256 round, bytes32 commit) external {
        RoundInfo storage info = _requireOpen(round);
        uint256 opens = _proposeEnd(info);
        uint256 closes = opens + _config.commitPeriod;
        if (block.timestamp < opens || block.timestamp >= closes) {
            revert PhaseClosed(Phase.VoteCommit, block.timestamp, opens, closes);
        }
        Seat storage seat = _requireRole(msg.sender, round, Role.Voter);
        if (seat.voteCommitted) revert VoteDuplicate(msg.sender, round);
        seat.voteCommitted = true;
        seat.voteCommit = bytes24(commit);
        unchecked {
            // at most maxVoters <= MAX_VOTERS commits
            ++info.numVoteCommits;
        }
        emit VoteCommitted(round, msg.sender);
    }

    /// @notice Reveals the committed scores (2 bytes big-endian per item: the round's base model
    /// first, then each proposal in index order; 0xFFFF for a blob the voter could not fetch),
    /// the attestation (hash of the base model the voter recomputed) and the salt, which is
    /// mixed into the randomness of the next round.
    function revealVote(uint256 round, bytes calldata scores, bytes32 attestation, bytes32 salt) external {
        RoundInfo storage info = _requireOpen(round);
        (uint256 opens, uint256 closes) = _voteRevealWindow(round);
        if (block.timestamp < opens || block.timestamp >= closes) {
            revert PhaseClosed(Phase.VoteReveal, block.timestamp, opens, closes);
        }
        Seat storage seat = _seats[msg.sender][round % 2];
        if (seat.round != round || !seat.voteCommitted) revert VoteNotCommitted(msg.sender, round);
        if (seat.voteRevealed) revert VoteAlreadyRevealed(msg.sender, round);
        PackedScores.check(scores, info.numProposals);
        if (bytes24(keccak256(abi.encodePacked(scores, attestation, salt, msg.sender, round))) != seat.voteCommit) {
            revert VoteRevealMismatch(msg.sender, round);
        }
        // no shared counter: settlement checks that revealed + missing voters are all commits
        seat.voteRevealed = true;
        emit VoteRevealed(round, msg.sender, scores, attestation, salt);
    }

    // ================================================================ settlement

    /// @notice Settles `round` after its reveal deadline (anyone): slashes missing reveals,
    /// adopts or voids the pending aggregate by the voters' attestations (slashing attesters of
    /// another hash), takes the median score per item, accepts or rejects each proposer,
    /// slashes rejected proposers and voters outside the consensus band, credits rewards, and
    /// opens the next round (or the closing round, or ends the task).
    function settle(uint256 round, SettleInput calldata input) external {
        _requireCurrent(round);
        RoundInfo storage info = _rounds[round];
        if (info.outcome != Outcome.Pending) revert RoundAlreadySettled(round);
        (, uint256 revealEnd) = _voteRevealWindow(round);
        if (block.timestamp < revealEnd) revert PhaseClosed(Phase.Settle, block.timestamp, revealEnd, 0);
        // the revealed salts (verified against their commitments) feed the next rounds' seeds
        (bytes32 salts, bytes32 candidate) = SettleInputCheck.check(_seats, round, info, input);
        _entropy ^= salts;

        Tally memory tally;
        uint256 rounds = _config.rounds;
        if (round <= rounds) tally.poolShare = rewardPool / (rounds - round + 1);
        for (uint256 i = 0; i < input.missing.length; ++i) {
            tally.slashed += _slash(input.missing[i], round, 1);
        }
        uint256 reveals = input.voters.length; // every revealed voter (checked above)
        bool quorum = reveals != 0 && reveals >= _config.minVoters;
        uint256 deviants;
        bool baseVoid;
        if (quorum) {
            uint256 slashedAttesters;
            (deviants, baseVoid, slashedAttesters) = _attest(round, input, candidate);
            tally.slashed += slashedAttesters;
        }
        if (baseVoid || (info.numProposals != 0 && !quorum)) {
            tally.outcome = Outcome.Void;
        } else if (info.numProposals == 0) {
            tally.outcome = Outcome.Empty;
        } else {
            _settleConsensus(round, input, tally, deviants);
        }
        info.outcome = tally.outcome;
        info.numVoteReveals = uint16(reveals); // at most numVoteCommits
        info.acceptedMask = uint32(tally.acceptedMask); // at most MAX_PROPOSERS = 32 bits
        if (tally.acceptedMask != 0) {
            _pendingRound = uint32(round);
        } else if (quorum) {
            _pendingRound = 0; // adopted or voided by this round's attestations
        } // else: nothing decided, the pending aggregate (if any) waits for the next round
        emit RoundSettled(round, tally.outcome, tally.acceptedMask, tally.credited, tally.slashed);

        if (round < rounds || (round == rounds && _pendingRound != 0)) {
            _openRound(round + 1);
        } else {
            _ended = true;
            _endedAt = uint64(block.timestamp);
            emit TaskEnded(block.timestamp);
        }
    }

    // ================================================================ payouts (pull)

    /// @notice Pays out the caller's credited rewards.
    function claim() external nonReentrant {
        Account storage account = _accounts[msg.sender];
        uint256 amount = account.claimable;
        if (amount == 0) revert NothingToPay(msg.sender);
        account.claimable = 0;
        totalClaimable -= amount;
        token.safeTransfer(msg.sender, amount);
        emit Claimed(msg.sender, amount);
    }

    /// @notice Pays back the caller's stake after the task ended (after any pending slash).
    function withdraw() external nonReentrant {
        if (!_ended) revert TaskNotEnded();
        _resolveStaleSeed(msg.sender);
        Account storage account = _accounts[msg.sender];
        uint256 amount = account.stake;
        if (amount == 0) revert NothingToPay(msg.sender);
        account.stake = 0;
        totalStaked -= amount;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice Sends the unspent reward pool (dust and void rounds' shares) back to the creator.
    function reclaimLeftover() external nonReentrant {
        if (msg.sender != creator) revert TaskOnlyCreator(msg.sender);
        if (!_ended) revert TaskNotEnded();
        uint256 amount = rewardPool;
        if (amount == 0) revert NothingToPay(msg.sender);
        rewardPool = 0;
        token.safeTransfer(msg.sender, amount);
        emit LeftoverReclaimed(msg.sender, amount);
    }

    // ================================================================ views

    /// @notice The task's rules.
    function config() external view returns (TaskConfig memory) {
        return _config;
    }

    /// @notice Current round (0 before the task starts) and whether the task ended.
    function status() external view returns (uint256 currentRound, bool ended, uint256 participants) {
        return (_currentRound, _ended, _participantCount);
    }

    /// @notice Public state of `round`.
    function roundInfo(uint256 round) external view returns (RoundInfo memory) {
        return _rounds[round];
    }

    /// @notice Deadlines of `round`: end of proposals, of vote commits, of vote reveals (the
    /// closing round has no propose period: its proposeEnd is its start).
    function deadlines(uint256 round)
        external
        view
        returns (uint256 proposeEnd, uint256 commitEnd, uint256 revealEnd)
    {
        uint256 start_ = _rounds[round].start;
        if (start_ == 0) return (0, 0, 0);
        proposeEnd = _proposeEnd(_rounds[round]);
        commitEnd = proposeEnd + _config.commitPeriod;
        revealEnd = commitEnd + _config.revealPeriod;
    }

    /// @notice Where the task stands now: the current round (0 before the start), the phase
    /// open at this block's timestamp, and when it closes (0: it closes when someone calls
    /// `start()` or `settle`, or never for `Task`, the ended task).
    function phase() external view returns (uint256 round, Phase current, uint256 closesAt) {
        round = _currentRound;
        if (_ended) return (round, Phase.Task, 0);
        uint256 t = block.timestamp;
        if (round == 0) {
            if (t < enrolEnd) return (0, Phase.Enrolment, enrolEnd);
            uint256 opensAt = enrolEnd + _config.revealPeriod;
            if (t < opensAt) return (0, Phase.SeedReveal, opensAt);
            return (0, Phase.Start, 0);
        }
        uint256 proposeEnd = _proposeEnd(_rounds[round]);
        if (t < proposeEnd) return (round, Phase.Propose, proposeEnd);
        uint256 commitEnd = proposeEnd + _config.commitPeriod;
        if (t < commitEnd) return (round, Phase.VoteCommit, commitEnd);
        uint256 revealEnd = commitEnd + _config.revealPeriod;
        if (t < revealEnd) return (round, Phase.VoteReveal, revealEnd);
        return (round, Phase.Settle, 0);
    }

    /// @notice The round whose aggregate is the adopted global model (0: the initial model).
    function globalModelRound() external view returns (uint256) {
        return _modelRound;
    }

    /// @notice The round whose aggregate awaits the attestation of the current round's voters
    /// (0: none; then the current round trains from `globalModelHash`).
    function pendingAggregateRound() external view returns (uint256) {
        return _pendingRound;
    }

    /// @notice Window in which randomness for `round` is revealed (max values while unknown).
    function seedRevealWindow(uint256 round) external view returns (uint256 opens, uint256 closes) {
        return _seedRevealWindow(round);
    }

    /// @notice The seed of the current or the previous round (fixed when the round opened).
    function seedOf(uint256 round) public view returns (bytes32) {
        if (round == 0 || round > _currentRound || round + 1 < _currentRound) {
            revert RoundMismatch(round, _currentRound);
        }
        return _seeds[round % 2];
    }

    /// @notice Proposers and voters drawn in `round` (committee sizes; the closing round after
    /// the last has no proposers).
    function committeeOf(uint256 round) external view returns (uint256 proposers, uint256 voters) {
        RoundInfo storage info = _rounds[round];
        return _committee(info.closing, info.rosterSize);
    }

    /// @notice Role of `participant` in the current or the previous round.
    function roleOf(uint256 round, address participant) external view returns (Role) {
        return _roleOf(participant, round, seedOf(round));
    }

    /// @notice The role draw's permutation, exposed so anyone can check an off-chain mirror:
    /// position of `index` among `n` under `seed` (positions below the proposer count propose).
    function shuffle(uint256 index, uint256 n, bytes32 seed) external pure returns (uint256) {
        return Shuffle.shuffledIndex(index, n, seed);
    }

    /// @notice Hash of proposal `index` of `round` (the current or the previous round only;
    /// the `Proposed` events keep the full history).
    function proposalHash(uint256 round, uint256 index) external view returns (bytes32) {
        if (round == 0 || round > _currentRound || round + 1 < _currentRound) {
            revert RoundMismatch(round, _currentRound);
        }
        if (index >= _rounds[round].numProposals) return bytes32(0);
        return _proposalHashes[round % 2][index];
    }

    /// @notice Bit i set when proposal i of `round` was accepted.
    function acceptedMask(uint256 round) external view returns (uint256) {
        return _rounds[round].acceptedMask;
    }

    /// @notice Stake and credited, unclaimed rewards of `participant`.
    function accountOf(address participant) external view returns (uint256 stake, uint256 claimable) {
        Account storage account = _accounts[participant];
        return (account.stake, account.claimable);
    }

    /// @notice Whether `participant` has joined (and not left).
    function isParticipant(address participant) external view returns (bool) {
        return _accounts[participant].index1 != 0;
    }

    /// @notice 0-based join index of `participant` (its slot in every round's roster).
    function indexOf(address participant) external view returns (uint256) {
        uint32 index1 = _accounts[participant].index1;
        if (index1 == 0) revert ParticipantUnknown(participant);
        return index1 - 1;
    }

    /// @notice Participant at 0-based join index `index`.
    function participantAt(uint256 index) external view returns (address) {
        return _participantAt[index + 1];
    }

    /// @notice The pending randomness commitment of `participant`.
    function seedCommitOf(address participant) external view returns (uint256 round, bytes28 commit) {
        SeedCommit storage sc = _seedCommits[participant];
        return (sc.round, sc.commit);
    }

    /// @notice Seat of `participant` in `round` (current or previous round only).
    function seatOf(address participant, uint256 round) external view returns (Seat memory seat) {
        seat = _seats[participant][round % 2];
        if (seat.round != round) delete seat;
    }

    // ================================================================ internals: rounds

    /// @dev The seed is fixed here, from the secrets revealed so far (randomness reveals and
    /// vote salts, all committed before and revealed in windows that closed before this
    /// block): nothing the block's builder chooses (prevrandao, blockhash, timestamp) enters
    /// it. With a randomness beacon, the entropy is also XORed with the beacon's value for the
    /// close of the round's seed reveal window (see `_beaconValue`). The residual bias: a
    /// member who committed may withhold its reveal after seeing the others', at the cost of
    /// its slash (blind to the seed when the beacon's value comes later).
    function _openRound(uint256 round) private {
        RoundInfo storage info = _rounds[round];
        info.start = uint48(block.timestamp);
        info.startBlock = uint48(block.number);
        info.rosterSize = _participantCount; // later joiners have no role in this round
        uint32 baseRound = _pendingRound != 0 ? _pendingRound : _modelRound;
        info.baseRound = baseRound;
        if (round > _config.rounds) info.closing = true;
        bytes32 entropy = _entropy;
        IRandomnessBeacon beacon = randomnessBeacon;
        if (address(beacon) != address(0)) entropy ^= _beaconValue(beacon, round);
        bytes32 seed = Seeds.roundSeed(address(this), block.chainid, round, entropy);
        _seeds[round % 2] = seed;
        _currentRound = uint32(round);
        emit RoundOpened(round, block.timestamp, block.number, seed, baseRound);
    }

    /// @dev The beacon's value for the close of `round`'s seed reveal window, a time after every
    /// secret of that seed was revealed; zero once `beaconGrace` has passed without one. Reverts
    /// while the value may still come, and when the caller sent too little gas to ask the beacon
    /// with its full allowance (else a caller could starve the call and skip the beacon). A
    /// beacon that reverts or returns short data counts as not ready.
    function _beaconValue(IRandomnessBeacon beacon, uint256 round) private returns (bytes32 value) {
        (, uint256 target) = _seedRevealWindow(round);
        uint256 needed = BEACON_GAS + BEACON_GAS / 63 + 5_000;
        if (gasleft() < needed) revert BeaconGasTooLow(gasleft(), needed);
        bytes memory request = abi.encodeCall(IRandomnessBeacon.randomnessAt, (target));
        bool ok;
        uint256 flag;
        assembly ("memory-safe") {
            let out := mload(0x40) // scratch past the free pointer: only 64 bytes are copied back
            ok := staticcall(BEACON_GAS, beacon, add(request, 0x20), mload(request), out, 0x40)
            if lt(returndatasize(), 0x40) { ok := 0 }
            flag := mload(out)
            value := mload(add(out, 0x20))
        }
        if (ok && flag == 1) {
            emit BeaconMixed(round, target, value);
            return value;
        }
        uint256 fallbackAt = target + beaconGrace;
        if (block.timestamp < fallbackAt) revert BeaconNotReady(round, target, fallbackAt);
        emit BeaconMissed(round, target);
        return bytes32(0);
    }

    function _seed(uint256 round) private view returns (bytes32) {
        return _seeds[round % 2];
    }

    /// @dev Rounds 1..rounds draw proposers and voters; the closing round (rounds + 1) only voters.
    function _committee(bool closing, uint256 rosterSize) private view returns (uint256 proposers, uint256 voters) {
        if (rosterSize < 2) return (0, 0);
        if (closing) return (0, Stats.min(_config.maxVoters, rosterSize));
        proposers = Stats.min(_config.proposersPerRound, rosterSize - 1);
        voters = Stats.min(_config.maxVoters, rosterSize - proposers);
    }

    /// @dev The closing round has no propose period (its flag shares the slot with `start`).
    function _proposeEnd(RoundInfo storage info) private view returns (uint256) {
        uint256 start_ = info.start;
        return info.closing ? start_ : start_ + _config.proposePeriod;
    }

    function _roleOf(address participant, uint256 round, bytes32 seed) private view returns (Role) {
        uint256 index1 = _accounts[participant].index1;
        RoundInfo storage info = _rounds[round];
        uint256 n = info.rosterSize;
        if (index1 == 0 || index1 > n) return Role.None;
        (uint256 proposers, uint256 voters) = _committee(info.closing, n);
        if (proposers + voters == 0) return Role.Idle;
        uint256 position = Shuffle.shuffledIndex(index1 - 1, n, seed);
        if (position < proposers) return Role.Proposer;
        if (position < proposers + voters) return Role.Voter;
        return Role.Idle;
    }

    function _requireRole(address participant, uint256 round, Role required)
        private
        returns (Seat storage seat)
    {
        Role actual = _roleOf(participant, round, _seed(round));
        if (actual != required) revert RoleMismatch(participant, round, required, actual);
        uint256 stake = _accounts[participant].stake;
        if (stake < _config.minStake) revert ParticipantIneligible(participant, stake);
        seat = _seats[participant][round % 2];
        if (seat.round != round) {
            // first action of this participant in this round: reset the recycled seat
            seat.round = uint32(round);
            seat.proposalIndex1 = 0;
            seat.voteCommitted = false;
            seat.voteRevealed = false;
        }
    }

    /// @dev The round that is open and not settled is the current one (rounds open only when
    /// the previous one settles), so this needs no read of the current round number.
    function _requireOpen(uint256 round) private view returns (RoundInfo storage info) {
        info = _rounds[round];
        if (info.start == 0 || info.outcome != Outcome.Pending) revert RoundMismatch(round, _currentRound);
    }

    function _requireCurrent(uint256 round) private view {
        if (round == 0 || round != _currentRound) revert RoundMismatch(round, _currentRound);
    }

    function _requireParticipant(address account) private view {
        if (_accounts[account].index1 == 0) revert ParticipantUnknown(account);
    }

    function _voteRevealWindow(uint256 round) private view returns (uint256 opens, uint256 closes) {
        opens = _proposeEnd(_rounds[round]) + _config.commitPeriod;
        closes = opens + _config.revealPeriod;
    }

    function _seedRevealWindow(uint256 round) private view returns (uint256 opens, uint256 closes) {
        if (round == 1) return (enrolEnd, enrolEnd + _config.revealPeriod);
        if (round == 0 || _rounds[round - 1].start == 0) {
            return (type(uint256).max, type(uint256).max);
        }
        return _voteRevealWindow(round - 1);
    }

    // ================================================================ internals: randomness

    function _commitSeed(address participant, uint32 round, bytes32 commit) private {
        if (round <= _currentRound || round > _config.rounds) revert RoundMismatch(round, _currentRound + 1);
        (uint256 opens,) = _seedRevealWindow(round);
        if (block.timestamp >= opens) revert PhaseClosed(Phase.SeedCommit, block.timestamp, 0, opens);
        uint256 stake = _accounts[participant].stake;
        if (stake < _config.minStake) revert ParticipantIneligible(participant, stake);
        SeedCommit storage sc = _seedCommits[participant];
        if (sc.commit != bytes28(0) && !_resolveStaleSeed(participant)) {
            revert SeedCommitPending(participant, sc.round);
        }
        sc.commit = bytes28(commit);
        sc.round = round;
        emit SeedCommitted(participant, round);
    }

    function _revealSeed(address participant, uint32 round, bytes32 secret) private {
        if (round != _currentRound + 1 || round > _config.rounds) {
            revert RoundMismatch(round, _currentRound + 1);
        }
        (uint256 opens, uint256 closes) = _seedRevealWindow(round);
        if (block.timestamp < opens || block.timestamp >= closes) {
            revert PhaseClosed(Phase.SeedReveal, block.timestamp, opens, closes);
        }
        SeedCommit storage sc = _seedCommits[participant];
        if (sc.commit == bytes28(0) || sc.round != round) revert SeedCommitMissing(participant, round);
        if (Seeds.commitment(secret, participant, round) != sc.commit) {
            revert SeedRevealMismatch(participant, round);
        }
        delete _seedCommits[participant];
        _entropy ^= secret;
        emit SeedRevealed(participant, round);
    }

    /// @dev Slashes and clears a commitment whose reveal window closed; true if one was found.
    function _resolveStaleSeed(address participant) private returns (bool) {
        SeedCommit storage sc = _seedCommits[participant];
        if (sc.commit == bytes28(0)) return false;
        (, uint256 closes) = _seedRevealWindow(sc.round);
        if (block.timestamp < closes) return false;
        uint256 round = sc.round;
        delete _seedCommits[participant];
        uint256 amount = _slashAmount(participant);
        _applySlash(participant, amount);
        emit SeedRevealMissed(participant, round, amount);
        emit Slashed(participant, round, 4, amount);
        return true;
    }

    // ================================================================ internals: settlement

    /// @dev Adopts or voids the pending aggregate by a strict majority of the revealed
    /// attestations (a zero hash never wins) and slashes the voters who attested another hash
    /// than the adopted one (bit v of `deviants`). With no aggregate pending, the expected
    /// attestation is the adopted global model. With no majority nobody is provably wrong:
    /// no attester is slashed, the aggregate is void (`baseVoid`).
    /// `candidate` is the Boyer-Moore majority candidate of the attestations (the only hash that
    /// can hold a strict majority), found while the input was checked.
    function _attest(uint256 round, SettleInput calldata input, bytes32 candidate)
        private
        returns (uint256 deviants, bool baseVoid, uint256 slashed)
    {
        bytes32[] calldata attestations = input.attestations;
        uint256 reveals = attestations.length;
        uint256 pending = _pendingRound;
        bytes32 expected = pending == 0 ? globalModelHash : candidate;
        uint256 votes;
        (votes, deviants) = Majority.count(attestations, expected); // reveals <= MAX_VOTERS = 64
        if (pending != 0) {
            if (candidate == bytes32(0) || 2 * votes <= reveals) {
                emit AggregateVoided(pending, round, votes, reveals);
                return (0, true, 0);
            }
            globalModelHash = candidate;
            _modelRound = uint32(pending);
            emit AggregateAdopted(pending, candidate, round, votes, reveals);
        }
        for (uint256 v = 0; deviants >> v != 0; ++v) {
            if (deviants & (uint256(1) << v) != 0) slashed += _slash(input.voters[v], round, 5);
        }
    }

    /// @dev Settlement of a round with proposals and enough revealed voters; updates `tally`.
    /// Voters in `deviants` (already slashed for their attestation) earn nothing.
    function _settleConsensus(uint256 round, SettleInput calldata input, Tally memory tally, uint256 deviants)
        private
    {
        (uint256[] memory medians, uint256[] memory voterWeights, uint256[] memory refusals, bool wash) =
            _score(input);
        if (wash) {
            tally.outcome = Outcome.Void;
            return;
        }
        uint256 judged;
        (tally.acceptedMask, judged) = _judge(round, input, medians, refusals);
        tally.slashed += judged + _slashOutliers(round, input.voters, voterWeights, deviants);
        tally.credited = _distribute(
            round, input, medians, voterWeights, tally.acceptedMask, tally.poolShare + tally.slashed
        );
        rewardPool -= tally.credited;
        totalClaimable += tally.credited;
        tally.outcome = Outcome.Settled;
    }

    /// @dev Paired medians per proposal, refusals per proposal, agreement weight per voter
    /// (0: outside the band on most proposals, or its base-model score outside
    /// width(base MAD, k, baseBandBps) of the median base score), and whether the round is a wash.
    function _score(SettleInput calldata input)
        private
        view
        returns (uint256[] memory medians, uint256[] memory voterWeights, uint256[] memory refusals, bool wash)
    {
        uint256[] memory cells;
        uint256[] memory mads;
        uint256[] memory bases;
        uint256 baseMedian;
        uint256 baseMad;
        uint256 items = input.proposers.length;
        (cells, refusals, bases) = ScoreMatrix.loadPaired(input.scores, items, MAX_SCORE);
        (medians, mads, baseMedian, baseMad) =
            Consensus.fromHints(cells, bases, input.hints, items, input.voters.length);
        uint256 k = _config.madMultiplierX100;
        uint256 baseBand = Band.width(baseMad, k, _config.baseBandBps);
        uint256 outliers;
        (voterWeights, outliers) =
            Band.voterWeights(cells, medians, mads, k, _config.minDeviationBps, bases, baseMedian, baseBand);
        wash = Band.isWash(mads, outliers, input.voters.length, _config.washMadBps);
    }

    /// @dev Splits `budget` between accepted proposers (by the reward rule) and agreeing voters.
    function _distribute(
        uint256 round,
        SettleInput calldata input,
        uint256[] memory medians,
        uint256[] memory voterWeights,
        uint256 acceptedMask,
        uint256 budget
    ) private returns (uint256 credited) {
        uint256 voterBudget = (budget * _config.voterShareBps) / MAX_SCORE;
        if (acceptedMask != 0) {
            credited = _creditProposers(round, input.proposers, medians, acceptedMask, budget - voterBudget);
        }
        credited += _credit(round, input.voters, voterWeights, RewardMath.sum(voterWeights), voterBudget);
    }

    /// @dev Judges each proposal on the median of the voters' paired differences (its score
    /// minus the voter's own score of the base model), three ways. Accepts a proposer that a
    /// strict majority of voters did not score 0 (the score voters give an update that is
    /// tampered, copied, out of bounds, built on another base or claiming an implausible
    /// sample count; an unavailable blob, 0xFFFF, counts as 0), whose median difference is at
    /// least -`acceptToleranceBps` and within `acceptPeerToleranceBps` of the median
    /// proposal's. Declines (neither rewards nor slashes; its update is not aggregated) one
    /// that fails those but passes the same test with the wider `toleranceBps` and
    /// `peerToleranceBps`; slashes the others (reason 6 when most voters could not fetch the
    /// blob, else 2). With the accept tolerances equal to the slash tolerances nothing is
    /// declined. With fewer than half the voters colluding, every median lies within the
    /// honest voters' range: a minority cannot move an honest proposal below the honest
    /// differences.
    function _judge(
        uint256 round,
        SettleInput calldata input,
        uint256[] memory medians,
        uint256[] memory refusals
    ) private returns (uint256 acceptedMask, uint256 slashed) {
        uint256 n = input.proposers.length;
        uint256 peer = Stats.medianOfCopy(medians); // n <= MAX_PROPOSERS
        uint256 acceptTolerance = _config.acceptToleranceBps;
        uint256 acceptPeerTolerance = _config.acceptPeerToleranceBps;
        uint256 voters = input.voters.length;
        for (uint256 p = 0; p < n; ++p) {
            bool refused = 2 * refusals[p] > voters;
            if (Consensus.accepts(medians[p], refused, peer, acceptTolerance, acceptPeerTolerance)) {
                acceptedMask |= uint256(1) << p;
            } else if (
                !Consensus.accepts(medians[p], refused, peer, _config.toleranceBps, _config.peerToleranceBps)
            ) {
                uint8 reason = refused && PackedScores.mostlyUnavailable(input.scores, p + 1) ? 6 : 2;
                slashed += _slash(input.proposers[p], round, reason);
            }
        }
    }

    /// @dev Slashes the voters outside the consensus band (weight 0) except `deviants` (slashed
    /// for their attestation already), whose weight it zeroes: neither earns a reward.
    function _slashOutliers(uint256 round, address[] calldata voters, uint256[] memory weights, uint256 deviants)
        private
        returns (uint256 slashed)
    {
        for (uint256 v = 0; v < voters.length; ++v) {
            if (deviants & (uint256(1) << v) != 0) {
                weights[v] = 0;
            } else if (weights[v] == 0) {
                slashed += _slash(voters[v], round, 3);
            }
        }
    }

    /// @dev Stake when `round` opened: stake added during the round does not count.
    function _stakeAtOpen(address participant, uint256 round) private view returns (uint256 stake) {
        stake = _accounts[participant].stake;
        TopUp storage topUp = _topUps[participant];
        if (topUp.round == round) {
            uint256 added = topUp.amount;
            stake = stake > added ? stake - added : 0;
        }
    }

    /// @dev Credits the accepted proposers (`mask`) by the task's reward rule.
    function _creditProposers(
        uint256 round,
        address[] calldata proposers,
        uint256[] memory medians,
        uint256 mask,
        uint256 budget
    ) private returns (uint256) {
        uint256[] memory weights;
        RewardRule rule = _config.rewardRule;
        if (rule == RewardRule.Stake) {
            weights = new uint256[](proposers.length);
            for (uint256 p = 0; p < proposers.length; ++p) {
                if (mask & (uint256(1) << p) != 0) weights[p] = _stakeAtOpen(proposers[p], round);
            }
        } else if (rule == RewardRule.Geometric) {
            weights = RewardMath.geometricWeights(medians, mask);
        } else {
            weights = RewardMath.softmaxWeights(medians, mask, _config.softmaxTemperatureBps);
        }
        return _credit(round, proposers, weights, RewardMath.sum(weights), budget);
    }

    /// @dev Credits budget * weight / total to each account; the rounding dust stays in the pool.
    function _credit(
        uint256 round,
        address[] calldata accounts,
        uint256[] memory weights,
        uint256 total,
        uint256 budget
    ) private returns (uint256 credited) {
        if (total == 0 || budget == 0) return 0;
        uint256[] memory amounts = new uint256[](accounts.length);
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (weights[i] == 0) continue;
            uint256 amount = (budget * weights[i]) / total;
            if (amount == 0) continue;
            Account storage account = _accounts[accounts[i]];
            account.claimable = _toUint112(uint256(account.claimable) + amount);
            amounts[i] = amount;
            credited += amount;
        }
        emit RewardsCredited(round, accounts, amounts);
    }

    function _slashAmount(address participant) private view returns (uint256) {
        return (uint256(_accounts[participant].stake) * _config.slashBps) / MAX_SCORE;
    }

    function _slash(address participant, uint256 round, uint8 reason) private returns (uint256 amount) {
        amount = _slashAmount(participant);
        _applySlash(participant, amount);
        emit Slashed(participant, round, reason, amount);
    }

    function _applySlash(address participant, uint256 amount) private {
        Account storage account = _accounts[participant];
        // amount <= stake because slashBps <= 10000, so the cast and the subtraction are exact
        account.stake -= uint112(amount);
        totalStaked -= amount;
        rewardPool += amount;
    }

    // ================================================================ internals: helpers

    /// @dev Books `amount` of new stake; the total stake stays within MAX_AMOUNT and the
    /// books within 2 * MAX_AMOUNT.
    function _addStaked(uint256 amount) private {
        uint256 total = totalStaked + amount;
        if (total > MAX_AMOUNT) revert AmountTooLarge(total);
        uint256 books = rewardPool + total + totalClaimable;
        if (books > 2 * MAX_AMOUNT) revert AmountTooLarge(books);
        totalStaked = total;
    }

    /// @dev Pulls exactly `amount` from the caller; tokens that deliver less are refused.
    function _pull(uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TokenTransferShort(amount, received);
    }

    function _toUint112(uint256 value) private pure returns (uint112) {
        if (value > type(uint112).max) revert AmountTooLarge(value);
        return uint112(value);
    }
}
