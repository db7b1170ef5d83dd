"""One OPG formatter for every face: fixed-point, enough significant digits (issue 13, item 4)."""

from __future__ import annotations

from decimal import Context, Decimal

import pytest
from hypothesis import given, strategies as st

from og_chat.sdk.opg import OPG_SIGNIFICANT, opg_display


def _opg(base_units: int) -> Decimal:
    """Base units → OPG, exactly (the default context keeps 28 digits)."""
    return Decimal(base_units).scaleb(-18, Context(prec=100))


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("0.000096", "0.000096"),  # was "9.6e-5 OPG" in answer footers
        (Decimal("0.000031"), "0.000031"),
        ("0.0000069", "0.0000069"),  # was "6.9e-6"
        ("0.000033612", "0.0000336"),
        ("0.00021", "0.00021"),
        ("0.123456", "0.123"),
        (1000, "1,000.00"),
        ("12.3456", "12.34"),  # cut, not rounded
        ("999.999869", "999.99"),  # a wallet after a paid call: never more than it holds
        ("0.0000999999", "0.0000999"),
        ("0", "0.00"),
        (None, "—"),
        ("not a number", "not a number"),
    ],
)
def test_amounts_read_as_people_write_them(amount: object, shown: str) -> None:
    assert opg_display(amount) == shown  # type: ignore[arg-type]


def test_base_units_and_opg_read_the_same() -> None:
    assert opg_display(96 * 10**12, base_units=True) == opg_display("0.000096") == "0.000096"
    assert opg_display(2 * 10**18, base_units=True) == "2.00"


@given(
    st.decimals(min_value=Decimal("-1e30"), max_value=Decimal("1e30"), places=18)
    | st.integers(min_value=-(10**48), max_value=10**48).map(_opg)
)
def test_never_scientific_and_close_to_the_amount(value: Decimal) -> None:
    text = opg_display(value)
    assert "e" not in text.lower()
    shown = Decimal(text.replace(",", ""))
    assert shown <= value  # cut down, never rounded up
    if abs(value) >= 1:
        assert value - shown < Decimal("0.01")
    elif value > 0:
        assert (value - shown) / value < Decimal(10) ** (1 - OPG_SIGNIFICANT)


@given(st.integers(min_value=0, max_value=10**48))
def test_base_units_read_as_the_same_amount_in_opg(units: int) -> None:
    assert opg_display(units, base_units=True) == opg_display(_opg(units))


def test_an_implausible_amount_is_shown_as_it_came_not_written_out() -> None:
    assert opg_display("1e100000000") == "1e100000000"  # a hostile gateway's price
