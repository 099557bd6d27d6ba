// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IAllianceTask
/// @notice Types, errors and events of one federated-learning task governed on chain.
interface IAllianceTask {
    /// @notice How a round's proposer budget is split among accepted proposers.
    enum RewardRule {
        Stake,
        Geometric,
        Softmax
    }

    /// @notice A participant's role in one round.
    enum Role {
        None,
        Proposer,
        Voter,
        Idle
    }

    /// @notice How a round ended.
    enum Outcome {
        Pending,
        Settled,
        Void,
        Empty
    }

    /// @notice Time windows named by `PhaseClosed`.
    enum Phase {
        Task,
        Enrolment,
        Start,
        SeedCommit,
        SeedReveal,
        Propose,
        VoteCommit,
        VoteReveal,
        Settle,
        Aggregate
    }

    /// @notice Configuration fields named by `TaskInvalidConfig`.
    enum ConfigField {
        MinStake,
        MaxParticipants,
        ProposersPerRound,
        MaxVoters,
        MinVoters,
        Rounds,
        Period,
        SlashBps,
        VoterShareBps,
        ToleranceBps,
        SoftmaxTemperatureBps,
        ConsensusBand
    }

    /// @notice Parts of the settlement input named by `SettlementInputInvalid`.
    enum SettleField {
        Proposers,
        Voters,
        VotersOrder,
        Scores,
        Missing,
        MissingOrder,
        Hints
    }

    /// @notice Everything a task is created with; immutable afterwards.
    struct TaskConfig {
        // one storage slot: what every proposal and vote reads
        uint96 minStake; // smallest stake that joins and stays eligible
        uint16 proposersPerRound;
        uint16 maxVoters; // voter committee cap per round
        uint32 proposePeriod; // seconds
        uint32 commitPeriod; // seconds
        uint32 revealPeriod; // seconds
        // the rest
        bytes32 specHash; // hash of the off-chain training spec (model, epochs, lr, data schema)
        bytes32 initialModelHash; // hash of the initial global model blob
        uint32 maxParticipants;
        uint16 minVoters; // fewer revealed voters than this voids the round
        uint32 rounds;
        uint32 enrolPeriod; // seconds from creation during which joining commits to round 1
        uint16 slashBps; // share of stake slashed per offence, basis points
        uint16 toleranceBps; // accept a proposer when median(score) + tolerance >= median(baseline)
        uint16 peerToleranceBps; // ... and median(score) + peerTolerance >= the median proposal
        uint16 madMultiplierX100; // k of the voter agreement band median +- k * MAD, times 100
        uint16 minDeviationBps; // floor of that band, in score units (basis points of accuracy)
        uint16 washMadBps; // no consensus ("wash") when most items' MAD exceeds this
        uint16 voterShareBps; // share of a round's budget credited to agreeing voters
        RewardRule rewardRule;
        uint16 softmaxTemperatureBps; // temperature of the softmax rule, in score units
    }

    /// @notice Per-round public state.
    struct RoundInfo {
        uint48 start; // timestamp the round opened; 0 if not yet open
        uint48 seedBlock; // block whose prevrandao and hash enter the seed
        uint32 rosterSize; // participants (by join index) who hold a role in this round
        uint16 numProposals;
        uint16 numVoteCommits;
        uint16 numVoteReveals;
        Outcome outcome;
        bool aggregateDisputed;
        bool seedFinal; // the seed slot holds the final seed (else the pre-seed material)
        uint32 acceptedMask; // bit i set when proposal i was accepted
    }

