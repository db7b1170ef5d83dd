"""Built-in tools the model may call, shared by the TUI and the CLI.

Each tool is an OpenAI function schema plus an async executor. Executors never
raise: a failure becomes a JSON `{"error": ...}` result, so the model can tell
the user what went wrong and the conversation goes on.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from og_chat.sdk.pricing import table_price


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What executors may need from the running client."""

    devnet_url: str | None = None
    """Base URL of the devnet whose `/devnet` document carries token prices."""
    network: str = "devnet"
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class ToolResult:
    """One executed call: what the model asked for and what it gets back."""

    name: str
    call_id: str
    arguments: dict[str, Any]
    content: str
    """JSON text sent back to the model as the `tool` message."""
    ok: bool


Executor = Callable[[dict[str, Any], ToolContext], Awaitable[Any]]


async def _current_time(args: dict[str, Any], ctx: ToolContext) -> Any:
    tz_name = str(args.get("timezone") or "UTC")
    if tz_name.upper() == "UTC":
        tz: Any = UTC
    else:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            return {"error": f"unknown timezone {tz_name!r}; use an IANA name like Europe/Paris"}
    now = datetime.now(tz)
    return {
        "timezone": tz_name,
        "iso": now.isoformat(timespec="seconds"),
        "unix": int(now.timestamp()),
    }


async def _devnet_document(ctx: ToolContext) -> dict[str, Any]:
    import httpx

    assert ctx.devnet_url
    async with httpx.AsyncClient(timeout=ctx.timeout) as client:
        response = await client.get(ctx.devnet_url.rstrip("/") + "/devnet")
        response.raise_for_status()
        document = response.json()
    return document if isinstance(document, dict) else {}


async def _get_token_price(args: dict[str, Any], ctx: ToolContext) -> Any:
    symbol = str(args.get("symbol") or "OPG").upper()
    if not ctx.devnet_url:
        return {"error": f"no price feed on {ctx.network}; token prices are served by the devnet"}
    prices = (await _devnet_document(ctx)).get("token_prices") or {}
    if not isinstance(prices, dict) or not prices:
        return {"error": "this devnet publishes no token prices"}
    for key, value in prices.items():
        if key.upper() == symbol:
            price = value if isinstance(value, dict) else {"usd": value}
            return {"symbol": symbol, **price, "source": "devnet"}
    return {"error": f"no price for {symbol}", "known": sorted(prices)}


async def _get_model_price(args: dict[str, Any], ctx: ToolContext) -> Any:
    wanted = str(args.get("model") or "").strip().lower()
    if not ctx.devnet_url:
        return {"error": f"no price list on {ctx.network}; model prices are served by the devnet"}
    prices = (await _devnet_document(ctx)).get("prices") or {}
    if not isinstance(prices, dict):
        prices = {}
    matches = {mid: p for mid, p in prices.items() if wanted and wanted in str(mid).lower()}
    if not matches:
        return {"error": f"no model matching {wanted!r}", "examples": sorted(prices)[:5]}
    out = []
    for mid in sorted(matches)[:5]:
        price = table_price(prices, mid)
        if price is None:
            continue  # the devnet listed something that is not a price
        prompt, completion = price
        out.append(
            {
                "model": mid,
                "opg_per_million_prompt_tokens": str(Decimal(prompt).scaleb(-18).normalize()),
                "opg_per_million_completion_tokens": str(
                    Decimal(completion).scaleb(-18).normalize()
                ),
            }
        )
    return {"prices": out, "source": "devnet"}


TOOL_SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_token_price",
            "description": "Current price of a token (OPG, ETH, ...) in US dollars.",
            "parameters": {
                "type": "object",
                "properties": {
                    "symbol": {"type": "string", "description": "Token symbol, e.g. OPG"}
                },
                "required": ["symbol"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_model_price",
            "description": "What a model costs on the gateway, in OPG per million tokens.",
            "parameters": {
                "type": "object",
                "properties": {
                    "model": {"type": "string", "description": "Model id or part of it"}
                },
                "required": ["model"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "current_time",
            "description": "The current date and time, optionally in a given IANA timezone.",
            "parameters": {
                "type": "object",
                "properties": {
                    "timezone": {"type": "string", "description": "IANA name, default UTC"}
                },
            },
        },
    },
]
"""OpenAI `tools` entries for every built-in tool."""

EXECUTORS: dict[str, Executor] = {
    "get_token_price": _get_token_price,
    "get_model_price": _get_model_price,
    "current_time": _current_time,
}


def parse_arguments(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Tool-call arguments as a dict; malformed JSON becomes `{}` (the executor reports it)."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_unparsed": raw}
    return value if isinstance(value, dict) else {"_value": value}


async def execute(
    name: str,
    arguments: str | dict[str, Any] | None,
    *,
    call_id: str = "",
    context: ToolContext | None = None,
) -> ToolResult:
    """Run one tool call; never raises."""
    ctx = context or ToolContext()
    args = parse_arguments(arguments)
    executor = EXECUTORS.get(name)
    if executor is None:
        value: Any = {"error": f"unknown tool {name!r}", "available": sorted(EXECUTORS)}
    elif "_unparsed" in args:
        value = {"error": "the arguments were not valid JSON", "received": args["_unparsed"]}
    else:
        try:
            value = await executor(args, ctx)
        except Exception as error:  # a tool failure goes back to the model, not up the stack
            value = {"error": f"{type(error).__name__}: {error}"}
    ok = not (isinstance(value, dict) and "error" in value)
    content = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return ToolResult(name=name, call_id=call_id, arguments=args, content=content, ok=ok)


def tool_message(result: ToolResult) -> dict[str, Any]:
    """The `{"role": "tool", ...}` message that carries a result back to the model."""
    return {"role": "tool", "content": result.content, "tool_call_id": result.call_id}
