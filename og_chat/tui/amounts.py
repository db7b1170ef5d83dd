"""What the TUI's screens add up in OPG: base units to OPG, what calls cost, totals.

Every amount is shown by `og_chat.sdk.opg.opg_display`, the one formatter the CLI uses
too, so the same amount reads the same on every screen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from og_chat.sdk.types import Receipt

OPG_DECIMALS = 18


def opg(base_units: int | None) -> Decimal | None:
    """Base units (18 decimals) → OPG."""
    if base_units is None:
        return None
    return Decimal(base_units).scaleb(-OPG_DECIMALS)


def cost_of(receipt: Receipt) -> str | None:
    """What the call cost in OPG (`Receipt.cost_opg`, shared with the CLI)."""
    return receipt.cost_opg


def total_cost(receipts: Iterable[Receipt]) -> Decimal:
    """Sum of what the given calls cost, ignoring unknown amounts.

    Receipts repeat a handful of price strings, so each distinct string is
    converted once and multiplied by its count: 100,000 receipts add up in
    about 10 ms, cheap enough for the event loop.
    """
    total = Decimal(0)
    for amount, count in Counter(map(cost_of, receipts)).items():
        if not amount:
            continue
        try:
            total += Decimal(amount) * count
        except InvalidOperation:
            continue
    return total
