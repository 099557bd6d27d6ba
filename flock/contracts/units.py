"""Exact conversion between token amounts written in configs and on-chain integer units (wei)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

TOKEN_DECIMALS = 18
"""Decimals of FlockToken (and of most ERC-20 tokens): one token is 10**18 wei."""
UINT256_MAX = 2**256 - 1
FLOAT_DIGITS = 15
"""Significant decimal digits a float keeps exactly (DBL_DIG): a decimal literal of at most 15
significant digits parses to a float whose shortest repr has the same value."""

Amount = str | int | float | Decimal


def to_wei(amount: Amount, decimals: int = TOKEN_DECIMALS) -> int:
    """Convert a decimal token amount to integer units without ever rounding.

    The amount is scaled by ``10**decimals`` with integer arithmetic, so ``"1000000000"`` or
    ``1_000_000_000`` tokens are exactly ``10**27`` wei (``int(float(x) * 10**18)`` gives
    1,000,000,000.000000013287555072 tokens).

    Parameters
    ----------
    amount : str, int, float or decimal.Decimal
        Whole tokens: an int, a decimal string (``"12.5"``, ``"1e9"``, ``"1_000"``) or a
        Decimal. A float (what YAML and Hydra make of ``50.0`` or ``1e9``) is read as the
        shortest decimal that prints it (``repr``), which is the literal written whenever that
        literal had at most 15 significant digits; a float that needs 16 or 17 digits (``0.1 +
        0.2``, or a literal too long to survive parsing) is refused: write it as a string.
    decimals : int
        Decimals of the token (18 for FlockToken; 0 converts an amount already in wei).

    Returns
    -------
    int
        The amount in units of ``10**-decimals`` tokens, in ``[0, 2**256 - 1]``.

    Raises
    ------
    ValueError
        For a negative, non-finite or non-numeric amount, a bool, a float that may have been
        rounded, more fractional digits than ``decimals``, or an amount beyond uint256.
    """
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ValueError(f"decimals must be an int >= 0, got {decimals!r}")
    value = _exact_decimal(amount)
    if not value.is_finite():
        raise ValueError(f"token amount must be finite, got {amount!r}")
    if value < 0:
        raise ValueError(f"token amount must be >= 0, got {amount!r}")
    _, digits, exponent = value.as_tuple()
    coefficient = int("".join(map(str, digits)) or "0")
    shift = int(exponent) + decimals  # finite: the exponent is an int
    if coefficient == 0:
        return 0
    if shift >= 0:
        if len(str(coefficient)) + shift > len(str(UINT256_MAX)):
            raise ValueError(f"token amount {amount!r} does not fit a uint256 in wei")
        wei = coefficient * 10**shift
    else:
        wei, remainder = divmod(coefficient, 10**-shift)
        if remainder:
            raise ValueError(
                f"token amount {amount!r} has more than {decimals} decimals: the token cannot "
                "represent it"
            )
    if wei > UINT256_MAX:
        raise ValueError(f"token amount {amount!r} does not fit a uint256 in wei")
    return wei


def from_wei(wei: int, decimals: int = TOKEN_DECIMALS) -> Decimal:
    """The exact decimal token amount of ``wei`` integer units.

    Parameters
    ----------
    wei : int
        Amount in units of ``10**-decimals`` tokens (any sign: balances and deltas alike).
    decimals : int
        Decimals of the token.

    Returns
    -------
    decimal.Decimal
        ``wei * 10**-decimals`` with exactly ``decimals`` fractional digits (no context
        rounding, whatever the size); ``to_wei(from_wei(w)) == w`` for every ``w >= 0``.
    """
    if isinstance(wei, bool) or not isinstance(wei, int):
        raise ValueError(f"wei must be an int, got {type(wei).__name__}")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ValueError(f"decimals must be an int >= 0, got {decimals!r}")
    return Decimal(f"{wei}E-{decimals}")  # the constructor is exact; arithmetic would round


def _exact_decimal(amount: Amount) -> Decimal:
    """`amount` as the Decimal it was written as (see :func:`to_wei` for floats)."""
    if isinstance(amount, bool):
        raise ValueError(f"token amount must be a number, got {amount!r}")
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, int):
        return Decimal(amount)
    if isinstance(amount, float):
        text = repr(amount)
        value = Decimal(text)
        if value.is_finite() and _significant_digits(value) > FLOAT_DIGITS:
            raise ValueError(
                f"token amount {text} is a float with more than {FLOAT_DIGITS} significant "
                "digits, which may not be the number written: give amounts as ints or strings"
            )
        return value
    if isinstance(amount, str):
        try:
            return Decimal(amount.strip())
        except InvalidOperation:
            raise ValueError(f"token amount {amount!r} is not a decimal number") from None
    raise ValueError(f"token amount must be a str, int or Decimal, got {type(amount).__name__}")


def _significant_digits(value: Decimal) -> int:
    """Digits of `value` from its first to its last non-zero one (1e15 has one)."""
    return len("".join(map(str, value.as_tuple().digits)).strip("0"))
