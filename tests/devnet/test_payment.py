"""The x402 upto flow against the devnet: challenge, pay, session, settle on-chain."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
from eth_hash.auto import keccak

from og_chat.devnet import Devnet
from og_chat.sdk.signing import sign_payment
from og_chat.sdk.x402 import decode_payment_required, encode_payment_signature
from tests.devnet.paying_client import (
    CHAT,
    ONE_OPG,
    Payer,
    chat_body,
    make_payer,
    rpc,
    wait_settled,
)


async def test_unpaid_call_gets_the_live_402_layout(
    devnet: Devnet, client: httpx.AsyncClient
) -> None:
    resp = await client.post(devnet.url + CHAT, json=chat_body())
    assert resp.status_code == 402
    assert resp.headers["cache-control"] == "no-store"
    raw = json.loads(base64.b64decode(resp.headers["payment-required"]))
    assert list(raw) == ["x402Version", "error", "resource", "accepts", "extensions"]
    assert raw["x402Version"] == 2
    assert raw["resource"] == {
        "url": devnet.url + CHAT,
        "description": "Chat completion",
        "mimeType": "application/json",
    }
    (req,) = raw["accepts"]
    assert req == {
        "scheme": "upto",
        "network": f"eip155:{devnet.chain_id}",
        "amount": "100000000000000000",
        "asset": devnet.chain.addresses.opg,
        "payTo": devnet.gateway.pay_to,
        "maxTimeoutSeconds": 300,
        "extra": {
            "name": "OpenGradient",
            "version": "1",
            "assetTransferMethod": "permit2",
            "facilitatorAddress": devnet.facilitator.address,
        },
    }
    assert "erc20ApprovalGasSponsoring" in raw["extensions"]
    assert decode_payment_required(resp.headers["payment-required"]).accepts[0].amount_int == 10**17


async def test_one_signature_pays_for_many_calls_on_a_session(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    sessions = set()
    for i in range(5):
        resp = await payer.post(client, chat_body(f"call number {i}"))
        assert resp.status_code == 200, resp.text
        sessions.add(resp.headers["x-upto-session"])
    assert payer.signatures == 1
    assert len(sessions) == 1


async def test_idle_settlement_moves_exactly_the_charged_total(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    pay_to = devnet.gateway.pay_to
    before_payer = await devnet.chain.operator.opg_balance(payer.address)
    before_tee = await devnet.chain.operator.opg_balance(pay_to)
    usages = []
    for i in range(3):
        resp = await payer.post(client, chat_body(f"settle me {i}"))
        assert resp.status_code == 200
        usages.append(resp.json()["usage"])
    sid = payer.sessions[CHAT]
    open_doc = (await client.get(f"{devnet.url}/v1/payments/{sid}")).json()
    assert open_doc["status"] == "open"
    price = devnet.gateway.devnet_document()["prices"]["openai/gpt-4.1-mini"]
    expected = sum(
        -(
            -(
                u["prompt_tokens"] * price["prompt_per_million"]
                + u["completion_tokens"] * price["completion_per_million"]
            )
            // 10**6
        )
        for u in usages
    )
    record = await wait_settled(client, devnet, sid)
    assert record["status"] == "settled", record
    assert int(record["amount"]) == expected > 0
    assert record["tx_hash"].startswith("0x")
    assert record["calls"] == 3
    assert await devnet.chain.operator.opg_balance(payer.address) == before_payer - expected
    assert (
        await devnet.chain.operator.opg_balance(pay_to) >= before_tee + expected
    )  # others settle too
    receipt = await rpc(client, devnet.url, "eth_getTransactionReceipt", [record["tx_hash"]])
    transfer = "0x" + keccak(b"Transfer(address,address,uint256)").hex()
    opg = devnet.chain.addresses.opg
    (moved,) = [
        log for log in receipt["logs"]
        if log["topics"][0] == transfer and log["address"].lower() == opg.lower()
    ]  # fmt: skip
    assert int(moved["topics"][1], 16) == int(payer.address, 16)
    assert int(moved["topics"][2], 16) == int(pay_to, 16)
    assert int(moved["data"], 16) == expected
    nonce = int(record["nonce"])
    assert await devnet.chain.operator.permit2_nonce_used(payer.address, nonce)
    found = devnet.chain.index.find_settlement(payer=payer.address, nonce=nonce)
    assert found is not None and found.tx_hash == record["tx_hash"] and found.status == 1
    by_auth = (
        await client.get(
            f"{devnet.url}/v1/payments", params={"payer": payer.address, "nonce": str(nonce)}
        )
    ).json()
    assert by_auth["tx_hash"] == record["tx_hash"]
    by_digest = (
        await client.get(f"{devnet.url}/v1/payments", params={"digest": payer.last_payment.digest})
    ).json()
    assert by_digest["session_id"] == sid


async def test_settled_session_answers_expired_without_requirements(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    resp = await payer.post(client, chat_body())
    sid = resp.headers["x-upto-session"]
    await wait_settled(client, devnet, sid)
    stale = await client.post(devnet.url + CHAT, json=chat_body(), headers={"X-Upto-Session": sid})
    assert stale.status_code == 402
    assert stale.json() == {"error": "Session expired or exhausted"}
    assert "payment-required" not in stale.headers
    again = await payer.post(client, chat_body())  # the client re-challenges and pays anew
    assert again.status_code == 200
    assert again.headers["x-upto-session"] != sid
    assert payer.signatures == 2


async def test_session_is_bound_to_its_route(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    resp = await payer.post(client, chat_body())
    sid = resp.headers["x-upto-session"]
    other = await client.post(
        devnet.url + "/v1/completions",
        json={"model": "gpt-4.1-mini", "prompt": "hi", "max_tokens": 10},
        headers={"X-Upto-Session": sid},
    )
    assert other.status_code == 402 and other.json()["error"] == "Session expired or exhausted"


async def test_unknown_session_id_is_expired(devnet: Devnet, client: httpx.AsyncClient) -> None:
    resp = await client.post(
        devnet.url + CHAT, json=chat_body(), headers={"X-Upto-Session": "nope"}
    )
    assert resp.status_code == 402 and "payment-required" not in resp.headers


async def test_exhausted_session_settles_at_the_cap(
    devnet: Devnet, client: httpx.AsyncClient
) -> None:
    payer = await make_payer(devnet)
    # claude-opus is the dearest: a long answer costs more than a tiny cap allows
    old_cap = devnet.gateway.requirement.amount
    cap = 2 * 10**14
    devnet.gateway.requirement = devnet.gateway.requirement.model_copy(update={"amount": str(cap)})
    try:
        body = chat_body(
            "write a long essay about ledgers", model="claude-opus-4-5", max_tokens=None
        )
        first = await payer.post(client, body)
        assert first.status_code == 200
        sid = first.headers["x-upto-session"]
        record = await wait_settled(client, devnet, sid, timeout=5)
        assert record["status"] == "settled" and int(record["amount"]) == cap
    finally:
        devnet.gateway.requirement = devnet.gateway.requirement.model_copy(
            update={"amount": old_cap}
        )


async def test_replayed_payment_opens_no_second_session(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    challenge = await client.post(devnet.url + CHAT, json=chat_body())
    required = decode_payment_required(challenge.headers["payment-required"])
    header = encode_payment_signature(
        sign_payment(payer.private_key, required, required.accepts[0]).payload
    )
    first = await client.post(
        devnet.url + CHAT, json=chat_body(), headers={"PAYMENT-SIGNATURE": header}
    )
    assert first.status_code == 200
    replay = await client.post(
        devnet.url + CHAT, json=chat_body(), headers={"PAYMENT-SIGNATURE": header}
    )
    assert replay.status_code == 402
    reason = decode_payment_required(replay.headers["payment-required"]).error
    assert reason and "already used" in reason
    sessions = [s for s in devnet.gateway.sessions.values() if s.payer == payer.address]
    assert len(sessions) == 1
    await wait_settled(client, devnet, first.headers["x-upto-session"])
    after = await client.post(
        devnet.url + CHAT, json=chat_body(), headers={"PAYMENT-SIGNATURE": header}
    )
    assert after.status_code == 402  # still refused once the session is closed


async def test_same_nonce_in_a_new_header_is_refused(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    challenge = await client.post(devnet.url + CHAT, json=chat_body())
    required = decode_payment_required(challenge.headers["payment-required"])
    nonce = int.from_bytes(b"\x07" * 32, "big")
    a = sign_payment(payer.private_key, required, required.accepts[0], nonce=nonce)
    b = sign_payment(
        payer.private_key, required, required.accepts[0], nonce=nonce, now=int(time.time()) - 5
    )
    ok = await client.post(
        devnet.url + CHAT,
        json=chat_body(),
        headers={"PAYMENT-SIGNATURE": encode_payment_signature(a.payload)},
    )
    assert ok.status_code == 200
    dup = await client.post(
        devnet.url + CHAT,
        json=chat_body(),
        headers={"PAYMENT-SIGNATURE": encode_payment_signature(b.payload)},
    )
    assert dup.status_code == 402


async def test_payment_for_another_chain_is_refused(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    challenge = await client.post(devnet.url + CHAT, json=chat_body())
    required = decode_payment_required(challenge.headers["payment-required"])
    wrong = required.accepts[0].model_copy(update={"network": "eip155:8453"})
    header = encode_payment_signature(sign_payment(payer.private_key, required, wrong).payload)
    resp = await client.post(
        devnet.url + CHAT, json=chat_body(), headers={"PAYMENT-SIGNATURE": header}
    )
    assert resp.status_code == 402
    assert decode_payment_required(resp.headers["payment-required"]).error == "network_mismatch"
    assert not [s for s in devnet.gateway.sessions.values() if s.payer == payer.address]


async def test_expired_authorization_is_refused_and_nothing_moves(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    before = await devnet.chain.operator.opg_balance(payer.address)
    challenge = await client.post(devnet.url + CHAT, json=chat_body())
    required = decode_payment_required(challenge.headers["payment-required"])
    old = sign_payment(
        payer.private_key, required, required.accepts[0], now=int(time.time()) - 3600
    )
    resp = await client.post(
        devnet.url + CHAT,
        json=chat_body(),
        headers={"PAYMENT-SIGNATURE": encode_payment_signature(old.payload)},
    )
    assert resp.status_code == 402
    reason = decode_payment_required(resp.headers["payment-required"]).error or ""
    assert "deadline" in reason or "expired" in reason, reason
    assert await devnet.chain.operator.opg_balance(payer.address) == before
    assert not await devnet.chain.operator.permit2_nonce_used(payer.address, int(old.nonce))


async def test_signature_from_the_wrong_key_is_refused(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    challenge = await client.post(devnet.url + CHAT, json=chat_body())
    required = decode_payment_required(challenge.headers["payment-required"])
    signed = sign_payment(payer.private_key, required, required.accepts[0])
    forged = signed.payload.model_copy(deep=True)
    forged.payload["permit2Authorization"]["from"] = devnet.accounts[3].address
    resp = await client.post(
        devnet.url + CHAT,
        json=chat_body(),
        headers={"PAYMENT-SIGNATURE": encode_payment_signature(forged)},
    )
    assert resp.status_code == 402
    assert "signature" in (decode_payment_required(resp.headers["payment-required"]).error or "")


async def test_without_permit2_allowance_payment_is_refused(
    devnet: Devnet, client: httpx.AsyncClient
) -> None:
    payer = await make_payer(devnet, approve=False)
    resp = await payer.post(client, chat_body())
    assert resp.status_code == 402
    reason = decode_payment_required(resp.headers["payment-required"]).error or ""
    assert "allowance" in reason, reason


async def test_garbage_payment_header_is_a_400(devnet: Devnet, client: httpx.AsyncClient) -> None:
    for junk in (
        "%%%",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1,2]").decode(),
    ):
        resp = await client.post(
            devnet.url + CHAT, json=chat_body(), headers={"PAYMENT-SIGNATURE": junk}
        )
        assert resp.status_code == 400, junk
        assert "PAYMENT-SIGNATURE" in resp.json()["error"]


async def test_concurrent_calls_on_one_session_are_all_charged(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    first = await payer.post(client, chat_body("warm up"))
    sid = first.headers["x-upto-session"]
    results = await asyncio.gather(
        *(
            client.post(devnet.url + CHAT, json=chat_body(f"c{i}"), headers={"X-Upto-Session": sid})
            for i in range(6)
        )
    )
    assert all(r.status_code == 200 for r in results)
    record = await wait_settled(client, devnet, sid)
    assert record["calls"] == 7
    assert ONE_OPG > int(record["amount"]) > 0


async def test_session_is_settled_before_its_authorization_expires(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    challenge = await client.post(devnet.url + CHAT, json=chat_body())
    required = decode_payment_required(challenge.headers["payment-required"])
    # signed 250 s ago: the Permit2 deadline is 50 s away, inside the 60 s safety margin
    signed = sign_payment(
        payer.private_key, required, required.accepts[0], now=int(time.time()) - 250
    )
    header = encode_payment_signature(signed.payload)
    resp = await client.post(
        devnet.url + CHAT, json=chat_body(), headers={"PAYMENT-SIGNATURE": header}
    )
    assert resp.status_code == 200
    sid = resp.headers["x-upto-session"]
    reuse = await client.post(devnet.url + CHAT, json=chat_body(), headers={"X-Upto-Session": sid})
    assert reuse.status_code == 402  # no more spending on an authorization about to expire
    record = await wait_settled(client, devnet, sid, timeout=3)
    assert record["status"] == "settled" and int(record["amount"]) > 0
