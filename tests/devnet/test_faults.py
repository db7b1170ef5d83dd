"""Every fault switch does what it says, in-process and over HTTP, and charges nothing."""

from __future__ import annotations

import time

import httpx
import pytest

from og_chat.devnet import Devnet
from tests.devnet.paying_client import CHAT, Payer, chat_body, sse_events, wait_settled


async def test_drop_after_tokens_cuts_the_stream(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    await payer.post(client, chat_body("open"))
    sid = payer.sessions[CHAT]
    before = devnet.gateway.sessions[sid].accumulated
    devnet.faults.drop_after_tokens = 5
    received = b""
    with pytest.raises(httpx.RemoteProtocolError):
        async with client.stream(
            "POST",
            devnet.url + CHAT,
            json=chat_body("drop me", stream=True),
            headers={"X-Upto-Session": sid},
        ) as resp:
            assert resp.status_code == 200
            async for chunk in resp.aiter_bytes():
                received += chunk
    text = received.decode()
    assert text.count("data: ") == 5 and "[DONE]" not in text and "tee_signature" not in text
    assert devnet.gateway.sessions[sid].accumulated == before


async def test_status_5xx(devnet: Devnet, client: httpx.AsyncClient, payer: Payer) -> None:
    await payer.post(client, chat_body("open"))
    sid = payer.sessions[CHAT]
    before = devnet.gateway.sessions[sid].accumulated
    devnet.faults.status_5xx = 503
    resp = await client.post(devnet.url + CHAT, json=chat_body(), headers={"X-Upto-Session": sid})
    assert resp.status_code == 503 and "unavailable" in resp.json()["error"]
    assert devnet.gateway.sessions[sid].accumulated == before


async def test_first_byte_delay(devnet: Devnet, client: httpx.AsyncClient, payer: Payer) -> None:
    await payer.post(client, chat_body("open"))
    devnet.faults.first_byte_delay = 0.4
    start = time.perf_counter()
    resp = await payer.post(client, chat_body("slow"))
    assert resp.status_code == 200
    assert time.perf_counter() - start >= 0.4


async def test_malformed_sse(devnet: Devnet, client: httpx.AsyncClient, payer: Payer) -> None:
    await payer.post(client, chat_body("open"))
    devnet.faults.malformed_sse = True
    resp = await payer.post(client, chat_body("garble", stream=True))
    assert resp.status_code == 200
    lines = [line for line in resp.text.split("\n") if line]
    assert any(not line.startswith("data: ") for line in lines)
    assert lines[-1] == 'data: {"error": "Stream processing failed"}'
    assert "[DONE]" not in resp.text
    good = [
        e
        for e in sse_events(
            "\n\n".join(x for x in resp.text.split("\n\n") if x.startswith('data: {"choices"'))
        )
    ]
    assert len(good) >= 3


async def test_refused_settlement_is_recorded_as_failed(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    before = await devnet.chain.operator.opg_balance(payer.address)
    resp = await payer.post(client, chat_body("never paid"))
    devnet.faults.refuse_settlement = True
    record = await wait_settled(client, devnet, resp.headers["x-upto-session"])
    assert record["status"] == "failed" and record["error"]
    assert record["tx_hash"] is None
    assert await devnet.chain.operator.opg_balance(payer.address) == before


async def test_faults_over_http(devnet: Devnet, client: httpx.AsyncClient) -> None:
    resp = await client.post(
        devnet.url + "/devnet/faults", json={"status_5xx": 502, "first_byte_delay": 0.1}
    )
    assert resp.status_code == 200 and resp.json()["status_5xx"] == 502
    assert devnet.faults.status_5xx == 502 and devnet.faults.first_byte_delay == 0.1
    assert (await client.get(devnet.url + "/devnet/faults")).json()["status_5xx"] == 502
    bad = await client.post(devnet.url + "/devnet/faults", json={"explode": True})
    assert bad.status_code == 400 and "unknown fault" in bad.json()["error"]
    bad_type = await client.post(devnet.url + "/devnet/faults", json={"status_5xx": 404})
    assert bad_type.status_code == 400
    await client.post(
        devnet.url + "/devnet/faults", json={"status_5xx": None, "first_byte_delay": 0}
    )
    assert devnet.faults.status_5xx is None


async def test_drop_without_stream_closes_the_connection(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    await payer.post(client, chat_body("open"))
    devnet.faults.drop_after_tokens = 3
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(
            devnet.url + CHAT, json=chat_body(), headers={"X-Upto-Session": payer.sessions[CHAT]}
        )
    devnet.faults.drop_after_tokens = None
    assert (await payer.post(client, chat_body("after the drop"))).status_code == 200
