"""`og-chat models`: the catalogue, its capabilities, and devnet prices when known."""

from __future__ import annotations

import argparse
from typing import Any

from og_chat.app.costs import PriceTable
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.models import CATALOGUE, PROVIDERS, ModelInfo
from og_chat.sdk.opg import opg_display, opg_text
from og_chat.sdk.pricing import devnet_price_table, table_price
from og_chat.store.config import load_config

from .connect import devnet_url
from .output import EXIT_OK, out, out_json, warn


def cmd_models(args: argparse.Namespace) -> int:
    """The catalogue, filtered by provider, with devnet prices when a devnet is known."""
    infos = _by_provider(args.provider)
    prices = _model_prices(args)
    rows = [_row(info, prices) for info in infos]
    if args.json:
        out_json(rows)
        return EXIT_OK
    width = max((len(r["id"]) for r in rows), default=10)
    header = f"{'MODEL':<{width}}  {'NAME':<28}  {'CAPABILITIES':<22}"
    if prices:
        header += "  OPG / 1M tokens (prompt, completion)"
    out(header)
    for r, info in zip(rows, infos, strict=True):
        line = f"{r['id']:<{width}}  {r['display_name']:<28}  {info.badges:<22}"
        if "price_opg_per_million" in r:
            p = r["price_opg_per_million"]
            line += f"  {opg_display(p['prompt'])}, {opg_display(p['completion'])}"
        out(line.rstrip())
    return EXIT_OK


def _by_provider(provider: str | None) -> list[ModelInfo]:
    """The catalogue, or one provider's part of it (by prefix or display name)."""
    infos = list(CATALOGUE.values())
    if not provider:
        return infos
    wanted = provider.strip().lower()
    known = {p: p for p in PROVIDERS} | {name.lower(): p for p, name in PROVIDERS.items()}
    if wanted not in known:
        raise ConfigurationError(
            f"unknown provider {provider!r}", hint=f"one of: {', '.join(PROVIDERS)}"
        )
    return [i for i in infos if i.provider == known[wanted]]


def _row(info: ModelInfo, prices: PriceTable | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": info.id,
        "name": info.name,
        "enum_name": info.enum_name,
        "provider": info.provider,
        "display_name": info.display_name,
        "tools": info.tools,
        "image_output": info.image_output,
        "reasoning": info.reasoning,
    }
    price = table_price(prices, info.id)
    if price is not None:
        row["price_opg_per_million"] = {
            "prompt": opg_text(price[0]),
            "completion": opg_text(price[1]),
        }
    return row


def _model_prices(args: argparse.Namespace) -> PriceTable | None:
    """From a running devnet when one is named; the devnet's own table with --prices."""
    url = devnet_url(args, load_config())
    if url:
        import httpx

        try:
            doc = httpx.get(url + "/devnet", timeout=10).json()
            return dict(doc.get("prices") or {})
        except (httpx.HTTPError, ValueError):
            if not args.prices:
                warn(f"no devnet answers at {url}; prices left out")
                return None
    if args.prices:
        return _devnet_table()
    return None


def _devnet_table() -> PriceTable:
    """The table a devnet serves in `/devnet`, without running one."""
    return devnet_price_table()
