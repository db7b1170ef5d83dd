"""What a call costs, from a per-model price table (OPG base units per 1M tokens).

The devnet publishes its table in `/devnet`; its gateway charges with this
same formula, so a client can show a call's price before the session settles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .eth import parse_amount
from .models import CATALOGUE, ModelInfo


def call_cost(
    prompt_per_million: int, completion_per_million: int, prompt_tokens: int, completion_tokens: int
) -> int:
    """Base units for one call, rounded up so a non-empty call never costs 0."""
    total = prompt_tokens * prompt_per_million + completion_tokens * completion_per_million
    return math.ceil(total / 1_000_000)


def table_price(prices: Mapping[str, Any] | None, model: str) -> tuple[int, int] | None:
    """(prompt, completion) base units per 1M tokens for `model` in a `/devnet`-style table,
    read strictly (a server's numbers: `parse_amount`); None when it is not listed as such."""
    price = (prices or {}).get(model) if isinstance(prices, Mapping) else None
    if not isinstance(price, Mapping):
        return None
    try:
        return (
            parse_amount(price["prompt_per_million"]),
            parse_amount(price["completion_per_million"]),
        )
    except (KeyError, ValueError):
        return None


def table_cost(
    prices: Mapping[str, Any] | None, model: str, prompt_tokens: int, completion_tokens: int
) -> int | None:
    """`call_cost` for `model` (full id) from a `/devnet`-style table; None when it is not listed."""
    price = table_price(prices, model)
    if (
        price is None
        or not isinstance(prompt_tokens, int)
        or not isinstance(completion_tokens, int)
    ):
        return None
    return call_cost(price[0], price[1], prompt_tokens, completion_tokens)


# -- the devnet's price table -----------------------------------------------------------
# A rule, not a list: a provider's base price times a tier factor read from the model's
# name, so a model added to the catalogue gets a plausible price without an edit here.

_PROVIDER_BASE = {  # OPG per 1M tokens (prompt, completion) for a mid-tier model
    "openai": (0.125, 1.0),
    "anthropic": (0.3, 1.5),
    "google": (0.125, 1.0),
    "x-ai": (0.3, 1.5),
    "bytedance": (0.03, 0.12),
    "nous": (0.1, 0.3),
    "zai": (0.06, 0.22),
}
_OTHER_PROVIDER_BASE = (0.1, 0.5)
_TIERS = (  # first match wins; no match is the mid tier (factor 1)
    (("nano", "lite"), 0.1),
    (("mini", "flash", "haiku", "fast", "70b", "seed"), 0.3),
    (("opus", "405b", "o3", "-pro", "grok-4.20-r"), 3.0),
    (("image", "seedream", "seedance"), 4.0),
)


def devnet_price(model: ModelInfo) -> dict[str, int]:
    """The devnet's price of one model: `{"prompt_per_million", "completion_per_million"}`."""
    prompt, completion = _PROVIDER_BASE.get(model.provider, _OTHER_PROVIDER_BASE)
    factor = next((f for words, f in _TIERS if any(w in model.name for w in words)), 1.0)
    return {
        "prompt_per_million": int(prompt * factor * 10**18),
        "completion_per_million": int(completion * factor * 10**18),
    }


def devnet_price_table() -> dict[str, dict[str, int]]:
    """Full model id → `devnet_price`, for the whole catalogue: what `/devnet` serves as "prices"."""
    return {mid: devnet_price(info) for mid, info in CATALOGUE.items()}
