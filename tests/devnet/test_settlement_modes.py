"""Each `X-SETTLEMENT-TYPE` leaves its own trace on-chain."""

from __future__ import annotations

import asyncio
import json

import httpx

from og_chat.devnet import Devnet
from og_chat.sdk import merkle
from tests.devnet.paying_client import CHAT, Payer, chat_body, rpc, sse_events, wait_receipt


async def settlement_doc(
    client: httpx.AsyncClient, devnet: Devnet, call_id: str, timeout: float = 10
) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        resp = await client.get(f"{devnet.url}/v1/settlements/{call_id}")
        if resp.status_code == 200 and resp.json()["status"] != "pending":
            return dict(resp.json())
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(resp.text)
        await asyncio.sleep(0.1)


async def test_batch_leaves_prove_against_the_posted_root(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    datas = []
    for i in range(5):  # batch_size is 4: one full batch, one posted by the interval
        resp = await payer.post(
            client, chat_body(f"batch call {i}"), headers={"X-SETTLEMENT-TYPE": "batch"}
        )
        assert "x-settlement-tx-hash" not in resp.headers
        assert resp.headers["x-og-call-id"] == resp.json()["call_id"]
        datas.append(resp.json())
    roots = set()
    for data in datas:
        doc = await settlement_doc(client, devnet, data["call_id"])
        assert doc["status"] == "posted"
        assert doc["call_id"] == data["call_id"] and doc["mode"] == "batch"
        leaf = merkle.leaf_hash(
            call_id=data["call_id"],
            tee_id=data["tee_id"],
            request_hash=data["tee_request_hash"],
            output_hash=data["tee_output_hash"],
            tee_signature=data["tee_signature"],
            tee_timestamp=data["tee_timestamp"],
        )
        assert doc["leaf"] == "0x" + leaf.hex()
        assert merkle.verify_proof(leaf, doc["proof"], doc["root"])
        info = await devnet.chain.operator.batch_root_info(bytes.fromhex(doc["root"][2:]))
        assert info is not None and info[0] >= 1  # the root read back from the chain
        receipt = await rpc(client, devnet.url, "eth_getTransactionReceipt", [doc["tx_hash"]])
        assert int(receipt["status"], 16) == 1
        assert receipt["to"].lower() == devnet.chain.addresses.settlement.lower()
        roots.add(doc["root"])
    assert len(roots) >= 2


async def test_missing_or_unknown_settlement_type_means_batch(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    for header in ({}, {"X-SETTLEMENT-TYPE": "whatever"}):
        data = (
            await payer.post(client, chat_body(f"default mode {header}"), headers=header)
        ).json()
        doc = (await client.get(f"{devnet.url}/v1/settlements/{data['call_id']}")).json()
        assert doc["mode"] == "batch" and doc["status"] in ("pending", "posted")


async def test_individual_settles_each_call_in_its_own_tx(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    for value in ("individual", "inidvidual"):
        resp = await payer.post(
            client, chat_body(f"individual {value}"), headers={"X-SETTLEMENT-TYPE": value}
        )
        data = resp.json()
        tx_hash = resp.headers["x-settlement-tx-hash"]
        assert resp.headers["x-settlement-status"] == "submitted"
        assert resp.headers["x-settlement-type"] == "individual"
        assert resp.headers["x-tee-request-hash"] == data["tee_request_hash"]
        receipt = await wait_receipt(client, devnet.url, tx_hash)
        assert int(receipt["status"], 16) == 1
        (log,) = receipt["logs"]
        assert log["address"].lower() == devnet.chain.addresses.settlement.lower()
        assert log["topics"][1] == data["call_id"]
        assert log["topics"][2] == data["tee_id"]
        assert log["topics"][3] == "0x" + data["tee_request_hash"]


async def test_individual_stream_carries_the_tx_in_the_final_event(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    resp = await payer.post(
        client,
        chat_body("individual stream", stream=True),
        headers={"X-SETTLEMENT-TYPE": "individual"},
    )
    events = sse_events(resp.text)
    final = events[-2]
    assert final["data_settlement_success"] is True
    tx_hash = final["data_settlement_transaction_hash"]
    receipt = await wait_receipt(client, devnet.url, tx_hash)
    assert int(receipt["status"], 16) == 1
    for _ in range(100):  # the gateway records the outcome once mined
        doc = (await client.get(f"{devnet.url}/v1/settlements/{final['call_id']}")).json()
        if doc.get("status") == "mined":
            break
        await asyncio.sleep(0.05)
    assert doc == {
        "call_id": final["call_id"],
        "mode": "individual",
        "request_hash": final["tee_request_hash"],
        "tx_hash": tx_hash,
        "status": "mined",
        "block_number": int(receipt["blockNumber"], 16),
        "error": None,
    }


async def test_private_posts_hashes_only_and_no_settlement_headers(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    for value in ("private", "pivate"):
        resp = await payer.post(
            client, chat_body(f"private {value}"), headers={"X-SETTLEMENT-TYPE": value}
        )
        assert resp.status_code == 200
        assert not [h for h in resp.headers if h.lower().startswith("x-settlement")]
        doc = await settlement_doc(client, devnet, resp.json()["call_id"])
        assert doc["mode"] == "private" and doc["status"] == "posted"
        assert set(doc) == {
            "call_id", "mode", "request_hash", "status", "tx_hash", "block_number", "error"
        }  # fmt: skip
    assert payer.sessions[CHAT]
    missing = await client.get(f"{devnet.url}/v1/settlements/0x{'ab' * 32}")
    assert missing.status_code == 404
    assert json.loads(missing.text)["error"]
