"""Item 7: bounded work for hostile input.

A stream that trickles bytes forever ends at the idle limit; one that sends events
forever ends at the call's deadline; a body that never ends stops at the cap. Each is
a typed error carrying the partial text and the paid call's receipt, and each costs
exactly one signature. (Linear assembly is measured in benchmarks/bench_sdk.py.)
"""

from __future__ import annotations

import time

import pytest

from og_chat.sdk.client import LLM
from og_chat.sdk.errors import GatewayError, StreamInterrupted
from og_chat.sdk.types import Receipt
from tests.hostile.gateway import HostileGateway, Plan

MSG = [{"role": "user", "content": "hi"}]


async def _interrupted(llm: LLM) -> StreamInterrupted:
    stream = await llm.chat("openai/gpt-5", MSG, stream=True)
    with pytest.raises(StreamInterrupted) as info:
        async for _ in stream:  # type: ignore[union-attr]
            pass
    return info.value


async def test_a_stream_trickling_bytes_forever_ends_at_the_idle_limit(
    hostile: HostileGateway,
) -> None:
    hostile.reset(Plan(trickle=0.05))  # a byte every 50 ms: no read ever times out
    receipts: list[Receipt] = []
    started = time.monotonic()
    async with LLM.from_url(None, hostile.url, idle_timeout=0.6, on_receipt=receipts.append) as llm:
        error = await _interrupted(llm)
        assert llm.signatures_made == 1
    assert time.monotonic() - started < 10
    assert "no event for 0.6 s" in error.reason
    assert error.partial_text == "partial "
    assert error.receipt is not None and receipts == [error.receipt]
    assert error.receipt.output_text == "partial " and error.receipt.authorization_digest


async def test_a_stream_of_events_that_never_finishes_ends_at_the_calls_deadline(
    hostile: HostileGateway,
) -> None:
    async with LLM.from_url(None, hostile.url) as warm:  # the signing libraries load once
        await warm.chat("openai/gpt-5", MSG)
    hostile.plan.drip = 0.05  # always busy, never done
    started = time.monotonic()
    async with LLM.from_url(None, hostile.url, call_deadline=1.5, idle_timeout=30) as llm:
        error = await _interrupted(llm)
        assert llm.signatures_made == 1
    assert 1.4 < time.monotonic() - started < 10
    assert "deadline" in error.reason
    assert error.partial_text.startswith("more more")
    assert error.receipt is not None and error.receipt.output_text == error.partial_text


async def test_a_body_that_never_ends_stops_at_the_cap(hostile: HostileGateway) -> None:
    hostile.reset(Plan(endless_body=True))
    receipts: list[Receipt] = []
    cap = 1024 * 1024
    async with LLM.from_url(
        None, hostile.url, max_body_bytes=cap, on_receipt=receipts.append
    ) as llm:
        with pytest.raises(GatewayError, match=f"larger than {cap} bytes") as info:
            await llm.chat("openai/gpt-5", MSG)
        assert llm.signatures_made == 1
    assert info.value.receipt is not None and receipts == [info.value.receipt]
    assert "malformed answer" in (info.value.receipt.error or "")


async def test_a_body_sent_a_byte_at_a_time_stops_at_the_calls_deadline(
    hostile: HostileGateway,
) -> None:
    hostile.reset(Plan(slow_body=0.05))
    started = time.monotonic()
    async with LLM.from_url(None, hostile.url, call_deadline=0.8) as llm:
        with pytest.raises(GatewayError, match="within the call's deadline") as info:
            await llm.chat("openai/gpt-5", MSG)
        assert llm.signatures_made == 1
    assert time.monotonic() - started < 10
    assert info.value.receipt is not None and info.value.receipt.authorization_digest
