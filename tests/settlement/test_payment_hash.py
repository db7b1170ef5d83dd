"""Every call's `payment_hash` is its own, and names a record anyone can read on-chain.

The chain is read here the way a stranger with `curl` reads it: raw JSON-RPC (httpx, no
web3, not our verifier), knowing only the receipt's `payment_hash`; the record's contents
are then checked against the receipt. The verifier's verdicts follow, with the states a
receipt passes through (pending, verified) and the ones it must never be confused with
(chain reset is not tampered).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from typing import Any

import httpx
from eth_abi.abi import decode
from eth_utils.crypto import keccak

from og_chat.app.runtime import Runtime
from og_chat.app.verify import Verifier, VerifyState
from og_chat.devnet import Devnet
from og_chat.sdk.merkle import receipt_leaf
from og_chat.sdk.types import Receipt
from tests.settlement.test_tracker import ask

CALL_RECORDED = (
    "0x" + keccak(text="CallRecorded(bytes32,bytes32,bytes32,bytes32,uint256,bytes32)").hex()
)
BATCH_LEAF = "0x" + keccak(text="BatchLeaf(bytes32,bytes32,bytes32,uint256)").hex()
INDIVIDUAL_CALL = "(bytes32,string,string,string,uint256,uint256,bytes32,bytes32,uint256,bytes)"


async def rpc(url: str, method: str, params: list[Any]) -> Any:
    async with httpx.AsyncClient() as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        answer = (await http.post(url, json=body)).json()
    assert "error" not in answer, answer
    return answer["result"]


async def record_by_hash(url: str, mode: str, payment_hash: str, timeout: float = 15) -> Any:
    """What `curl` finds from the hash alone: a transaction receipt, or logs by topic."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if mode == "individual":
            found = await rpc(url, "eth_getTransactionReceipt", [payment_hash])
        else:
            topic = CALL_RECORDED if mode == "private" else BATCH_LEAF
            query = {"fromBlock": "earliest", "toBlock": "latest", "topics": [topic, payment_hash]}
            found = await rpc(url, "eth_getLogs", [query])
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"no {mode} record {payment_hash}"
        await asyncio.sleep(0.2)


def words(data: str) -> list[bytes]:
    raw = bytes.fromhex(data.removeprefix("0x"))
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]


async def test_each_mode_leaves_a_record_found_by_its_payment_hash_alone(
    runtime: Runtime, devnet: Devnet
) -> None:
    url = devnet.url + "/rpc"
    receipts = {mode: await ask(runtime, mode=mode) for mode in ("private", "batch", "individual")}
    hashes = [r.payment_hash for r in receipts.values()]
    assert len(set(hashes)) == 3 and all(h and len(h) == 66 for h in hashes)
    for receipt in receipts.values():
        assert receipt.payment_hash != receipt.authorization_digest
        assert receipt.chain_genesis and receipt.chain_instance  # the chain it was made on

    private = receipts["private"]
    (log,) = await record_by_hash(url, "private", str(private.payment_hash))
    assert log["topics"] == [CALL_RECORDED, private.call_id, private.tee_id]
    request, output, ts, sig_hash = words(log["data"])
    assert "0x" + request.hex() == "0x" + str(private.request_hash).removeprefix("0x")
    assert output.hex() == str(private.output_hash).removeprefix("0x")
    assert int.from_bytes(ts, "big") == private.tee_timestamp
    assert sig_hash == keccak(base64.b64decode(str(private.tee_signature)))

    batch = receipts["batch"]
    (log,) = await record_by_hash(url, "batch", str(batch.payment_hash))
    leaf, _index = words(log["data"])
    assert "0x" + leaf.hex() == receipt_leaf(batch)
    root_tx = await rpc(url, "eth_getTransactionReceipt", [log["transactionHash"]])
    assert int(root_tx["status"], 16) == 1
    assert any(e["topics"][1] == log["topics"][2] for e in root_tx["logs"][-1:])  # BatchSettled

    individual = receipts["individual"]
    assert individual.payment_hash == individual.data_settlement_tx
    mined = await record_by_hash(url, "individual", str(individual.payment_hash))
    assert int(mined["status"], 16) == 1
    tx = await rpc(url, "eth_getTransactionByHash", [individual.payment_hash])
    (call,) = decode([INDIVIDUAL_CALL], bytes.fromhex(tx["input"][10:]))
    call_id, model, text_in, text_out, prompt, completion, tee_id, req, stamp, sig = call
    assert "0x" + call_id.hex() == individual.call_id and model == individual.model
    assert json.loads(text_in)["messages"][-1]["content"].startswith("settle this")
    assert text_out == individual.output_text
    assert (prompt, completion) == (individual.prompt_tokens, individual.completion_tokens)
    assert "0x" + tee_id.hex() == individual.tee_id and stamp == individual.tee_timestamp
    assert req.hex() == str(individual.request_hash).removeprefix("0x")
    assert sig == base64.b64decode(str(individual.tee_signature))


async def test_identical_prompts_twice_in_one_session_get_two_hashes(runtime: Runtime) -> None:
    for mode in ("private", "batch", "individual"):
        first = await ask(runtime, f"the same words ({mode})", mode=mode)
        second = await ask(runtime, f"the same words ({mode})", mode=mode)
        assert first.request_hash == second.request_hash
        assert first.authorization_digest == second.authorization_digest  # one upto session
        assert first.payment_hash != second.payment_hash
        assert first.payment_hash and second.payment_hash


def _verify(receipt: Receipt, **kw: Any) -> tuple[VerifyState, list[str]]:
    with Verifier(**kw) as verifier:
        result = verifier.verify(receipt)
    return result.state, [f"{c.name}: {c.detail}" for c in result.checks]


async def test_verify_states_pending_verified_tampered_and_chain_reset(
    runtime: Runtime, devnet: Devnet
) -> None:
    receipt = await ask(runtime, mode="private")
    state, lines = await asyncio.to_thread(_verify, receipt)
    assert state is VerifyState.PENDING, lines
    assert any("pending: the upto session" in line for line in lines)

    deadline = asyncio.get_running_loop().time() + 20
    while state is VerifyState.PENDING:  # no sync: the chain alone decides
        assert asyncio.get_running_loop().time() < deadline, lines
        await asyncio.sleep(0.3)
        state, lines = await asyncio.to_thread(_verify, receipt)
    assert state is VerifyState.VERIFIED, lines

    edited = dataclasses.replace(receipt, tee_timestamp=(receipt.tee_timestamp or 0) + 1)
    state, lines = await asyncio.to_thread(_verify, edited)
    assert state is VerifyState.FAILED, lines

    # Another chain answers at the receipt's address: a devnet started afresh.
    fresh = Devnet.start(tokens_per_second=0)
    try:
        moved = dataclasses.replace(receipt, endpoint=fresh.url)
        state, lines = await asyncio.to_thread(_verify, moved)
        assert state is VerifyState.CHAIN_RESET, lines
        assert any("chain reset: cannot be checked" in line for line in lines)
    finally:
        fresh.stop()
    # And none answers at all (the devnet is gone): still not "tampered".
    state, lines = await asyncio.to_thread(_verify, moved)
    assert state is VerifyState.CHAIN_RESET, lines
    # Offline: only what needs no chain.
    state, lines = await asyncio.to_thread(_verify, moved, offline=True)
    assert state is VerifyState.VERIFIED and len(lines) == 3, lines
