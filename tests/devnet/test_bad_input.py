"""Malformed requests get a clear 4xx JSON error, cost nothing and never crash the gateway."""

from __future__ import annotations

import httpx
import pytest

from og_chat.devnet import Devnet
from tests.devnet.paying_client import CHAT, Payer, chat_body

MSG = '"messages": [{"role": "user", "content": "x"}]'
BAD_BODIES = [
    (b"{not json", "not valid JSON"),
    (b"[1, 2, 3]", "JSON object"),
    (b'{"messages": []}', "model"),
    (b'{"model": 5, %s}' % MSG.encode(), "model"),
    (b'{"model": "gpt-4.1-mini", "messages": "hi"}', "messages"),
    (b'{"model": "gpt-4.1-mini", "messages": [{"role": "wizard", "content": "x"}]}', "role"),
    (b'{"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": 7}]}', "content"),
    (b'{"model": "gpt-4.1-mini", %s, "max_tokens": "5"}' % MSG.encode(), "max_tokens"),
    (b'{"model": "gpt-4.1-mini", %s, "temperature": "hot"}' % MSG.encode(), "temperature"),
    (b'{"model": "gpt-4.1-mini", %s, "stream": "yes"}' % MSG.encode(), "stream"),
    (b'{"model": "gpt-4.1-mini", %s, "tools": {"a": 1}}' % MSG.encode(), "tools"),
    (b'{"model": "gpt-4.1-mini", %s, "stop": 3}' % MSG.encode(), "stop"),
]


@pytest.mark.parametrize(("content", "needle"), BAD_BODIES)
async def test_malformed_bodies_are_400(
    devnet: Devnet, client: httpx.AsyncClient, content: bytes, needle: str
) -> None:
    resp = await client.post(
        devnet.url + CHAT, content=content, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400, resp.text
    assert needle in resp.json()["error"]


async def test_unknown_model_says_how_to_find_models(
    devnet: Devnet, client: httpx.AsyncClient
) -> None:
    resp = await client.post(devnet.url + CHAT, json=chat_body(model="gpt-99"))
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert "gpt-99" in error and "/v1/models" in error and "og-chat models" in error
    listing = (await client.get(devnet.url + "/v1/models")).json()
    assert len(listing["data"]) == 48


async def test_provider_prefixed_model_is_accepted(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    resp = await payer.post(client, chat_body(model="anthropic/claude-haiku-4-5"))
    assert resp.status_code == 200 and resp.json()["model"] == "anthropic/claude-haiku-4-5"


async def test_oversized_body_is_413(devnet: Devnet, client: httpx.AsyncClient) -> None:
    resp = await client.post(devnet.url + CHAT, json=chat_body("x" * (1024 * 1024 + 10)))
    assert resp.status_code == 413
    assert "larger than" in resp.json()["error"]


async def test_bad_input_with_a_payment_costs_nothing(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    ok = await payer.post(client, chat_body())
    sid = ok.headers["x-upto-session"]
    before = devnet.gateway.sessions[sid].accumulated
    for body in (chat_body(model="nope"), {"model": "gpt-4.1-mini"}):
        resp = await client.post(devnet.url + CHAT, json=body, headers={"X-Upto-Session": sid})
        assert resp.status_code == 400
    assert devnet.gateway.sessions[sid].accumulated == before


async def test_unknown_routes_and_methods_are_json(
    devnet: Devnet, client: httpx.AsyncClient
) -> None:
    missing = await client.get(devnet.url + "/nope")
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = await client.get(devnet.url + CHAT)
    assert wrong.status_code == 405 and "error" in wrong.json()


async def test_gateway_survives_a_burst_of_garbage(
    devnet: Devnet, client: httpx.AsyncClient
) -> None:
    for junk in (b"", b"\xff\xfe", b"null", b'{"model": null}', b"1e999999"):
        resp = await client.post(devnet.url + CHAT, content=junk)
        assert 400 <= resp.status_code < 500
    assert (await client.get(devnet.url + "/health")).json()["status"] == "ok"
