"""Token amounts from configs become exact wei: no float on the way, nothing rounded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import OmegaConf

from flock.contracts.units import UINT256_MAX, from_wei, to_wei

TOKEN = 10**18


def test_supply_of_a_billion_tokens_is_exact() -> None:
    # Prepare: the config's supply, as YAML gives it and as an exponent
    cfg = OmegaConf.create("supply: 1000000000\nsupply_float: 1e9\nsupply_text: '1e9'\n")

    # Execute
    amounts = [to_wei(cfg.supply), to_wei(cfg.supply_float), to_wei(cfg.supply_text)]

    # Assert: int(float(1e9) * 10**18) would be 1,000,000,000.000000013287555072 tokens
    assert amounts == [10**27] * 3
    assert int(float(cfg.supply) * TOKEN) != 10**27


@pytest.mark.parametrize(
    ("amount", "wei"),
    [
        (1000, 1000 * TOKEN),  # reward pool
        ("1000", 1000 * TOKEN),
        (50, 50 * TOKEN),  # stake
        (50.0, 50 * TOKEN),  # `tokens.stake=50.0` on the command line
        (10, 10 * TOKEN),  # min_stake
        ("12.5", 12 * TOKEN + TOKEN // 2),  # a reward with a fractional part
        (Decimal("0.000000000000000001"), 1),  # one wei
        ("1_000", 1000 * TOKEN),
        (0, 0),
        ("-0", 0),
    ],
)
def test_amounts_convert_exactly(amount: str | int | float | Decimal, wei: int) -> None:
    assert to_wei(amount) == wei


def test_decimals_zero_reads_an_amount_already_in_wei() -> None:
    assert to_wei(1e20, decimals=0) == 10**20  # chain.fund_wei: 1e20
    assert to_wei("100000000000000000000", decimals=0) == 10**20


def test_other_token_decimals_scale_accordingly() -> None:
    assert to_wei("1.5", decimals=6) == 1_500_000  # a USDC-like token


@pytest.mark.parametrize("amount", [-1, "-0.5", Decimal("-1e-18")])
def test_negative_amounts_are_refused(amount: str | int | Decimal) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        to_wei(amount)


@pytest.mark.parametrize(
    ("amount", "decimals"), [("0.0000000000000000001", 18), ("1.5", 0), ("0.1234567", 6)]
)
def test_more_decimals_than_the_token_has_are_refused(amount: str, decimals: int) -> None:
    with pytest.raises(ValueError, match=f"more than {decimals} decimals"):
        to_wei(amount, decimals)


@pytest.mark.parametrize("amount", [0.1 + 0.2, 1 / 3, 123456789.12345679])
def test_floats_that_may_have_been_rounded_are_refused(amount: float) -> None:
    with pytest.raises(ValueError, match="float with more than 15 significant digits"):
        to_wei(amount)


@pytest.mark.parametrize(
    "amount", ["abc", "", "nan", "Infinity", float("inf"), True, None, [1], "1e100", 2**256]
)
def test_non_amounts_and_amounts_beyond_uint256_are_refused(amount: object) -> None:
    with pytest.raises(ValueError):
        to_wei(amount)  # type: ignore[arg-type]


def test_the_largest_amount_fits_a_uint256() -> None:
    assert to_wei(UINT256_MAX, decimals=0) == UINT256_MAX
    with pytest.raises(ValueError, match="uint256"):
        to_wei(UINT256_MAX + 1, decimals=0)


def test_from_wei_is_exact_for_any_size() -> None:
    assert from_wei(10**27) == Decimal(10**9)
    assert from_wei(1) == Decimal("1e-18")
    digits = str(UINT256_MAX)  # 78 digits, far beyond the 28 of the default Decimal context
    assert str(from_wei(UINT256_MAX)) == f"{digits[:-18]}.{digits[-18:]}"
    assert from_wei(-5 * TOKEN) == -5


@given(st.integers(min_value=0, max_value=UINT256_MAX), st.integers(min_value=0, max_value=30))
def test_to_wei_inverts_from_wei(wei: int, decimals: int) -> None:
    assert to_wei(from_wei(wei, decimals), decimals) == wei
    assert to_wei(str(from_wei(wei, decimals)), decimals) == wei
