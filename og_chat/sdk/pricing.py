"""What a call costs, from a per-model price table (OPG base units per 1M tokens).

The devnet publishes its table in `/devnet`; its gateway charges with this
same formula, so a client can show a call's price before the session settles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def call_cost(
    prompt_per_million: int, completion_per_million: int, prompt_tokens: int, completion_tokens: int
) -> int:
    """Base units for one call, rounded up so a non-empty call never costs 0."""
    total = prompt_tokens * prompt_per_million + completion_tokens * completion_per_million
    return math.ceil(total / 1_000_000)


def table_cost(
    prices: Mapping[str, Any] | None, model: str, prompt_tokens: int, completion_tokens: int
) -> int | None:
    """`call_cost` for `model` (full id) from a `/devnet`-style table; None when it is not listed."""
    price = (prices or {}).get(model)
    if not isinstance(price, Mapping):
        return None
    try:
        return call_cost(
            int(price["prompt_per_million"]),
            int(price["completion_per_million"]),
            prompt_tokens,
            completion_tokens,
        )
    except (KeyError, TypeError, ValueError):
        return None
