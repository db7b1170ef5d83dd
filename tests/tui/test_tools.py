"""Built-in tools: schemas, execution that never raises, and streamed-call assembly.

The chat screen joins streamed tool-call deltas with the SDK's one `StreamAssembler`
(`TurnResult.add_tool_calls`); the tests of the rule it applies live here.
"""

from __future__ import annotations

import json
from typing import Any

from og_chat.app.tools import (
    EXECUTORS,
    TOOL_SCHEMAS,
    ToolContext,
    ToolResult,
    execute,
    tool_message,
)
from og_chat.tui.screens.main import TurnResult


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
    result = ToolResult("current_time", "call_9", {}, '{"x": 1}', True)
    assert tool_message(result) == {"role": "tool", "content": '{"x": 1}', "tool_call_id": "call_9"}


def test_fragments_join_by_index_and_the_first_name_sticks() -> None:
    turn = TurnResult()
    turn.add_tool_calls(
        [
            {
                "index": 0,
                "id": "call_a",
                "function": {"name": "get_token_price", "arguments": '{"sy'},
            }
        ],
        final=False,
    )
    turn.add_tool_calls(
        [{"index": 0, "function": {"name": "get_token_price", "arguments": 'mbol": "OPG"}'}}],
        final=False,
    )
    turn.add_tool_calls(
        [{"index": 1, "function": {"name": "current_time", "arguments": "{}"}}], final=False
    )
    calls = turn.tool_calls
    assert calls[0]["id"] == "call_a"
    assert calls[0]["function"] == {"name": "get_token_price", "arguments": '{"symbol": "OPG"}'}
    assert calls[1]["id"] == "call_1" and calls[1]["function"]["name"] == "current_time"


def test_final_chunk_repeating_whole_calls_replaces_the_fragments() -> None:
    turn = TurnResult()
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_token_price", "arguments": '{"symbol": "OPG"}'},
    }
    turn.add_tool_calls([{"index": 0, **call}], final=False)
    turn.add_tool_calls([call], final=True)
    assert turn.tool_calls == [call]


def test_dict_arguments_become_json_and_missing_ones_an_empty_object() -> None:
    turn = TurnResult()
    turn.add_tool_calls(
        [
            {"index": 0, "function": {"name": "get_model_price", "arguments": {"model": "x"}}},
            {"index": 1, "function": {"name": "current_time"}},
        ],
        final=False,
    )
    arguments = [call["function"]["arguments"] for call in turn.tool_calls]
    assert [json.loads(a) for a in arguments] == [{"model": "x"}, {}]


def test_a_turn_without_tool_calls_has_none() -> None:
    assert TurnResult().tool_calls == []
