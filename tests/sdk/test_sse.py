"""The SSE parser and the x402 decoders: exact behaviour on known inputs, typed errors on any input."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings, strategies as st

from og_chat.sdk import x402
from og_chat.sdk.errors import MalformedPaymentHeader, OGError, StreamInterrupted
from og_chat.sdk.sse import DONE, SSEParser
from og_chat.sdk.stream import StreamAssembler, sse_chunks


def parse(*parts: bytes) -> list[object]:
    parser = SSEParser()
    out: list[object] = []
    for part in parts:
        out.extend(parser.feed(part))
    out.extend(parser.close())
    return out


def test_data_with_and_without_space_crlf_comments_and_done() -> None:
    events = parse(
        b'data: {"a":1}\n\n',
        b'data:{"b":2}\r\n\r\n: keep-alive\nevent: message\nid: 7\n',
        b'data: {"c"',
        b":3}\n\ndata: [DONE]\n\n",
    )
    assert events == [{"a": 1}, {"b": 2}, {"c": 3}, DONE]


def test_events_without_blank_separator_and_eof_without_newline() -> None:
    assert parse(b'data: {"a":1}\ndata: {"b":2}\ndata: {"c":3}') == [{"a": 1}, {"b": 2}, {"c": 3}]


def test_multiline_data_is_joined_and_garbage_skipped() -> None:
    parser = SSEParser()
    events = list(parser.feed(b'data: {"a":\ndata: 1}\n\ndata: nonsense\n\ndata: [1,2]\n\n'))
    events += list(parser.close())
    assert events == [{"a": 1}]
    assert parser.skipped == 2


def test_split_crlf_across_chunks() -> None:
    assert parse(b'data: {"a":1}\r', b"\n\r\n", b'data: {"b":2}\r\n\r\n') == [{"a": 1}, {"b": 2}]


def test_finish_chunk_then_usage_chunk_both_kept() -> None:
    state = StreamAssembler()
    a = state.add({"choices": [{"delta": {"content": "Hi"}, "index": 0, "finish_reason": None}]})
    b = state.add({"choices": [{"delta": {"content": "!"}, "index": 0, "finish_reason": "stop"}]})
    c = state.add(
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
    )
    assert a[0].choices[0].delta.content == "Hi" and not a[0].is_final
    assert b[0].choices[0].delta.content == "!" and b[0].is_final
    assert c[0].choices, "a usage-only event still has one (empty) choice"
    assert c[0].choices[0].delta.content is None
    assert state.text == "Hi!" and state.finish_reason == "stop"
    assert state.usage is not None and state.usage.total_tokens == 5


async def _body(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _sse(*events: object) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


async def test_sse_chunks_hold_the_final_chunk_back_until_it_is_the_last() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    raw = _sse(
        {"choices": [{"delta": {"content": "Hi"}, "index": 0}]},
        {"choices": [{"delta": {}, "index": 0, "finish_reason": "stop"}]},
        {"choices": [], "usage": usage},
    )
    acc = StreamAssembler()
    chunks = [c async for c in sse_chunks(_body(raw[:7], raw[7:], b"data: [DONE]\n\n"), acc)]
    assert [c.is_final for c in chunks] == [False, False, True]
    assert chunks[1].choices[0].finish_reason == "stop" and chunks[2].usage is not None
    assert acc.text == "Hi" and acc.done


async def test_sse_chunks_end_with_a_bare_final_chunk_or_an_interruption() -> None:
    acc = StreamAssembler()
    raw = _sse({"model": "m", "choices": [{"delta": {"content": "a"}, "index": 0}]})
    chunks = [c async for c in sse_chunks(_body(raw, b"data: [DONE]\n\n"), acc)]
    assert [c.is_final for c in chunks] == [False, True] and chunks[-1].model == "m"
    cut = StreamAssembler()
    with pytest.raises(StreamInterrupted) as info:
        [c async for c in sse_chunks(_body(raw), cut)]
    assert info.value.partial_text == "a"


def test_tool_call_fragments_are_assembled() -> None:
    state = StreamAssembler()
    state.add({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                                      "function": {"name": "get_token_price", "arguments": '{"sym'}}]}}]})  # fmt: skip
    state.add(
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'bol": "ETH"}'}}]}}
            ]
        }
    )
    state.add({"choices": [{"delta": {"tool_calls": [{"index": 1, "id": "call_2",
                                                      "function": {"name": "current_time", "arguments": "{}"}}]}}]})  # fmt: skip
    calls = state.tool_calls()
    assert calls == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_token_price", "arguments": '{"symbol": "ETH"}'},
        },
        {
            "id": "call_2",
            "type": "function",
            "function": {"name": "current_time", "arguments": "{}"},
        },
    ]
    assert json.loads(calls[0]["function"]["arguments"]) == {"symbol": "ETH"}


def test_error_event_is_a_typed_interruption_with_the_partial_text() -> None:
    state = StreamAssembler()
    state.add({"choices": [{"delta": {"content": "partial "}}]})
    with pytest.raises(StreamInterrupted) as info:
        state.add({"error": "Stream processing failed"})
    assert info.value.partial_text == "partial "
    assert "Stream processing failed" in str(info.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=12))
def test_parser_never_crashes_on_bytes(parts: list[bytes]) -> None:
    parser = SSEParser()
    for part in parts:
        for event in parser.feed(part):
            assert event is DONE or isinstance(event, dict)
    for event in parser.close():
        assert event is DONE or isinstance(event, dict)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, max_size=8))
def test_stream_state_accepts_any_json_event_or_raises_typed(events: list[object]) -> None:
    state = StreamAssembler()
    for event in events:
        if not isinstance(event, dict):
            continue
        try:
            chunks = state.add(event)
        except OGError:
            continue
        assert all(chunk.choices for chunk in chunks)
    state.tool_calls()


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300)
    | st.binary(max_size=300).map(lambda b: __import__("base64").b64encode(b).decode())
)
def test_header_decoders_raise_only_the_typed_error(value: str) -> None:
    for decode in (
        x402.decode_payment_required,
        x402.decode_payment_signature,
        x402.decode_payment_response,
    ):
        with contextlib.suppress(MalformedPaymentHeader):
            decode(value)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_header_decoders_on_any_json(value: object) -> None:
    encoded = x402.b64_json_encode(value)
    for decode in (
        x402.decode_payment_required,
        x402.decode_payment_signature,
        x402.decode_payment_response,
    ):
        with contextlib.suppress(MalformedPaymentHeader):
            decode(encoded)
    with contextlib.suppress(MalformedPaymentHeader):
        x402.decode_payment_required_body(json.dumps(value))
