"""Amounts of OPG: base units ↔ decimal text, and the one format people read them in.

Light on purpose (the stdlib's decimal only): the TUI's first frame and the CLI's
output format amounts without importing the chain or the network code.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Context, Decimal, InvalidOperation

from .errors import ConfigurationError

OPG_DECIMALS = 18
ONE_OPG = 10**OPG_DECIMALS


def to_base_units(opg: Decimal | float | int | str) -> int:
    """OPG → base units, exactly (no float rounding)."""
    try:
        value = Decimal(str(opg))
    except InvalidOperation:
        raise ConfigurationError(f"not an amount of OPG: {opg!r}") from None
    if not value.is_finite() or value < 0:
        raise ConfigurationError(f"not an amount of OPG: {opg!r}")
    return int(value * ONE_OPG)


def opg_text(base_units: int | str) -> str:
    """Base units → the exact decimal OPG string receipts store (`0.000091725`)."""
    value = Decimal(int(base_units)) / Decimal(ONE_OPG)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


IMPLAUSIBLE = 40
"""Powers of ten above which a number is no amount of OPG (a hostile or broken gateway's
price): shown as it came, rather than written out in full."""

OPG_SIGNIFICANT = 3
"""Significant digits an amount below 1 OPG keeps on screen (`0.0000336`, `0.000203`)."""


def opg_display(
    amount: Decimal | int | str | None, *, base_units: bool = False, places: int = 2
) -> str:
    """An amount of OPG for people, the one format every face uses (TUI, CLI, messages).

    Fixed-point, never scientific notation (`Decimal`'s and `float`'s `str` both switch to
    `9.6e-5` for small amounts): at least `places` decimals, and below 1 OPG as many as
    `OPG_SIGNIFICANT` significant digits need, trailing zeros dropped down to `places`.
    `1,000.00`, `2.00`, `0.0000336`. Cut down, never rounded up: a wallet holding 999.999869
    OPG after a paid call reads `999.99`, not `1,000.00`, more than it holds. `amount` is in
    OPG, or base units with `base_units`; None is `—`, and text that is not a number is
    shown as it is.
    """
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if not value.is_finite():
        return str(amount)
    # Digits for the whole amount: the default context's 28 would round a large one up
    # before it is cut.
    exact = Context(prec=len(value.as_tuple().digits) + OPG_DECIMALS + places + 2)
    if base_units:
        value = value.scaleb(-OPG_DECIMALS, exact)
    if value.adjusted() > IMPLAUSIBLE:
        return str(amount)
    decimals = places
    if value and value.copy_abs() < 1:
        leading = -value.adjusted() - 1  # zeros between the point and the first digit
        decimals = max(places, leading + OPG_SIGNIFICANT)
    exact.prec = max(exact.prec, value.adjusted() + decimals + 2)
    value = value.quantize(Decimal(1).scaleb(-decimals), ROUND_FLOOR, exact)
    text = f"{value:,.{decimals}f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(places, "0")
    return f"{whole}.{fraction}" if fraction else whole
