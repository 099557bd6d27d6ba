// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {Stats} from "../Stats.sol";
import {Shuffle} from "../Shuffle.sol";
import {RewardMath} from "../RewardMath.sol";
import {ScoreMatrix} from "../ScoreMatrix.sol";

/// @dev ScoreMatrix.loadPaired reads calldata: exposed through an external call.
contract ScoreMatrixHarness {
    function loadPaired(bytes[] calldata scores, uint256 proposals, uint256 offset)
        external
        pure
        returns (uint256[] memory cells, uint256[] memory refusals, uint256[] memory bases)
    {
        return ScoreMatrix.loadPaired(scores, proposals, offset);
    }
}

/// @dev Fuzz tests of the pure libraries against simple reference implementations.
contract LibrariesTest is Test {
    // ================================================================ Stats

    function _randomArray(uint256 seed, uint256 n, uint256 range) internal pure returns (uint256[] memory a) {
        a = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            a[i] = uint256(keccak256(abi.encode(seed, i))) % range;
        }
    }

    function _copy(uint256[] memory a) internal pure returns (uint256[] memory b) {
        b = new uint256[](a.length);
        for (uint256 i = 0; i < a.length; ++i) {
            b[i] = a[i];
        }
    }

    /// @dev k-th smallest (0-based) by counting, without sorting.
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

    /// @dev Plain selection sort (the library sorts with an assembly insertion sort).
    function _refSort(uint256[] memory a) internal pure {
        for (uint256 i = 0; i < a.length; ++i) {
            uint256 best = i;
            for (uint256 j = i + 1; j < a.length; ++j) {
                if (a[j] < a[best]) best = j;
            }
            (a[i], a[best]) = (a[best], a[i]);
        }
    }

    function _refMedian(uint256[] memory a) internal pure returns (uint256) {
        uint256 n = a.length;
        if (n % 2 == 1) return _kth(a, n / 2);
        return (_kth(a, n / 2 - 1) + _kth(a, n / 2)) / 2;
    }

    function testFuzz_median_matchesReference(uint256 seed, uint256 n, uint256 range) public pure {
        n = bound(n, 1, 64);
        range = bound(range, 1, 10_001); // small ranges give many ties
        uint256[] memory a = _randomArray(seed, n, range);
        uint256[] memory original = _copy(a);
        uint256 m = Stats.median(a);
        assertEq(m, _refMedian(original), "median");
        // median sorts in place: ascending and a permutation of the input
        for (uint256 i = 1; i < n; ++i) {
            assertLe(a[i - 1], a[i], "not sorted");
        }
        _refSort(original);
        for (uint256 i = 0; i < n; ++i) {
            assertEq(a[i], original[i], "sorted array is not a permutation of the input");
        }
    }

    function testFuzz_mad_matchesReference(uint256 seed, uint256 n, uint256 range) public pure {
        n = bound(n, 1, 64);
        range = bound(range, 1, 10_001);
        uint256[] memory a = _randomArray(seed, n, range);
        uint256 m = _refMedian(a);
        Stats.sort(a);
        uint256[] memory before = _copy(a);
        uint256 mad = Stats.madOfSorted(a, m);
        uint256[] memory d = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            d[i] = a[i] > m ? a[i] - m : m - a[i];
            assertEq(a[i], before[i], "mad changed its input");
        }
        assertEq(mad, _refMedian(d), "mad");
    }

    /// @dev madOfSorted's two-pointer walk against the plain definition, for any centre.
    function testFuzz_madOfSorted_anyCentre(uint256 seed, uint256 n, uint256 range, uint256 m) public pure {
        n = bound(n, 1, 64);
        range = bound(range, 1, 10_001);
        m = bound(m, 0, range + 100);
        uint256[] memory a = _randomArray(seed, n, range);
        Stats.sort(a);
        uint256[] memory d = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            d[i] = a[i] > m ? a[i] - m : m - a[i];
        }
        assertEq(Stats.madOfSorted(a, m), _refMedian(d), "madOfSorted");
    }

    function test_median_evenLengthRoundsDown() public pure {
        uint256[] memory a = new uint256[](2);
        a[0] = 4;
        a[1] = 1;
        assertEq(Stats.median(a), 2);
        uint256[] memory b = new uint256[](4);
        (b[0], b[1], b[2], b[3]) = (10, 0, 7, 8);
        assertEq(Stats.median(b), 7);
        assertEq(Stats.madOfSorted(b, 7), 2); // b is sorted by median() // deviations 3, 7, 0, 1 -> (1 + 3) / 2
    }

    function test_median_singleElement() public pure {
        uint256[] memory a = new uint256[](1);
        a[0] = 9999;
        assertEq(Stats.median(a), 9999);
        assertEq(Stats.madOfSorted(a, 9999), 0);
    }

    /// @dev isMiddle accepts exactly the true lower/upper middle order statistics.
    function testFuzz_isMiddle_acceptsOnlyTheMiddles(uint256 seed, uint256 n, uint256 range, uint256 c1, uint256 c2)
        public
        pure
    {
        n = bound(n, 1, 64);
        range = bound(range, 1, 10_001);
        uint256[] memory a = _randomArray(seed, n, range);
        uint256[] memory sorted = _copy(a);
        _refSort(sorted);
        uint256 lo = sorted[(n - 1) / 2];
        uint256 hi = sorted[n / 2];
        assertTrue(Stats.isMiddle(a, lo, hi), "true middles refused");
        // a random candidate pair, often one of the array's values
        c1 = c1 % 2 == 0 ? a[c1 % n] : bound(c1, 0, range);
        c2 = c2 % 2 == 0 ? a[c2 % n] : bound(c2, 0, range);
        assertEq(Stats.isMiddle(a, c1, c2), c1 == lo && c2 == hi, "isMiddle verdict");
        // deviations around the median
        uint256 m = (lo + hi) / 2;
        uint256[] memory d = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            d[i] = a[i] > m ? a[i] - m : m - a[i];
        }
        _refSort(d);
        assertTrue(Stats.isMiddleDeviation(a, m, d[(n - 1) / 2], d[n / 2]), "true deviation middles refused");
        assertEq(
            Stats.isMiddleDeviation(a, m, c1, c2),
            c1 == d[(n - 1) / 2] && c2 == d[n / 2],
            "isMiddleDeviation verdict"
        );
    }

    function test_isMiddle_refusesEmpty() public pure {
        assertFalse(Stats.isMiddle(new uint256[](0), 0, 0));
    }

    // ================================================================ ScoreMatrix

    function _randomScores(uint256 seed, uint256 voters, uint256 items)
        internal
        pure
        returns (bytes[] memory scores, uint256[][] memory plain)
    {
        scores = new bytes[](voters);
        plain = new uint256[][](voters);
        for (uint256 v = 0; v < voters; ++v) {
            plain[v] = new uint256[](items);
            for (uint256 i = 0; i < items; ++i) {
                uint256 x = uint256(keccak256(abi.encode(seed, v, i))) % 10_001;
                plain[v][i] = x;
                scores[v] = bytes.concat(scores[v], abi.encodePacked(uint16(x)));
            }
        }
    }

    /// @dev The items x voters matrix of `plain` (row-major, one word per score), as the
    /// settlement lays out its paired matrix.
    function _matrix(uint256[][] memory plain, uint256 voters, uint256 items)
        internal
        pure
        returns (uint256[] memory cells)
    {
        cells = new uint256[](items * voters);
        for (uint256 v = 0; v < voters; ++v) {
            for (uint256 i = 0; i < items; ++i) {
                cells[i * voters + v] = plain[v][i];
            }
        }
    }

    /// @dev Row p - 1, column v: voter v's score of proposal p minus its base-model score (item
    /// 0) plus the offset, the mark 0xFFFF counting as 0; refusals count the zeros per proposal;
    /// bases[v] is voter v's base-model score.
    function testFuzz_scoreMatrix_loadPairedIsRowMajorProposalsByVoters(uint256 seed, uint256 voters, uint256 items)
        public
    {
        voters = bound(voters, 1, 32);
        items = bound(items, 2, 17);
        (bytes[] memory scores, uint256[][] memory plain) = _randomScores(seed, voters, items);
        for (uint256 v = 0; v < voters; ++v) {
            // some zeros and unavailable marks, the base model's score included
            for (uint256 i = 0; i < items; ++i) {
                uint256 draw = uint256(keccak256(abi.encode(seed, "mark", v, i))) % 8;
                if (draw == 0) plain[v][i] = 0;
                if (draw == 1) plain[v][i] = 0xFFFF;
            }
            scores[v] = "";
            for (uint256 i = 0; i < items; ++i) {
                scores[v] = bytes.concat(scores[v], abi.encodePacked(uint16(plain[v][i])));
            }
        }
        (uint256[] memory cells, uint256[] memory refusals, uint256[] memory bases) =
            new ScoreMatrixHarness().loadPaired(scores, items - 1, 10_000);
        assertEq(cells.length, voters * (items - 1));
        assertEq(refusals.length, items - 1);
        assertEq(bases.length, voters);
        for (uint256 v = 0; v < voters; ++v) {
            assertEq(bases[v], plain[v][0] == 0xFFFF ? 0 : plain[v][0], "base score");
        }
        for (uint256 p = 1; p < items; ++p) {
            uint256 zeros;
            for (uint256 v = 0; v < voters; ++v) {
                uint256 base = plain[v][0] == 0xFFFF ? 0 : plain[v][0];
                uint256 x = plain[v][p] == 0xFFFF ? 0 : plain[v][p];
                if (x == 0) ++zeros;
                assertEq(cells[(p - 1) * voters + v], x + 10_000 - base, "paired cell");
            }
            assertEq(refusals[p - 1], zeros, "refusals");
        }
    }

    function testFuzz_scoreMatrix_isMiddleMatchesStats(
        uint256 seed,
        uint256 voters,
        uint256 items,
        uint256 row,
        uint256 c1,
        uint256 c2
    ) public pure {
        voters = bound(voters, 1, 32);
        items = bound(items, 1, 8);
        row = bound(row, 0, items - 1);
        (, uint256[][] memory plain) = _randomScores(seed, voters, items);
        uint256[] memory cells = _matrix(plain, voters, items);
        uint256[] memory column = new uint256[](voters);
        for (uint256 v = 0; v < voters; ++v) {
            column[v] = plain[v][row];
        }
        uint256[] memory sorted = _copy(column);
        _refSort(sorted);
        uint256 lo = sorted[(voters - 1) / 2];
        uint256 hi = sorted[voters / 2];
        assertTrue(ScoreMatrix.isMiddle(cells, row, voters, lo, hi, false, 0), "true middles refused");
        c1 = c1 % 2 == 0 ? column[c1 % voters] : bound(c1, 0, 10_000);
        c2 = c2 % 2 == 0 ? column[c2 % voters] : bound(c2, 0, 10_000);
        assertEq(ScoreMatrix.isMiddle(cells, row, voters, c1, c2, false, 0), c1 == lo && c2 == hi, "verdict");
        uint256 m = (lo + hi) / 2;
        assertEq(
            ScoreMatrix.isMiddle(cells, row, voters, c1, c2, true, m),
            Stats.isMiddleDeviation(column, m, c1, c2),
            "deviation verdict"
        );
    }

    function testFuzz_scoreMatrix_agreementMatchesReference(uint256 seed, uint256 voters, uint256 items, uint256 v)
        public
        pure
    {
        voters = bound(voters, 1, 32);
        items = bound(items, 1, 8);
        v = bound(v, 0, voters - 1);
        (, uint256[][] memory plain) = _randomScores(seed, voters, items);
        uint256[] memory cells = _matrix(plain, voters, items);
        uint256[] memory medians = new uint256[](items);
        uint256[] memory bands = new uint256[](items);
        uint256 wantDis;
        uint256 wantDist;
        for (uint256 i = 0; i < items; ++i) {
            medians[i] = uint256(keccak256(abi.encode(seed, "m", i))) % 10_001;
            bands[i] = uint256(keccak256(abi.encode(seed, "b", i))) % 3000;
            uint256 x = plain[v][i];
            uint256 d = x > medians[i] ? x - medians[i] : medians[i] - x;
            if (d > bands[i]) ++wantDis;
            wantDist += d;
        }
        (uint256 dis, uint256 dist) = ScoreMatrix.agreement(cells, voters, v, medians, bands);
        assertEq(dis, wantDis, "disagreements");
        assertEq(dist, wantDist, "distance");
    }

    // ================================================================ Shuffle

    function testFuzz_shuffledIndex_isPermutation(uint256 n, bytes32 seed) public pure {
        n = bound(n, 1, 64);
        uint256 seen;
        for (uint256 i = 0; i < n; ++i) {
            uint256 p = Shuffle.shuffledIndex(i, n, seed);
            assertLt(p, n);
            assertTrue(seen & (uint256(1) << p) == 0, "position drawn twice");
            seen |= uint256(1) << p;
        }
        assertEq(seen, n == 256 ? type(uint256).max : (uint256(1) << n) - 1, "not every position drawn");
    }

    /// @dev The swap-or-not shuffle written plainly with abi.encodePacked (the spec the
    /// assembly implementation and flock's Python mirror follow).
    function _refShuffledIndex(uint256 index, uint256 n, bytes32 seed) internal pure returns (uint256) {
        for (uint256 r = 0; r < Shuffle.ROUNDS; ++r) {
            uint256 pivot = uint256(keccak256(abi.encodePacked(seed, uint8(r)))) % n;
            uint256 flip = (pivot + n - index) % n;
            uint256 position = index > flip ? index : flip;
            bytes32 source = keccak256(abi.encodePacked(seed, uint8(r), uint32(position >> 8)));
            uint256 bit = (uint256(uint8(source[(position & 0xff) >> 3])) >> (position & 7)) & 1;
            if (bit == 1) index = flip;
        }
        return index;
    }

    function testFuzz_shuffledIndex_matchesReferenceEncoding(uint256 index, uint256 n, bytes32 seed) public pure {
        n = bound(n, 1, 5000); // beyond 256 so position >> 8 is exercised
        index = bound(index, 0, n - 1);
        assertEq(Shuffle.shuffledIndex(index, n, seed), _refShuffledIndex(index, n, seed));
    }

    function test_shuffledIndex_keepsMemoryIntact() public pure {
        uint256[] memory a = new uint256[](3);
        (a[0], a[1], a[2]) = (11, 22, 33);
        bytes memory b = "scratch";
        Shuffle.shuffledIndex(3, 10, keccak256("seed"));
        assertEq(a[0] + a[1] + a[2], 66);
        assertEq(keccak256(b), keccak256("scratch"));
    }

    // ================================================================ RewardMath

    uint256 internal constant ONE = 1e18;
    uint256 internal constant ONE36 = 1e36;
    uint256 internal constant LN2_36 = 693147180559945309417232121458176568;

    /// @dev 2^(-x / 1e18) in 18 decimals from a 30-term series at 36 decimals.
    function _refExp2neg(uint256 x) internal pure returns (uint256) {
        uint256 whole = x / ONE;
        if (whole >= 60) return 0;
        uint256 y = ((x % ONE) * LN2_36) / ONE;
        uint256 term = ONE36;
        uint256 plus = ONE36;
        uint256 minus = 0;
        for (uint256 k = 1; k <= 30; ++k) {
            term = (term * y) / (ONE36 * k);
            if (k % 2 == 1) minus += term;
            else plus += term;
        }
        return ((plus - minus) / 1e18) >> whole;
    }

    function _assertClose(uint256 got, uint256 want, string memory what) internal pure {
        uint256 diff = got > want ? got - want : want - got;
        assertLe(diff, want / 10_000 + 1, what); // relative 1e-4, plus one unit of rounding
    }

    function test_exp2neg_samplePoints() public pure {
        uint256[12] memory xs = [
            uint256(0),
            0.1e18,
            0.25e18,
            0.5e18,
            0.75e18,
            0.9e18,
            0.999e18,
            1e18,
            1.5e18,
            2.5e18,
            10e18,
            33.3e18
        ];
        uint256[12] memory want = [
            uint256(1000000000000000000),
            933032991536807415,
            840896415253714543,
            707106781186547524,
            594603557501360533,
            535886731268146582,
            500346693731290316,
            500000000000000000,
            353553390593273762,
            176776695296636881,
            976562500000000,
            94558624
        ];
        for (uint256 i = 0; i < xs.length; ++i) {
            _assertClose(RewardMath.exp2neg(xs[i]), want[i], "exp2neg sample");
        }
        assertEq(RewardMath.exp2neg(0), ONE, "2^0");
        assertEq(RewardMath.exp2neg(3e18), ONE >> 3, "2^-3 exact");
        assertEq(RewardMath.exp2neg(60e18), 0, "underflow");
        assertEq(RewardMath.exp2neg(type(uint256).max), 0, "huge x");
    }

    function testFuzz_exp2neg_withinRelativeErrorOfReference(uint256 x) public pure {
        x = bound(x, 0, 40e18); // beyond ~40 the integer result has too few digits for 1e-4
        _assertClose(RewardMath.exp2neg(x), _refExp2neg(x), "exp2neg vs reference");
    }

    function testFuzz_exp2neg_halvesPerUnit(uint256 x) public pure {
        x = bound(x, 0, 58e18);
        uint256 a = RewardMath.exp2neg(x);
        uint256 b = RewardMath.exp2neg(x + ONE);
        assertEq(b, a >> 1, "not halved per unit");
    }

    /// @dev Monotone non-increasing, exactly.
    function testFuzz_exp2neg_nonIncreasing(uint256 x1, uint256 x2) public pure {
        x1 = bound(x1, 0, 61e18);
        x2 = bound(x2, x1, 61e18);
        uint256 a = RewardMath.exp2neg(x1);
        uint256 b = RewardMath.exp2neg(x2);
        assertLe(b, a, "exp2neg increased");
    }

    /// @dev As the contract uses it (integer score gaps, uint16 temperature), softmax IS monotone.
    function testFuzz_softmax_monotoneInScore(uint256 best, uint256 s1, uint256 s2, uint256 temperature)
        public
        pure
    {
        best = bound(best, 0, 10_000);
        s2 = bound(s2, 0, best);
        s1 = bound(s1, 0, s2);
        temperature = bound(temperature, 1, type(uint16).max);
        uint256 w1 = RewardMath.softmax(s1, best, temperature);
        uint256 w2 = RewardMath.softmax(s2, best, temperature);
        assertLe(w1, w2, "lower score got a larger softmax weight");
        assertLe(w2, ONE);
        if (s2 == best) assertEq(w2, ONE, "best score weight");
    }

    function test_softmax_adjacentIntegerBoundaryWithLargestTemperature() public pure {
        // closest reachable approach to an integer boundary: (T - 1) / T just below 1
        uint256 t = type(uint16).max;
        uint256 w1 = RewardMath.softmax(0, t, t); // x = 1
        uint256 w2 = RewardMath.softmax(1, t, t); // x = (T - 1) / T
        assertLe(w1, w2);
    }

    /// @dev Regression: with the former 7-term series, exp2neg(k - 1e-18) < exp2neg(k) by
    /// ~1.2e12 wei at every integer k (the odd-degree polynomial under-estimates e^-y).
    function test_exp2neg_monotoneAcrossIntegerBoundaries() public pure {
        for (uint256 k = 1; k < 60; ++k) {
            assertGe(RewardMath.exp2neg(k * ONE - 1), RewardMath.exp2neg(k * ONE), "drop at an integer");
        }
    }

    /// Regression: with each series term rounded down separately, exp2neg went up by 1 wei
    /// for about 0.1 % of adjacent inputs; the Horner form never steps up.
    function test_exp2neg_neverStepsUpAtAKnownFormerCase() public pure {
        uint256 x = 818040140841871142;
        assertLe(RewardMath.exp2neg(x + 1), RewardMath.exp2neg(x), "exp2neg(x + 1e-18) > exp2neg(x)");
    }

    function testFuzz_geometric_halvesPerRank(uint256 rank) public pure {
        rank = bound(rank, 0, 62);
        assertEq(RewardMath.geometric(rank), 2 * RewardMath.geometric(rank + 1));
        assertEq(RewardMath.geometric(0), uint256(1) << 63);
        assertEq(RewardMath.geometric(63), 1);
        assertEq(RewardMath.geometric(64), 0);
        assertEq(RewardMath.geometric(type(uint256).max), 0);
    }
}
