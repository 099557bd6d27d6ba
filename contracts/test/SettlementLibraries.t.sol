// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {AllianceTask} from "../AllianceTask.sol";
import {IAllianceTask} from "../IAllianceTask.sol";
import {Band} from "../Band.sol";
import {Consensus} from "../Consensus.sol";
import {Majority} from "../Majority.sol";
import {PackedScores} from "../PackedScores.sol";
import {RewardMath} from "../RewardMath.sol";
import {Seeds} from "../Seeds.sol";
import {SettleInputCheck} from "../SettleInputCheck.sol";
import {Stats} from "../Stats.sol";
import {TaskConfigCheck} from "../TaskConfigCheck.sol";

/// @dev The libraries' calldata functions, exposed through external calls.
contract CalldataHarness {
    function wordAt(bytes calldata packed, uint256 index) external pure returns (uint256) {
        return PackedScores.wordAt(packed, index);
    }

    function check(bytes calldata scores, uint256 numProposals) external pure {
        PackedScores.check(scores, numProposals);
    }

    function mostlyUnavailable(bytes[] calldata scores, uint256 item) external pure returns (bool) {
        return PackedScores.mostlyUnavailable(scores, item);
    }

    function fromHints(
        uint256[] memory cells,
        uint256[] memory bases,
        bytes calldata hints,
        uint256 items,
        uint256 voters
    ) external pure returns (uint256[] memory medians, uint256[] memory mads, uint256 baseMedian, uint256 baseMad) {
        return Consensus.fromHints(cells, bases, hints, items, voters);
    }

    function count(bytes32[] calldata ballots, bytes32 expected)
        external
        pure
        returns (uint256 votes, uint256 dissenters)
    {
        return Majority.count(ballots, expected);
    }

    function validate(IAllianceTask.TaskConfig calldata c) external pure {
        TaskConfigCheck.validate(c);
    }
}

/// @dev One round's seats and record in storage, checked by SettleInputCheck.
contract SettleInputCheckHarness {
    mapping(address => AllianceTask.Seat[2]) internal seats;
    IAllianceTask.RoundInfo internal info;

    function setSeat(address participant, AllianceTask.Seat calldata seat) external {
        seats[participant][seat.round % 2] = seat;
    }

    function setCounts(uint16 numProposals, uint16 numVoteCommits) external {
        info.numProposals = numProposals;
        info.numVoteCommits = numVoteCommits;
    }

    function check(uint256 round, AllianceTask.SettleInput calldata input)
        external
        view
        returns (bytes32 salts, bytes32 candidate)
    {
        return SettleInputCheck.check(seats, round, info, input);
    }
}

