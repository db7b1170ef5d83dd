"""Routing among registry TEEs: failover when one is unreachable, refresh when one leaves."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import replace
from typing import Any

import og_chat.sdk as og
from og_chat.sdk import tee


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _client_with_a_dead_tee(devnet: Any) -> tuple[og.LLM, tee.TEEInfo, tee.TEEInfo]:
    llm = og.LLM(network="devnet", devnet_url=devnet.url)
    await llm.aensure_opg_approval(1)
    profile = llm.profile
    assert profile.registry_rpc and profile.registry_address
    (live,) = await asyncio.to_thread(
        tee.fetch_active_tees, profile.registry_rpc, profile.registry_address
    )
    dead = replace(live, tee_id="0x" + "00" * 32, endpoint=f"http://127.0.0.1:{_closed_port()}")
    return llm, live, dead


async def test_an_unreachable_tee_fails_over_to_a_listed_one(sdk_devnet: Any) -> None:
    llm, live, dead = await _client_with_a_dead_tee(sdk_devnet)
    llm.router.remember_registry([dead])  # as if the registry listed it
    async with llm:
        out = await llm.chat("openai/gpt-5", [{"role": "user", "content": "hi"}])
    assert out.tee_endpoint == live.endpoint
    assert out.signature_status is og.SignatureStatus.VERIFIED
    assert llm.signatures_made == 1  # the dead TEE was never paid


async def test_a_pinned_tee_the_registry_no_longer_lists_is_replaced(sdk_devnet: Any) -> None:
    llm, live, dead = await _client_with_a_dead_tee(sdk_devnet)
    async with llm:
        await llm.chat("openai/gpt-5", [{"role": "user", "content": "hi"}])
        router = llm.router
        route = router.route
        assert route is not None and route.tee is not None
        # Pinned to a TEE the registry no longer lists (still reachable), read long ago:
        # the periodic refresh, or the tee_id check on the answer, must move us off it.
        route.tee = replace(live, tee_id=dead.tee_id)
        router.remember_registry(router.tees, read_at=time.monotonic() - 10_000)
        out = await llm.chat("openai/gpt-5", [{"role": "user", "content": "hi again"}])
        assert router.route is not None and router.route.tee is not None
        assert router.route.tee.tee_id == live.tee_id
    assert out.tee_endpoint == live.endpoint
