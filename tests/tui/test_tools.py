"""Built-in tools: schemas, execution that never raises, and streamed-call assembly."""

from __future__ import annotations

import json
from typing import Any

from og_chat.app.tools import (
    EXECUTORS,
    TOOL_SCHEMAS,
    ToolCallAssembler,
    ToolContext,
    execute,
    tool_message,
)


def test_every_schema_has_an_executor() -> None:
    names = {tool["function"]["name"] for tool in TOOL_SCHEMAS}
    assert names == set(EXECUTORS)
    assert {"get_token_price", "current_time"} <= names


async def test_current_time_returns_iso_and_unix() -> None:
    result = await execute("current_time", '{"timezone": "UTC"}', call_id="c1")
    value = json.loads(result.content)
    assert result.ok and value["timezone"] == "UTC" and value["unix"] > 0


async def test_unknown_tool_and_bad_arguments_become_errors_for_the_model() -> None:
    unknown = await execute("rm_rf", "{}", call_id="c2")
    assert not unknown.ok and "unknown tool" in unknown.content
    bad = await execute("current_time", "{not json", call_id="c3")
    assert not bad.ok and "not valid JSON" in bad.content


async def test_prices_need_a_devnet() -> None:
    result = await execute(
        "get_token_price", {"symbol": "OPG"}, context=ToolContext(network="mainnet")
    )
    assert not result.ok and "mainnet" in result.content


async def test_model_price_comes_from_the_devnet(devnet: Any) -> None:
    result = await execute(
        "get_model_price", {"model": "claude-haiku"}, context=ToolContext(devnet_url=devnet.url)
    )
    assert result.ok, result.content
    assert "anthropic/claude-haiku-4-5" in result.content


def test_tool_message_carries_the_call_id() -> None:
    from og_chat.app.tools import ToolResult

    result = ToolResult("current_time", "call_9", {}, '{"x": 1}', True)
    assert tool_message(result) == {"role": "tool", "content": '{"x": 1}', "tool_call_id": "call_9"}


def test_assembler_joins_argument_fragments_by_index() -> None:
    assembler = ToolCallAssembler()
    assembler.feed(
        [{"index": 0, "id": "call_a", "function": {"name": "get_", "arguments": '{"sy'}}]
    )
    assembler.feed(
        [{"index": 0, "function": {"name": "token_price", "arguments": 'mbol": "OPG"}'}}]
    )
    assembler.feed([{"index": 1, "function": {"name": "current_time", "arguments": "{}"}}])
    calls = assembler.calls
    assert calls[0]["id"] == "call_a"
    assert calls[0]["function"] == {"name": "get_token_price", "arguments": '{"symbol": "OPG"}'}
    assert calls[1]["id"] == "call_1" and calls[1]["function"]["name"] == "current_time"


def test_final_chunk_repeating_whole_calls_replaces_the_fragments() -> None:
    assembler = ToolCallAssembler()
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_token_price", "arguments": '{"symbol": "OPG"}'},
    }
    assembler.feed([{"index": 0, **call}])
    assembler.feed([call], final=True)
    assert assembler.calls == [call]