/// @dev Unit tests of the settlement libraries AllianceTask's settle and reveal paths run on,
/// against plain reference implementations.
contract SettlementLibrariesTest is Test {
    CalldataHarness internal harness;

    function setUp() public {
        harness = new CalldataHarness();
    }

    function _rand(uint256 seed, uint256 a, uint256 b) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, a, b)));
    }

    /// @dev k-th smallest (0-based) by counting.
    function _kth(uint256[] memory a, uint256 k) internal pure returns (uint256) {
        for (uint256 i = 0; i < a.length; ++i) {
            uint256 less;
            uint256 leq;
            for (uint256 j = 0; j < a.length; ++j) {
                if (a[j] < a[i]) ++less;
                if (a[j] <= a[i]) ++leq;
            }
            if (less <= k && k < leq) return a[i];
        }
        revert("unreachable");
    }

    // ================================================================ PackedScores

    function _pack(uint256[] memory values) internal pure returns (bytes memory packed) {
        for (uint256 i = 0; i < values.length; ++i) {
            packed = bytes.concat(packed, abi.encodePacked(uint16(values[i])));
        }
    }

    function testFuzz_packedScores_wordAtReadsBigEndianWords(uint256 seed, uint256 n) public {
        n = bound(n, 1, 40);
        uint256[] memory values = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            values[i] = _rand(seed, i, 0) % 0x10000;
        }
        bytes memory packed = _pack(values);
        for (uint256 i = 0; i < n; ++i) {
            assertEq(harness.wordAt(packed, i), values[i], "word");
        }
        vm.expectRevert();
        harness.wordAt(packed, n);
    }

    function test_packedScores_checkAcceptsScoresAndTheUnavailableMark() public view {
        uint256[] memory values = new uint256[](4);
        (values[0], values[1], values[2], values[3]) = (0, 10_000, PackedScores.UNAVAILABLE, 8123);
        harness.check(_pack(values), 3);
    }

    function test_packedScores_checkRefusesWrongLengthAndOutOfRangeScores() public {
        uint256[] memory values = new uint256[](3);
        (values[0], values[1], values[2]) = (8000, 10_001, 7000);
        bytes memory packed = _pack(values);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteScoresLength.selector, 6, 8));
        harness.check(packed, 3);
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteScoreOutOfRange.selector, 1, 10_001));
        harness.check(packed, 2);
        values[1] = 0xFFFE;
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.VoteScoreOutOfRange.selector, 1, 0xFFFE));
        harness.check(_pack(values), 2);
    }

    function testFuzz_packedScores_mostlyUnavailableIsAStrictMajority(uint256 seed, uint256 voters, uint256 item)
        public
        view
    {
        voters = bound(voters, 1, 32);
        item = bound(item, 0, 3);
        bytes[] memory scores = new bytes[](voters);
        uint256 marks;
        for (uint256 v = 0; v < voters; ++v) {
            uint256[] memory values = new uint256[](4);
            for (uint256 i = 0; i < 4; ++i) {
                values[i] = _rand(seed, v, i) % 2 == 0 ? PackedScores.UNAVAILABLE : _rand(seed, v, i) % 10_001;
            }
            if (values[item] == PackedScores.UNAVAILABLE) ++marks;
            scores[v] = _pack(values);
        }
        assertEq(harness.mostlyUnavailable(scores, item), 2 * marks > voters);
    }

    // ================================================================ Seeds

    function testFuzz_seeds_roundSeedIsTheDomainSeparatedEncoding(
        address task,
        uint256 chainId,
        uint256 round,
        bytes32 entropy
    ) public pure {
        assertEq(Seeds.DOMAIN, keccak256("flock.AllianceTask.seed.v2"));
        assertEq(
            Seeds.roundSeed(task, chainId, round, entropy),
            keccak256(abi.encode(keccak256("flock.AllianceTask.seed.v2"), task, chainId, round, entropy))
        );
    }

    function testFuzz_seeds_commitmentIsThePackedHashTruncated(bytes32 secret, address participant, uint32 round)
        public
        pure
    {
        bytes28 want = bytes28(keccak256(abi.encodePacked(secret, participant, uint256(round))));
        assertTrue(Seeds.commitment(secret, participant, round) == want, "seed commitment");
    }

    // ================================================================ Majority

    function _ballots(uint256 seed, uint256 n, uint256 kinds) internal pure returns (bytes32[] memory ballots) {
        ballots = new bytes32[](n);
        for (uint256 v = 0; v < n; ++v) {
            // skewed towards the first kind, so strict majorities are common
            uint256 draw = _rand(seed, v, 0) % (2 * kinds);
            ballots[v] = bytes32(draw < kinds ? 0 : draw - kinds + 1);
        }
    }

    function testFuzz_majority_candidateIsTheStrictMajorityWhenThereIsOne(uint256 seed, uint256 n, uint256 kinds)
        public
        pure
    {
        n = bound(n, 1, 64);
        kinds = bound(kinds, 1, 4);
        bytes32[] memory ballots = _ballots(seed, n, kinds);
        bytes32 candidate;
        uint256 lead;
        for (uint256 v = 0; v < n; ++v) {
            (candidate, lead) = Majority.vote(candidate, lead, ballots[v]);
        }
        for (uint256 v = 0; v < n; ++v) {
            uint256 same;
            for (uint256 w = 0; w < n; ++w) {
                if (ballots[w] == ballots[v]) ++same;
            }
            if (2 * same > n) assertEq(candidate, ballots[v], "majority missed");
        }
    }

    function testFuzz_majority_countMatchesReference(uint256 seed, uint256 n, uint256 kinds, uint256 pick) public view {
        n = bound(n, 1, 64);
        kinds = bound(kinds, 1, 4);
        bytes32[] memory ballots = _ballots(seed, n, kinds);
        bytes32 expected = ballots[pick % n];
        (uint256 votes, uint256 dissenters) = harness.count(ballots, expected);
        uint256 wantVotes;
        uint256 wantDissenters;
        for (uint256 v = 0; v < n; ++v) {
            if (ballots[v] == expected) ++wantVotes;
            else wantDissenters |= uint256(1) << v;
        }
        assertEq(votes, wantVotes, "votes");
        assertEq(dissenters, wantDissenters, "dissenters");
    }

    // ================================================================ Consensus

    /// @dev A random items x voters matrix of paired values (0 .. 20000, many ties), a row of
    /// base scores (0 .. 10000) and their true hints (the base scores' last).
    function _hinted(uint256 seed, uint256 items, uint256 voters)
        internal
        pure
        returns (uint256[] memory cells, uint256[] memory bases, uint256[] memory values, bytes memory hints)
    {
        cells = new uint256[](items * voters);
        bases = new uint256[](voters);
        values = new uint256[](4 * (items + 1));
        uint256 range = 1 + _rand(seed, 0, 0) % 20_001;
        for (uint256 i = 0; i <= items; ++i) {
            uint256[] memory row = new uint256[](voters);
            for (uint256 v = 0; v < voters; ++v) {
                if (i < items) {
                    row[v] = _rand(seed, i + 1, v) % range;
                    cells[i * voters + v] = row[v];
                } else {
                    row[v] = _rand(seed, i + 1, v) % (range < 10_001 ? range : 10_001);
                    bases[v] = row[v];
                }
            }
            uint256 lo = _kth(row, (voters - 1) / 2);
            uint256 hi = _kth(row, voters / 2);
            uint256 m = (lo + hi) / 2;
            for (uint256 v = 0; v < voters; ++v) {
                row[v] = row[v] > m ? row[v] - m : m - row[v];
            }
            (values[4 * i], values[4 * i + 1]) = (lo, hi);
            (values[4 * i + 2], values[4 * i + 3]) = (_kth(row, (voters - 1) / 2), _kth(row, voters / 2));
        }
        hints = _pack(values);
    }

    function testFuzz_consensus_fromHintsTakesTheTrueMiddles(uint256 seed, uint256 items, uint256 voters) public view {
        items = bound(items, 1, 8);
        voters = bound(voters, 1, 24);
        (uint256[] memory cells, uint256[] memory bases, uint256[] memory values, bytes memory hints) =
            _hinted(seed, items, voters);
        (uint256[] memory medians, uint256[] memory mads, uint256 baseMedian, uint256 baseMad) =
            harness.fromHints(cells, bases, hints, items, voters);
        assertEq(medians.length, items);
        assertEq(mads.length, items);
        for (uint256 i = 0; i < items; ++i) {
            assertEq(medians[i], (values[4 * i] + values[4 * i + 1]) / 2, "median");
            assertEq(mads[i], (values[4 * i + 2] + values[4 * i + 3]) / 2, "mad");
        }
        assertEq(baseMedian, (values[4 * items] + values[4 * items + 1]) / 2, "base median");
        assertEq(baseMad, (values[4 * items + 2] + values[4 * items + 3]) / 2, "base mad");
    }

    /// @dev A k-th order statistic plus one is never the k-th: any raised hint is refused (a
    /// base-score hint with index `items`).
    function testFuzz_consensus_fromHintsRefusesAWrongHint(uint256 seed, uint256 items, uint256 voters, uint256 which)
        public
    {
        items = bound(items, 1, 8);
        voters = bound(voters, 1, 24);
        which = bound(which, 0, 4 * (items + 1) - 1);
        (uint256[] memory cells, uint256[] memory bases, uint256[] memory values, bytes memory hints) =
            _hinted(seed, items, voters);
        values[which] += 1;
        hints = _pack(values);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAllianceTask.SettlementInputInvalid.selector, IAllianceTask.SettleField.Hints, which / 4
            )
        );
        harness.fromHints(cells, bases, hints, items, voters);
    }

    function test_consensus_fromHintsRefusesAWrongLength() public {
        (uint256[] memory cells, uint256[] memory bases,, bytes memory hints) = _hinted(7, 2, 3);
        // 2 proposals + the base scores: 3 x 8 bytes; read as 3 proposals it is one hint short
        vm.expectRevert(
            abi.encodeWithSelector(IAllianceTask.SettlementInputInvalid.selector, IAllianceTask.SettleField.Hints, 3)
        );
        harness.fromHints(cells, bases, hints, 3, 2);
        vm.expectRevert(
            abi.encodeWithSelector(IAllianceTask.SettlementInputInvalid.selector, IAllianceTask.SettleField.Hints, 2)
        );
        harness.fromHints(cells, bases, bytes.concat(hints, hex"00"), 2, 3);
    }

    function testFuzz_consensus_acceptsMatchesTheRule(
        uint256 score,
        bool refused,
        uint256 peer,
        uint256 tolerance,
        uint256 peerTolerance
    ) public pure {
        score = bound(score, 0, 20_000);
        peer = bound(peer, 0, 20_000);
        tolerance = bound(tolerance, 0, 10_000);
        peerTolerance = bound(peerTolerance, 0, 10_000);
        bool want = !refused && score + tolerance >= 10_000 && score + peerTolerance >= peer;
        assertEq(Consensus.accepts(score, refused, peer, tolerance, peerTolerance), want);
    }

    // ================================================================ Band

    function testFuzz_band_voterWeightsMatchReference(
        uint256 seed,
        uint256 items,
        uint256 voters,
        uint256 multiplier,
        uint256 floor
    ) public pure {
        items = bound(items, 1, 8);
        voters = bound(voters, 1, 24);
        multiplier = bound(multiplier, 0, 1000);
        floor = bound(floor, 0, 3000);
        uint256[] memory cells = new uint256[](items * voters);
        uint256[] memory medians = new uint256[](items);
        uint256[] memory mads = new uint256[](items);
        for (uint256 i = 0; i < items; ++i) {
            medians[i] = 9000 + _rand(seed, i, 1) % 2001;
            mads[i] = _rand(seed, i, 2) % 1500;
            for (uint256 v = 0; v < voters; ++v) {
                cells[i * voters + v] = medians[i] + _rand(seed, i, 100 + v) % 4001 - 2000;
            }
        }
        uint256[] memory bases = new uint256[](voters);
        uint256 baseMedian = _rand(seed, items, 1) % 10_001;
        uint256 baseBand = _rand(seed, items, 2) % 10_001;
        for (uint256 v = 0; v < voters; ++v) {
            bases[v] = _rand(seed, items, 100 + v) % 10_001;
        }
        (uint256[] memory weights, uint256 outliers) =
            Band.voterWeights(cells, medians, mads, multiplier, floor, bases, baseMedian, baseBand);
        assertEq(weights.length, voters);
        uint256 wantOutliers;
        for (uint256 v = 0; v < voters; ++v) {
            uint256 disagreements;
            uint256 distance;
            for (uint256 i = 0; i < items; ++i) {
                uint256 band = mads[i] * multiplier / 100;
                if (band < floor) band = floor;
                uint256 x = cells[i * voters + v];
                uint256 d = x > medians[i] ? x - medians[i] : medians[i] - x;
                if (d > band) ++disagreements;
                distance += d;
            }
            uint256 baseDistance = bases[v] > baseMedian ? bases[v] - baseMedian : baseMedian - bases[v];
            if (2 * disagreements > items || baseDistance > baseBand) {
                ++wantOutliers;
                assertEq(weights[v], 0, "outlier weight");
            } else {
                assertEq(weights[v], items * 20_000 - distance + 1, "agreement weight");
            }
        }
        assertEq(outliers, wantOutliers, "outliers");
    }

    function testFuzz_band_widthIsTheScaledMadOrTheFloor(uint256 mad, uint256 multiplier, uint256 floor)
        public
        pure
    {
        mad = bound(mad, 0, 20_000);
        multiplier = bound(multiplier, 0, 1000);
        floor = bound(floor, 0, 10_000);
        uint256 scaled = mad * multiplier / 100;
        assertEq(Band.width(mad, multiplier, floor), scaled > floor ? scaled : floor);
    }

    /// A voter that agrees on every proposal but misreports its own base-model score (which
    /// offsets all its paired differences) is an outlier; at the band's edge it is not.
    function test_band_aBaseScoreOutsideItsBandMakesAnOutlier() public pure {
        uint256[] memory cells = new uint256[](3); // one proposal, three voters, all agreeing
        (cells[0], cells[1], cells[2]) = (10_000, 10_000, 10_000);
        uint256[] memory medians = new uint256[](1);
        medians[0] = 10_000;
        uint256[] memory mads = new uint256[](1);
        uint256[] memory bases = new uint256[](3);
        (bases[0], bases[1], bases[2]) = (9000, 9000 - 5715, 9000 + 5716);
        (uint256[] memory weights, uint256 outliers) =
            Band.voterWeights(cells, medians, mads, 300, 1000, bases, 9000, 5715);
        assertEq(outliers, 1);
        assertGt(weights[0], 0, "at the median");
        assertGt(weights[1], 0, "at the band's edge");
        assertEq(weights[2], 0, "outside the base band");
    }

    function test_band_isWashOnMostOutliersOrMostDispersedItems() public pure {
        uint256[] memory mads = new uint256[](3);
        (mads[0], mads[1], mads[2]) = (100, 2000, 100);
        assertFalse(Band.isWash(mads, 2, 4, 1000), "half the voters outside is no wash");
        assertTrue(Band.isWash(mads, 3, 5, 1000), "most voters outside");
        assertFalse(Band.isWash(mads, 0, 5, 1000), "one dispersed item of three");
        mads[2] = 1001;
        assertTrue(Band.isWash(mads, 0, 5, 1000), "two dispersed items of three");
        assertFalse(Band.isWash(mads, 0, 5, 2000), "a MAD at the limit is not dispersed");
    }

    // ================================================================ RewardMath weights

    function _scoresAndMask(uint256 seed, uint256 n) internal pure returns (uint256[] memory scores, uint256 mask) {
        scores = new uint256[](n);
        for (uint256 p = 0; p < n; ++p) {
            scores[p] = 9900 + _rand(seed, p, 0) % 300; // narrow: many ties
            if (_rand(seed, p, 1) % 4 != 0) mask |= uint256(1) << p;
        }
    }

    function testFuzz_rewardMath_geometricWeightsRankTheAccepted(uint256 seed, uint256 n) public pure {
        n = bound(n, 1, 32);
        (uint256[] memory scores, uint256 mask) = _scoresAndMask(seed, n);
        uint256[] memory w = RewardMath.geometricWeights(scores, mask);
        assertEq(w.length, n);
        for (uint256 p = 0; p < n; ++p) {
            if (mask & (uint256(1) << p) == 0) {
                assertEq(w[p], 0, "rejected proposal weighted");
                continue;
            }
            uint256 rank;
            for (uint256 q = 0; q < n; ++q) {
                if (mask & (uint256(1) << q) == 0) continue;
                if (scores[q] > scores[p] || (scores[q] == scores[p] && q < p)) ++rank;
            }
            assertEq(w[p], uint256(1) << (63 - rank), "geometric weight");
        }
    }

    function testFuzz_rewardMath_softmaxWeightsAgainstTheBestAccepted(uint256 seed, uint256 n, uint256 temperature)
        public
        pure
    {
        n = bound(n, 1, 32);
        temperature = bound(temperature, 1, type(uint16).max);
        (uint256[] memory scores, uint256 mask) = _scoresAndMask(seed, n);
        uint256[] memory w = RewardMath.softmaxWeights(scores, mask, temperature);
        uint256 best;
        for (uint256 p = 0; p < n; ++p) {
            if (mask & (uint256(1) << p) != 0 && scores[p] > best) best = scores[p];
        }
        for (uint256 p = 0; p < n; ++p) {
            uint256 want = mask & (uint256(1) << p) == 0 ? 0 : RewardMath.softmax(scores[p], best, temperature);
            assertEq(w[p], want, "softmax weight");
        }
    }

    function testFuzz_rewardMath_sum(uint256 seed, uint256 n) public pure {
        n = bound(n, 0, 64);
        uint256[] memory w = new uint256[](n);
        uint256 want;
        for (uint256 i = 0; i < n; ++i) {
            w[i] = _rand(seed, i, 0) % 2 ** 64;
            want += w[i];
        }
        assertEq(RewardMath.sum(w), want);
    }

    // ================================================================ Stats

    function testFuzz_stats_minAndMedianOfCopy(uint256 a, uint256 b, uint256 seed, uint256 n) public pure {
        assertEq(Stats.min(a, b), a < b ? a : b);
        n = bound(n, 1, 32);
        uint256[] memory values = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            values[i] = _rand(seed, i, 0) % 1000;
        }
        uint256[] memory before = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            before[i] = values[i];
        }
        uint256 want = n % 2 == 1 ? _kth(values, n / 2) : (_kth(values, n / 2 - 1) + _kth(values, n / 2)) / 2;
        assertEq(Stats.medianOfCopy(values), want, "median");
        for (uint256 i = 0; i < n; ++i) {
            assertEq(values[i], before[i], "input changed");
        }
    }

    // ================================================================ TaskConfigCheck

    function _validConfig() internal pure returns (IAllianceTask.TaskConfig memory c) {
        c.minStake = 1;
        c.maxParticipants = 10;
        c.proposersPerRound = 3;
        c.maxVoters = 16;
        c.minVoters = 1;
        c.rounds = 3;
        c.enrolPeriod = 1;
        c.proposePeriod = 1;
        c.commitPeriod = 1;
        c.revealPeriod = 1;
        c.maxSamples = 1;
        c.rewardRule = IAllianceTask.RewardRule.Softmax;
        c.softmaxTemperatureBps = 1;
    }

    function _expectInvalid(IAllianceTask.TaskConfig memory c, IAllianceTask.ConfigField field) internal {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.TaskInvalidConfig.selector, field));
        harness.validate(c);
    }

    function test_taskConfigCheck_namesTheFirstFieldOutOfRange() public {
        IAllianceTask.TaskConfig memory c = _validConfig();
        harness.validate(c);
        c.proposersPerRound = 32;
        c.maxVoters = 64;
        c.minVoters = 64;
        c.maxParticipants = 96; // a full roster seats 32 proposers and 64 voters
        harness.validate(c);
        c.minVoters = 65;
        _expectInvalid(c, IAllianceTask.ConfigField.MinVoters);
        c.maxParticipants = 95;
        c.minVoters = 64;
        _expectInvalid(c, IAllianceTask.ConfigField.MinVoters);
        c = _validConfig();
        c.maxVoters = 65;
        _expectInvalid(c, IAllianceTask.ConfigField.MaxVoters);
        c = _validConfig();
        c.proposersPerRound = 33;
        _expectInvalid(c, IAllianceTask.ConfigField.ProposersPerRound);
        c = _validConfig();
        c.commitPeriod = 0;
        _expectInvalid(c, IAllianceTask.ConfigField.Period);
        c = _validConfig();
        c.washMadBps = 10_001;
        _expectInvalid(c, IAllianceTask.ConfigField.ConsensusBand);
        c = _validConfig();
        c.peerToleranceBps = 10_001;
        _expectInvalid(c, IAllianceTask.ConfigField.ToleranceBps);
        c = _validConfig();
        c.acceptToleranceBps = 1; // wider than the slash tolerance (0)
        _expectInvalid(c, IAllianceTask.ConfigField.ToleranceBps);
        c = _validConfig();
        c.acceptPeerToleranceBps = 1;
        _expectInvalid(c, IAllianceTask.ConfigField.ToleranceBps);
        c = _validConfig();
        c.softmaxTemperatureBps = 0;
        _expectInvalid(c, IAllianceTask.ConfigField.SoftmaxTemperatureBps);
        c.rewardRule = IAllianceTask.RewardRule.Geometric;
        harness.validate(c);
        c.minStake = 0;
        c.rounds = 0; // the first field out of range is named
        _expectInvalid(c, IAllianceTask.ConfigField.MinStake);
    }

    // ================================================================ SettleInputCheck

    uint256 internal constant ROUND = 3;

    function _seat(uint16 proposalIndex1, bool committed, bool revealed, bytes24 commit)
        internal
        pure
        returns (AllianceTask.Seat memory)
    {
        return AllianceTask.Seat(uint32(ROUND), proposalIndex1, committed, revealed, commit);
    }

    function _commit(bytes memory scores, bytes32 attestation, bytes32 salt, address voter)
        internal
        pure
        returns (bytes24)
    {
        return bytes24(keccak256(abi.encodePacked(scores, attestation, salt, voter, ROUND)));
    }

    /// @dev Two proposers, three revealed voters (two attest A, one B), one missing voter.
    function _settleFixture() internal returns (SettleInputCheckHarness h, AllianceTask.SettleInput memory input) {
        h = new SettleInputCheckHarness();
        input.proposers = new address[](2);
        input.proposers[0] = address(0xB2);
        input.proposers[1] = address(0xB1);
        h.setSeat(input.proposers[0], _seat(1, false, false, 0));
        h.setSeat(input.proposers[1], _seat(2, false, false, 0));
        input.voters = new address[](3);
        (input.voters[0], input.voters[1], input.voters[2]) = (address(0xC1), address(0xC2), address(0xC3));
        input.scores = new bytes[](3);
        input.attestations = new bytes32[](3);
        input.salts = new bytes32[](3);
        for (uint256 v = 0; v < 3; ++v) {
            input.scores[v] = abi.encodePacked(uint16(8000), uint16(8100 + v), uint16(8200));
            input.attestations[v] = v == 1 ? bytes32("B") : bytes32("A");
            input.salts[v] = keccak256(abi.encode("salt", v));
            h.setSeat(
                input.voters[v],
                _seat(0, true, true, _commit(input.scores[v], input.attestations[v], input.salts[v], input.voters[v]))
            );
        }
        input.missing = new address[](1);
        input.missing[0] = address(0xC0);
        h.setSeat(input.missing[0], _seat(0, true, false, bytes24(uint192(1))));
        h.setCounts(2, 4);
    }

    function _expectSettleInvalid(IAllianceTask.SettleField field, uint256 index) internal {
        vm.expectRevert(abi.encodeWithSelector(IAllianceTask.SettlementInputInvalid.selector, field, index));
    }

    function test_settleInputCheck_acceptsTheRecordAndReturnsSaltsAndCandidate() public {
        (SettleInputCheckHarness h, AllianceTask.SettleInput memory input) = _settleFixture();
        (bytes32 salts, bytes32 candidate) = h.check(ROUND, input);
        assertEq(salts, input.salts[0] ^ input.salts[1] ^ input.salts[2], "salts");
        assertEq(candidate, bytes32("A"), "candidate");
    }

    function test_settleInputCheck_refusesProposersOutOfOrderOrMissing() public {
        (SettleInputCheckHarness h, AllianceTask.SettleInput memory input) = _settleFixture();
        (input.proposers[0], input.proposers[1]) = (input.proposers[1], input.proposers[0]);
        _expectSettleInvalid(IAllianceTask.SettleField.Proposers, 0);
        h.check(ROUND, input);
        h.setCounts(3, 4);
        _expectSettleInvalid(IAllianceTask.SettleField.Proposers, 0);
        h.check(ROUND, input);
    }

    function test_settleInputCheck_refusesBadVoters() public {
        (SettleInputCheckHarness h, AllianceTask.SettleInput memory input) = _settleFixture();
        input.voters[2] = input.voters[0];
        _expectSettleInvalid(IAllianceTask.SettleField.VotersOrder, 2);
        h.check(ROUND, input);
        (h, input) = _settleFixture();
        input.salts[2] = bytes32(0);
        _expectSettleInvalid(IAllianceTask.SettleField.Scores, 2);
        h.check(ROUND, input);
        (h, input) = _settleFixture();
        input.voters[0] = input.missing[0]; // committed, not revealed
        _expectSettleInvalid(IAllianceTask.SettleField.Voters, 0);
        h.check(ROUND, input);
        (h, input) = _settleFixture();
        input.attestations = new bytes32[](2);
        _expectSettleInvalid(IAllianceTask.SettleField.Attestations, 0);
        h.check(ROUND, input);
    }

    function test_settleInputCheck_refusesBadMissingVoters() public {
        (SettleInputCheckHarness h, AllianceTask.SettleInput memory input) = _settleFixture();
        h.setCounts(2, 5);
        _expectSettleInvalid(IAllianceTask.SettleField.Missing, 0);
        h.check(ROUND, input);
        (h, input) = _settleFixture();
        input.missing[0] = input.voters[0]; // revealed
        _expectSettleInvalid(IAllianceTask.SettleField.Missing, 0);
        h.check(ROUND, input);
        (h, input) = _settleFixture();
        input.missing = new address[](2);
        (input.missing[0], input.missing[1]) = (address(0xC0), address(0xC0));
        h.setCounts(2, 5);
        _expectSettleInvalid(IAllianceTask.SettleField.MissingOrder, 1);
        h.check(ROUND, input);
    }
}
