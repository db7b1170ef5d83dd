"""The settlement tracker turns pending receipts into settled, proven ones."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from og_chat.app.onchain import find_payment_onchain
from og_chat.app.runtime import Runtime
from og_chat.app.settlement import SettlementTracker
from og_chat.app.verify import verify_receipt
from og_chat.devnet import Devnet
from og_chat.sdk.merkle import receipt_leaf
from og_chat.sdk.opg import opg_text
from og_chat.sdk.pricing import table_cost
from og_chat.sdk.types import Receipt


async def ask(runtime: Runtime, text: str | None = None, mode: str = "batch") -> Receipt:
    """One streamed call; its receipt as stored."""
    prompt = text or f"settle this ({uuid.uuid4().hex[:8]})"
    final = None
    async for chunk in runtime.stream_chat(
        "openai/gpt-4.1-mini", [{"role": "user", "content": prompt}], mode=mode, max_tokens=40
    ):
        final = chunk
    assert final is not None and final.receipt is not None
    return final.receipt


async def until(predicate: Any, timeout: float = 10.0) -> None:
    """Wait for `predicate()` to hold, polling."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_background_tracker_settles_a_pending_receipt_with_a_verified_proof(
    runtime: Runtime, devnet: Devnet
) -> None:
    receipt = await ask(runtime)
    assert receipt.payment_status == "pending"
    assert receipt.payment_hash == receipt.call_id  # the call's own BatchLeaf topic
    assert receipt.payment_hash != receipt.authorization_digest
    updates: list[tuple[str, dict[str, Any]]] = []
    runtime.start_settlement_tracker(
        lambda rid, fields: updates.append((rid, fields)), interval=0.2
    )

    def done() -> bool:
        stored = runtime.receipts.get(receipt.id)
        return stored.payment_status == "settled" and stored.merkle_leaf is not None

    await until(done)
    stored = runtime.receipts.get(receipt.id)
    async with httpx.AsyncClient() as http:
        record = (
            await http.get(
                devnet.url + "/v1/payments", params={"payer": receipt.payer, "nonce": receipt.nonce}
            )
        ).json()
    assert stored.payment_tx == record["tx_hash"]
    assert stored.payment_hash == receipt.payment_hash  # settling never renames the record
    assert stored.charged_opg is not None and float(stored.charged_opg) > 0
    assert stored.merkle_leaf == receipt_leaf(stored)
    assert stored.batch_root and stored.batch_root_tx
    assert {rid for rid, _ in updates} == {receipt.id}
    assert any(f.get("payment_status") == "settled" for _, f in updates)
    assert any("merkle_proof" in f for _, f in updates)
    checks = await asyncio.to_thread(verify_receipt, stored, runtime.llm.profile)
    assert all(c.ok for c in checks), checks


async def test_payment_is_found_on_chain_without_the_gateway(
    runtime: Runtime, devnet: Devnet
) -> None:
    receipt = await ask(runtime, mode="private")
    profile = runtime.llm.profile
    assert (
        await asyncio.to_thread(find_payment_onchain, profile, receipt) is None
    )  # not settled yet
    records = await asyncio.to_thread(devnet.settle_open_sessions)
    settled = [r for r in records if r["nonce"] == str(int(receipt.nonce or "0"))]
    assert settled and settled[0]["status"] == "settled"
    found = await asyncio.to_thread(find_payment_onchain, profile, receipt)
    assert found is not None
    assert found.tx_hash == settled[0]["tx_hash"]
    assert found.amount == int(settled[0]["amount"])


async def test_a_refused_settlement_is_recorded_as_failed(runtime: Runtime, devnet: Devnet) -> None:
    devnet.faults.update({"refuse_settlement": True})
    receipt = await ask(runtime, mode="private")
    await asyncio.to_thread(devnet.settle_open_sessions)
    tracker = SettlementTracker(runtime)
    assert await tracker.poll_once() == 1
    stored = runtime.receipts.get(receipt.id)
    assert stored.payment_status == "failed"
    assert stored.error and "settlement failed" in stored.error
    assert tracker.outstanding() == []


async def test_the_same_request_twice_gets_two_calls_and_two_proofs(
    runtime: Runtime, devnet: Devnet
) -> None:
    prompt = f"the same question twice ({uuid.uuid4().hex[:8]})"
    first = await ask(runtime, prompt)
    second = await ask(runtime, prompt)
    assert first.request_hash == second.request_hash
    assert first.call_id and second.call_id and first.call_id != second.call_id
    await asyncio.to_thread(devnet.flush_batch)
    await asyncio.to_thread(devnet.settle_open_sessions)
    tracker = SettlementTracker(runtime)
    await tracker.poll_once()
    leaves = [runtime.receipts.get(r.id).merkle_leaf for r in (first, second)]
    assert leaves == [receipt_leaf(first), receipt_leaf(second)]
    assert leaves[0] != leaves[1]
    assert runtime.receipts.get(first.id).payment_status == "settled"
    assert tracker.outstanding() == []


async def test_a_devnet_receipt_shows_its_price_before_it_settles(runtime: Runtime) -> None:
    final = None
    async for chunk in runtime.stream_chat("openai/gpt-5", [{"role": "user", "content": "hi"}]):
        final = chunk
    assert final is not None and final.receipt is not None
    stored = runtime.receipts.get(final.receipt.id)
    prices = runtime.llm.profile.extra["devnet"]["prices"]
    expected = table_cost(prices, "openai/gpt-5", stored.prompt_tokens, stored.completion_tokens)
    assert stored.payment_status == "pending"
    assert expected and stored.price_opg == opg_text(expected)


async def test_the_tracker_reports_each_calls_record_reaching_the_chain(
    runtime: Runtime, devnet: Devnet
) -> None:
    made = {mode: await ask(runtime, mode=mode) for mode in ("private", "batch", "individual")}
    assert all(r.record_block is None for r in made.values())
    updates: list[tuple[str, dict[str, Any]]] = []
    tracker = SettlementTracker(runtime, on_update=lambda rid, f: updates.append((rid, f)))
    for _ in range(60):
        await tracker.poll_once()
        stored = {mode: runtime.receipts.get(r.id) for mode, r in made.items()}
        if all(s.record_block is not None for s in stored.values()):
            break
        await asyncio.sleep(0.2)
    for mode, receipt in stored.items():
        assert receipt.record_block is not None, mode
        assert any(rid == receipt.id and "record_block" in f for rid, f in updates), mode
    async with httpx.AsyncClient() as http:
        doc = (await http.get(f"{devnet.url}/v1/settlements/{made['private'].call_id}")).json()
    assert stored["private"].data_settlement_tx == doc["tx_hash"]
    assert stored["private"].record_block == doc["block_number"]
