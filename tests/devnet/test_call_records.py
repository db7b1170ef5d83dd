"""Every paid call leaves its own on-chain record, found by plain JSON-RPC from one hash.

These tests read the chain the way a stranger with `curl` would: a raw JSON-RPC request
to `/rpc` (httpx, no web3, not our verifier), the event topics computed here from the
event signatures, the ABI decoded by hand or with eth_abi. Only the id the gateway
answered with (`call_id`, or the individual transaction's hash) is used to find the
record; its contents are then checked against the answer.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
from eth_abi.abi import decode
from eth_utils import keccak

from og_chat.devnet import Devnet
from tests.devnet.paying_client import Payer, chat_body, rpc, sse_events, wait_receipt

CALL_RECORDED = (
    "0x" + keccak(text="CallRecorded(bytes32,bytes32,bytes32,bytes32,uint256,bytes32)").hex()
)
BATCH_LEAF = "0x" + keccak(text="BatchLeaf(bytes32,bytes32,bytes32,uint256)").hex()
BATCH_SETTLED = "0x" + keccak(text="BatchSettled(bytes32,uint256,uint256)").hex()
INDIVIDUAL_SETTLED = (
    "0x"
    + keccak(
        text="IndividualSettled(bytes32,bytes32,bytes32,bytes32,string,uint256,uint256,uint256,bytes)"
    ).hex()
)
INDIVIDUAL_CALL = "(bytes32,string,string,string,uint256,uint256,bytes32,bytes32,uint256,bytes)"
SETTLE_INDIVIDUAL = keccak(text=f"settleIndividual({INDIVIDUAL_CALL})")[:4]


async def logs_by_topic(client: httpx.AsyncClient, url: str, topic0: str, topic1: str) -> Any:
    """`eth_getLogs` over the whole chain for one event and one indexed first argument."""
    query = {"fromBlock": "earliest", "toBlock": "latest", "topics": [topic0, topic1]}
    return await rpc(client, url, "eth_getLogs", [query])


async def wait_logs(
    client: httpx.AsyncClient, url: str, topic0: str, topic1: str, timeout: float = 10
) -> Any:
    """Poll until the record is on-chain (private and batch records are posted in batches)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        logs = await logs_by_topic(client, url, topic0, topic1)
        if logs:
            return logs
        assert asyncio.get_running_loop().time() < deadline, f"no {topic0} log for {topic1}"
        await asyncio.sleep(0.1)


def words(data: str) -> list[bytes]:
    raw = bytes.fromhex(data.removeprefix("0x"))
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]


def pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a <= b else keccak(b + a)


