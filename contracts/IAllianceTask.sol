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

    /// @notice A participant's role in one round (ABI values: None 0, Proposer 1, Voter 2, Idle 3).
    enum Role {
        None,
        Proposer,
        Voter,
        Idle
    }

    /// @notice How a round ended (ABI values: Pending 0, Settled 1, Void 2, Empty 3).
    /// Settled: scored and judged. Void: too few revealed voters, a wash, or the round's base
    /// model (the previous aggregate) found no attesting majority; nothing judged or paid.
    /// Empty: no proposals (the closing round after the last one is always Empty).
    enum Outcome {
        Pending,
        Settled,
        Void,
        Empty
    }

    /// @notice Time windows named by `PhaseClosed` and returned by `phase()` (ABI values:
    /// Task 0 (ended), Enrolment 1, Start 2 (waiting for `start()`), SeedCommit 3,
    /// SeedReveal 4, Propose 5, VoteCommit 6, VoteReveal 7, Settle 8 (waiting for `settle`)).
    enum Phase {
        Task,
        Enrolment,
        Start,
        SeedCommit,
        SeedReveal,
        Propose,
        VoteCommit,
        VoteReveal,
        Settle
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
        ConsensusBand,
        MaxSamples
    }

    /// @notice Parts of the settlement input named by `SettlementInputInvalid`.
    enum SettleField {
        Proposers,
        Voters,
        VotersOrder,
        Scores,
        Missing,
        MissingOrder,
        Hints,
        Attestations
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
        uint32 maxSamples; // largest sample count a proposal may claim (its aggregation weight)
        // the rest
        bytes32 specHash; // hash of the off-chain training spec (model, epochs, lr, data schema)
        bytes32 initialModelHash; // hash of the initial global model blob
        uint32 maxParticipants;
        uint16 minVoters; // fewer revealed voters than this voids the round
        uint32 rounds;
        uint32 enrolPeriod; // seconds from creation during which joining commits to round 1
        uint16 slashBps; // share of stake slashed per offence, basis points
        uint16 toleranceBps; // slash a proposer unless median(score) + tolerance >= median(baseline)
        uint16 peerToleranceBps; // ... and median(score) + peerTolerance >= the median proposal
        uint16 madMultiplierX100; // k of the voter agreement band median +- k * MAD, times 100
        uint16 minDeviationBps; // floor of that band, in score units (basis points of accuracy)
        uint16 washMadBps; // no consensus ("wash") when most items' MAD exceeds this
        uint16 voterShareBps; // share of a round's budget credited to agreeing voters
        RewardRule rewardRule;
        uint16 softmaxTemperatureBps; // temperature of the softmax rule, in score units
        uint16 baseBandBps; // floor of the band around the median base-model score (MAX_SCORE: unjudged)
        uint16 acceptToleranceBps; // accept (<= toleranceBps) when median(score) + this >= median(baseline)
        uint16 acceptPeerToleranceBps; // ... and median(score) + this >= the median proposal (<= peer)
    }

    /// @notice Per-round public state.
    struct RoundInfo {
        uint48 start; // timestamp the round opened; 0 if not yet open
        uint48 startBlock; // block the round opened in (its events start there)
        uint32 rosterSize; // participants (by join index) who hold a role in this round
        uint16 numProposals;
        uint16 numVoteCommits;
        uint16 numVoteReveals; // set when the round settles (0 before)
        Outcome outcome;
        uint32 acceptedMask; // bit i set when proposal i was accepted
        uint32 baseRound; // the round whose aggregate this round trains from (0: the initial model)
        bool closing; // the closing round after the last: voters only, no propose period
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
    /// @notice The beacon has no value for round `round`'s `target` time yet; the round opens
    /// once it has, or at `fallbackAt` without it.
    error BeaconNotReady(uint256 round, uint256 target, uint256 fallbackAt);
    /// @notice Too little gas was sent to ask the beacon with its full allowance.
    error BeaconGasTooLow(uint256 gasLeft, uint256 needed);
    /// @notice The beacon can be set only once, by the factory, before the pool is funded.
    error BeaconAlreadySet();
    /// @notice The round given is not the round this call is for.
    error RoundMismatch(uint256 given, uint256 expected);
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
    /// @notice A proposal must claim between 1 and the task's `maxSamples` training samples.
    error ProposalSamplesOutOfRange(uint256 numSamples, uint256 maxSamples);

    /// @notice The caller already committed a vote in this round.
    error VoteDuplicate(address participant, uint256 round);
    /// @notice The caller did not commit a vote in this round.
    error VoteNotCommitted(address participant, uint256 round);
    /// @notice The caller already revealed its vote in this round.
    error VoteAlreadyRevealed(address participant, uint256 round);
    /// @notice A score vector must hold `expected` bytes (2 per item: baseline, then each proposal).
    error VoteScoresLength(uint256 given, uint256 expected);
    /// @notice A score above 10000 basis points that is not the "unavailable" mark 0xFFFF.
    error VoteScoreOutOfRange(uint256 item, uint256 score);
    /// @notice Revealed scores and salt do not match the commitment.
    error VoteRevealMismatch(address participant, uint256 round);
    /// @notice The round was already settled.
    error RoundAlreadySettled(uint256 round);
    /// @notice Settlement input does not match the round's record (`what` says which part).
    error SettlementInputInvalid(SettleField what, uint256 index);
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
    /// @notice A participant left during enrolment: `refunded` paid back, `fee` (slashBps of
    /// the stake) added to the reward pool.
    event Left(address indexed participant, uint256 refunded, uint256 fee);
    /// @notice A participant committed randomness for `round`.
    event SeedCommitted(address indexed participant, uint256 indexed round);
    /// @notice A participant revealed the randomness it committed for `round`.
    event SeedRevealed(address indexed participant, uint256 indexed round);
    /// @notice A participant committed randomness and never revealed it.
    event SeedRevealMissed(address indexed participant, uint256 indexed round, uint256 slashed);
    /// @notice The task mixes `beacon`'s randomness into its round seeds; without it for a round
    /// whose beacon value is still missing `grace` seconds after its target time.
    event BeaconSet(address indexed beacon, uint256 grace);
    /// @notice Round `round`'s seed mixes the beacon's `value` for time `target`.
    event BeaconMixed(uint256 indexed round, uint256 target, bytes32 value);
    /// @notice Round `round` opened on commit-reveal entropy alone: the beacon had no value for
    /// `target` when the grace period ended.
    event BeaconMissed(uint256 indexed round, uint256 target);
    /// @notice Round `round` opened in block `startBlock` with role seed `seed`; it trains
    /// from the aggregate of `baseRound` (0: the initial model).
    event RoundOpened(uint256 indexed round, uint256 start, uint256 startBlock, bytes32 seed, uint256 baseRound);
    /// @notice A proposer submitted an update trained from the model `baseHash`.
    event Proposed(
        uint256 indexed round,
        address indexed proposer,
        uint256 index,
        bytes32 updateHash,
        bytes32 baseHash,
        uint64 numSamples,
        string uri
    );
    /// @notice A voter committed its scores.
    event VoteCommitted(uint256 indexed round, address indexed voter);
    /// @notice A voter revealed its scores (2 bytes per item, big-endian; baseline first;
    /// 0xFFFF = could not fetch the blob), the hash of the base model it recomputed
    /// (`attestation`) and its salt.
    event VoteRevealed(
        uint256 indexed round, address indexed voter, bytes scores, bytes32 attestation, bytes32 salt
    );
    /// @notice Stake was slashed; `reason` is 1 missing vote reveal, 2 rejected proposal,
    /// 3 vote outside consensus, 4 missing seed reveal, 5 attested another base model than
    /// the adopted one, 6 proposal most voters could not fetch.
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
    /// @notice The aggregate of round `round`'s accepted updates became the global model:
    /// `votes` of the `reveals` voters of round `attestedIn` attested `modelHash`.
    event AggregateAdopted(
        uint256 indexed round, bytes32 modelHash, uint256 indexed attestedIn, uint256 votes, uint256 reveals
    );
    /// @notice No strict majority of round `attestedIn`'s revealed voters attested one non-zero
    /// hash for round `round`'s aggregate (`candidateVotes` of `reveals` for the Boyer-Moore
    /// candidate): it is void for good, the alliance continues from the last adopted model.
    event AggregateVoided(
        uint256 indexed round, uint256 indexed attestedIn, uint256 candidateVotes, uint256 reveals
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