    // ---------------------------------------------------------------- errors
    /// @notice The configuration value named by `field` is out of range.
    error TaskInvalidConfig(ConfigField field);
    /// @notice The task has no reward pool yet.
    error TaskNotFunded();
    /// @notice An amount does not fit the task's accounting (112 bits).
    error AmountTooLarge(uint256 amount);
    /// @notice Only the factory may call this.
    error TaskOnlyFactory(address caller);
    /// @notice The task was already initialised.
    error TaskAlreadyInitialized();
    /// @notice The reward pool was already initialised.
    error TaskAlreadyFunded();
    /// @notice Stake below the task minimum.
    error StakeBelowMinimum(uint256 amount, uint256 minimum);
    /// @notice The caller has already joined.
    error ParticipantAlreadyJoined(address participant);
    /// @notice The caller is not a participant of the task.
    error ParticipantUnknown(address participant);
    /// @notice The task is full.
    error TaskFull(uint32 maxParticipants);
    /// @notice The call is not allowed at this time; `phase` names the window that is required.
    error PhaseClosed(Phase phase, uint256 nowTs, uint256 opensAt, uint256 closesAt);
    /// @notice The round given is not the round this call is for.
    error RoundMismatch(uint256 given, uint256 expected);
    /// @notice The round's seed cannot be read before the block after it was fixed.
    error SeedNotReady(uint256 round, uint256 readyAtBlock);
    /// @notice The seed of `round` was not fixed within 256 blocks of its opening.
    error SeedExpired(uint256 round);
    /// @notice A randomness commitment for `round` is still pending for the caller.
    error SeedCommitPending(address participant, uint256 round);
    /// @notice The caller has no randomness commitment for `round`.
    error SeedCommitMissing(address participant, uint256 round);
    /// @notice The revealed secret does not match the commitment.
    error SeedRevealMismatch(address participant, uint256 round);
    /// @notice Stake has fallen below the minimum: the participant may not take part in rounds.
    error ParticipantIneligible(address participant, uint256 stake);
    /// @notice The caller does not hold `required` in `round`.
    error RoleMismatch(address participant, uint256 round, Role required, Role actual);
    /// @notice The caller already proposed in this round.
    error ProposalDuplicate(address participant, uint256 round);
    /// @notice An update hash of zero is not a proposal.
    error ProposalEmpty();
    /// @notice The caller already committed a vote in this round.
    error VoteDuplicate(address participant, uint256 round);
    /// @notice The caller did not commit a vote in this round.
    error VoteNotCommitted(address participant, uint256 round);
    /// @notice The caller already revealed its vote in this round.
    error VoteAlreadyRevealed(address participant, uint256 round);
    /// @notice A score vector must hold `expected` bytes (2 per item: baseline, then each proposal).
    error VoteScoresLength(uint256 given, uint256 expected);
    /// @notice A score above 10000 basis points.
    error VoteScoreOutOfRange(uint256 item, uint256 score);
    /// @notice Revealed scores and salt do not match the commitment.
    error VoteRevealMismatch(address participant, uint256 round);
    /// @notice The round was already settled.
    error RoundAlreadySettled(uint256 round);
    /// @notice Settlement input does not match the round's record (`what` says which part).
    error SettlementInputInvalid(SettleField what, uint256 index);
    /// @notice The round has no accepted update, so there is no aggregate to post.
    error AggregateNotExpected(uint256 round);
    /// @notice An aggregate was already posted for the round.
    error AggregateAlreadyPosted(uint256 round, bytes32 modelHash);
    /// @notice No aggregate was posted for the round yet.
    error AggregateNotPosted(uint256 round);
    /// @notice A challenge must claim a hash different from the posted one.
    error AggregateChallengeSameHash(uint256 round, bytes32 modelHash);
    /// @notice The task has not ended yet.
    error TaskNotEnded();
    /// @notice Nothing to pay out.
    error NothingToPay(address account);
    /// @notice Only the task creator may call this.
    error TaskOnlyCreator(address caller);
    /// @notice The token sent less than asked (fee-on-transfer tokens are refused).
    error TokenTransferShort(uint256 expected, uint256 received);

    // ---------------------------------------------------------------- events
    /// @notice The task was set up for `token`, by `creator`, with training spec `specHash`.
    event Initialized(address token, address indexed creator, bytes32 specHash);
    /// @notice The reward pool was funded.
    event PoolFunded(uint256 amount);
    /// @notice A participant joined with `amount` of stake.
    event Joined(address indexed participant, uint256 amount);
    /// @notice A participant added stake.
    event StakeAdded(address indexed participant, uint256 amount, uint256 stake);
    /// @notice A participant left during enrolment and was refunded.
    event Left(address indexed participant, uint256 amount);
    /// @notice A participant committed randomness for `round`.
    event SeedCommitted(address indexed participant, uint256 indexed round);
    /// @notice A participant revealed the randomness it committed for `round`.
    event SeedRevealed(address indexed participant, uint256 indexed round);
    /// @notice A participant committed randomness and never revealed it.
    event SeedRevealMissed(address indexed participant, uint256 indexed round, uint256 slashed);
    /// @notice Round `round` opened; its seed is fixed by block `seedBlock`.
    event RoundOpened(uint256 indexed round, uint256 start, uint256 seedBlock);
    /// @notice A proposer submitted an update.
    event Proposed(
        uint256 indexed round,
        address indexed proposer,
        uint256 index,
        bytes32 updateHash,
        uint64 numSamples,
        string uri
    );
    /// @notice A voter committed its scores.
    event VoteCommitted(uint256 indexed round, address indexed voter);
    /// @notice A voter revealed its scores (2 bytes per item, big-endian; baseline first).
    event VoteRevealed(uint256 indexed round, address indexed voter, bytes scores, bytes32 salt);
    /// @notice Stake was slashed; `reason` is 1 missing vote reveal, 2 rejected proposal,
    /// 3 vote outside consensus, 4 missing seed reveal.
    event Slashed(address indexed participant, uint256 indexed round, uint8 reason, uint256 amount);
    /// @notice Rewards were credited to `participants` (zero amounts: nothing credited); each
    /// claims with `claim()`.
    event RewardsCredited(uint256 indexed round, address[] participants, uint256[] amounts);
    /// @notice Round `round` was settled.
    event RoundSettled(
        uint256 indexed round,
        Outcome outcome,
        uint256 acceptedMask,
        uint256 credited,
        uint256 slashed
    );
    /// @notice An aggregate of round `round`'s accepted updates was posted.
    event AggregatePosted(uint256 indexed round, address indexed poster, bytes32 modelHash);
    /// @notice A participant claims a different aggregate for round `round`.
    event AggregateChallenged(
        uint256 indexed round, address indexed challenger, bytes32 posted, bytes32 claimed
    );
    /// @notice The task's last round settled.
    event TaskEnded(uint256 timestamp);
    /// @notice Credited rewards were paid out.
    event Claimed(address indexed participant, uint256 amount);
    /// @notice Stake was paid back after the task ended.
    event Withdrawn(address indexed participant, uint256 amount);
    /// @notice The unspent reward pool went back to the creator after the task ended.
    event LeftoverReclaimed(address indexed creator, uint256 amount);
}