def root_of(leaves: list[bytes]) -> bytes:
    """The sorted-pair Merkle root, an unpaired node carried up (written out independently)."""
    level = leaves
    while len(level) > 1:
        nxt = [pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = nxt + ([level[-1]] if len(level) % 2 else [])
    return level[0]


async def test_private_record_is_one_event_with_hashes_only(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    resp = await payer.post(
        client, chat_body("a private question"), headers={"X-SETTLEMENT-TYPE": "private"}
    )
    data = resp.json()
    call_id = resp.headers["x-og-call-id"]
    assert data["call_id"] == call_id and len(bytes.fromhex(call_id[2:])) == 32

    (log,) = await wait_logs(client, devnet.url, CALL_RECORDED, call_id)
    assert log["address"].lower() == devnet.chain.addresses.settlement.lower()
    assert log["topics"] == [CALL_RECORDED, call_id, data["tee_id"]]
    request_hash, output_hash, timestamp, signature_hash = words(log["data"])
    assert request_hash.hex() == data["tee_request_hash"]
    assert output_hash.hex() == data["tee_output_hash"]
    assert int.from_bytes(timestamp, "big") == data["tee_timestamp"]
    assert signature_hash == keccak(base64.b64decode(data["tee_signature"]))
    # Hashes only: nothing of the prompt, the answer or the model is on-chain.
    tx = await rpc(client, devnet.url, "eth_getTransactionByHash", [log["transactionHash"]])
    calldata = bytes.fromhex(tx["input"][2:])
    for text in ("a private question", data["choices"][0]["message"]["content"], "gpt-4.1"):
        assert text.encode() not in calldata and text.encode().hex() not in log["data"]


async def test_batch_record_leads_from_the_call_id_to_its_posted_root(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    datas = []
    for i in range(3):
        resp = await payer.post(
            client, chat_body(f"batched question {i}"), headers={"X-SETTLEMENT-TYPE": "batch"}
        )
        datas.append(resp.json())
    for data in datas:
        (log,) = await wait_logs(client, devnet.url, BATCH_LEAF, data["call_id"])
        root = log["topics"][2]
        leaf, index = words(log["data"])
        expected = keccak(
            bytes.fromhex(data["call_id"][2:])
            + bytes.fromhex(data["tee_id"][2:])
            + bytes.fromhex(data["tee_request_hash"])
            + bytes.fromhex(data["tee_output_hash"])
            + keccak(base64.b64decode(data["tee_signature"]))
            + data["tee_timestamp"].to_bytes(32, "big")
        )
        assert leaf == expected
        receipt = await rpc(
            client, devnet.url, "eth_getTransactionReceipt", [log["transactionHash"]]
        )
        assert int(receipt["status"], 16) == 1
        leaves = {
            int.from_bytes(words(entry["data"])[1], "big"): words(entry["data"])[0]
            for entry in receipt["logs"]
            if entry["topics"][0] == BATCH_LEAF and entry["topics"][2] == root
        }
        assert leaves[int.from_bytes(index, "big")] == leaf
        assert "0x" + root_of([leaves[i] for i in sorted(leaves)]).hex() == root
        settled = [e for e in receipt["logs"] if e["topics"][0] == BATCH_SETTLED]
        assert [e["topics"][1] for e in settled] == [root]
        assert int.from_bytes(words(settled[0]["data"])[0], "big") == len(leaves)


async def test_individual_record_is_a_transaction_with_the_call_in_readable_text(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    prompt = "¿Qué hora es en Zürich? 🕰️ — answer briefly"
    body = chat_body(prompt)
    resp = await payer.post(client, body, headers={"X-SETTLEMENT-TYPE": "individual"})
    data = resp.json()
    tx_hash = resp.headers["x-settlement-tx-hash"]
    receipt = await wait_receipt(client, devnet.url, tx_hash)
    assert int(receipt["status"], 16) == 1

    tx = await rpc(client, devnet.url, "eth_getTransactionByHash", [tx_hash])
    calldata = bytes.fromhex(tx["input"][2:])
    assert calldata[:4] == SETTLE_INDIVIDUAL
    (call,) = decode([INDIVIDUAL_CALL], calldata[4:])
    call_id, model, text_in, text_out, prompt_tokens, completion_tokens, tee_id, req, ts, sig = call
    assert "0x" + call_id.hex() == data["call_id"]
    assert model == "openai/gpt-4.1-mini"
    canonical = json.loads(text_in)
    assert canonical["messages"][-1]["content"] == prompt  # the messages, as UTF-8 JSON
    assert prompt.encode() in calldata  # readable in the raw calldata too
    # What the TEE signed: the same JSON, ASCII-escaped (`json.dumps(sort_keys=True)`).
    signed_form = json.dumps(canonical, sort_keys=True)
    assert keccak(signed_form.encode()).hex() == req.hex() == data["tee_request_hash"]
    assert text_out == data["choices"][0]["message"]["content"]
    assert keccak(text_out.encode()).hex() == data["tee_output_hash"]
    assert (prompt_tokens, completion_tokens) == (
        data["usage"]["prompt_tokens"],
        data["usage"]["completion_tokens"],
    )
    assert "0x" + tee_id.hex() == data["tee_id"]
    assert ts == data["tee_timestamp"]
    assert sig == base64.b64decode(data["tee_signature"])

    (log,) = receipt["logs"]
    assert log["topics"] == [
        INDIVIDUAL_SETTLED,
        data["call_id"],
        data["tee_id"],
        "0x" + data["tee_request_hash"],
    ]
    output_hash, model_in_log, *usage_and_time, signature = decode(
        ["bytes32", "string", "uint256", "uint256", "uint256", "bytes"],
        bytes.fromhex(log["data"][2:]),
    )
    assert output_hash.hex() == data["tee_output_hash"] and model_in_log == model
    assert usage_and_time == [prompt_tokens, completion_tokens, ts] and signature == sig
    # The same record, found by the call id as an indexed topic.
    (found,) = await logs_by_topic(client, devnet.url, INDIVIDUAL_SETTLED, data["call_id"])
    assert found["transactionHash"] == tx_hash


async def test_individual_stream_record_matches_the_streamed_answer(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    resp = await payer.post(
        client,
        chat_body("stream it, individually", stream=True),
        headers={"X-SETTLEMENT-TYPE": "individual"},
    )
    events = sse_events(resp.text)
    final = events[-2]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-2])
    assert final["call_id"] == resp.headers["x-og-call-id"]
    tx_hash = final["data_settlement_transaction_hash"]
    await wait_receipt(client, devnet.url, tx_hash)
    tx = await rpc(client, devnet.url, "eth_getTransactionByHash", [tx_hash])
    (call,) = decode([INDIVIDUAL_CALL], bytes.fromhex(tx["input"][10:]))
    assert "0x" + call[0].hex() == final["call_id"] and call[3] == text


async def test_identical_prompts_twice_get_two_ids_and_two_records(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    for mode, topic in (("batch", BATCH_LEAF), ("private", CALL_RECORDED)):
        body = chat_body(f"the very same question ({mode})")
        first = (await payer.post(client, body, headers={"X-SETTLEMENT-TYPE": mode})).json()
        second = (await payer.post(client, body, headers={"X-SETTLEMENT-TYPE": mode})).json()
        assert first["tee_request_hash"] == second["tee_request_hash"]
        assert first["call_id"] != second["call_id"]
        docs = []
        for data in (first, second):
            (log,) = await wait_logs(client, devnet.url, topic, data["call_id"])
            doc = (await client.get(f"{devnet.url}/v1/settlements/{data['call_id']}")).json()
            assert doc["tx_hash"] == log["transactionHash"]
            docs.append(doc)
        assert [d["call_id"] for d in docs] == [first["call_id"], second["call_id"]]
        if mode == "batch":
            assert docs[0]["leaf"] != docs[1]["leaf"]


async def test_a_long_individual_call_fits_its_gas(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    prompt = "long input " * 3000  # ~33 KB of calldata
    resp = await payer.post(client, chat_body(prompt), headers={"X-SETTLEMENT-TYPE": "individual"})
    tx_hash = resp.headers["x-settlement-tx-hash"]
    receipt = await wait_receipt(client, devnet.url, tx_hash)
    assert int(receipt["status"], 16) == 1
    tx = await rpc(client, devnet.url, "eth_getTransactionByHash", [tx_hash])
    used, limit = int(receipt["gasUsed"], 16), int(tx["gas"], 16)
    assert used < limit <= 3 * used  # enough, with a margin that stays a margin


def test_the_topics_here_and_in_the_readme_are_the_contracts_events(devnet: Devnet) -> None:
    declared = {name: topic for topic, (name, _) in devnet.chain.node.events.events.items()}
    assert declared["CallRecorded"] == CALL_RECORDED
    assert declared["BatchLeaf"] == BATCH_LEAF
    assert declared["IndividualSettled"] == INDIVIDUAL_SETTLED
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for topic in (CALL_RECORDED, BATCH_LEAF, INDIVIDUAL_SETTLED):
        assert topic in readme
