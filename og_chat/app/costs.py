"""What a call cost, by one rule for every face: charged, else quoted, else the price table.

A receipt learns its cost in steps: the devnet publishes a price table, so a call
has a price (`price_opg`) before it settles; the settlement then says what was
charged (`charged_opg`). The CLI's receipt line and `--json`, the runtime filling
in a price, and the settlement tracker sharing out a session's transfer all ask here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from og_chat.sdk.opg import opg_text
from og_chat.sdk.pricing import table_cost
from og_chat.sdk.types import Receipt

PriceTable = Mapping[str, Any]
"""A `/devnet`-style price table: model id → `{prompt_per_million, completion_per_million}`
(JSON from a devnet, so unchecked here; `sdk.pricing.table_cost` skips malformed entries)."""


def table_price(receipt: Receipt, prices: PriceTable | None) -> str | None:
    """The call's price in OPG from `prices` and its token counts; None if the model is not listed."""
    cost = table_cost(prices, receipt.model, receipt.prompt_tokens, receipt.completion_tokens)
    return opg_text(cost) if cost is not None else None


def receipt_cost(receipt: Receipt, prices: PriceTable | None = None) -> str | None:
    """OPG for this call: charged when known, else the gateway's price, else `prices`."""
    return receipt.cost_opg or table_price(receipt, prices)
