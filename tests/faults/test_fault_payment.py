"""Faults in the payment: a facilitator that will not settle, a payer the chain would
revert, and a session that expires in the middle of a conversation."""

from __future__ import annotations

import asyncio
import os

import pytest

from og_chat.app.runtime import Runtime
from og_chat.app.settlement import SettlementTracker
from og_chat.devnet import Devnet
from og_chat.sdk import LLM
from og_chat.sdk.errors import PaymentRequired
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.store.receipts import ReceiptStore
from tests.faults.fault_helpers import MODEL, ask, prompt, stored


async def _session_closed(devnet: Devnet, session_id: str, timeout: float = 8.0) -> dict:
    """Wait for the gateway to settle (or fail to settle) a session; its record."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while session_id not in devnet.gateway.records:
        assert loop.time() < deadline, f"session {session_id} never closed"
        await asyncio.sleep(0.1)
    record: dict = devnet.gateway.records[session_id]
    return record


async def _poll_until(tracker: SettlementTracker, runtime: Runtime, rid: str, status: str) -> None:
    for _ in range(40):
        await tracker.poll_once()
        if stored(runtime.receipts)[rid].payment_status == status:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"receipt {rid} never became {status}")


async def test_refused_settlement_ends_up_failed_on_the_receipt(devnet: Devnet) -> None:
    key = "0x" + os.urandom(32).hex()
    runtime = await Runtime.open(
        request=NetworkRequest("devnet", devnet.url, (devnet.url,)),
        private_key=key,
        confirm=_yes,
    )
    try:
        before = await runtime.wallet()
        devnet.faults.refuse_settlement = True
        answer = await ask(runtime)
        receipt = answer.receipt
        assert receipt.payment_status == "pending"
        record = await _session_closed(devnet, receipt.upto_session or "")
        assert record["status"] == "failed"
        tracker = SettlementTracker(runtime)
        await _poll_until(tracker, runtime, receipt.id, "failed")
        kept = stored(runtime.receipts)[receipt.id]
        assert "settlement failed" in (kept.error or "")
        assert kept.output_text == answer.text and kept.signature_status == "verified"
        assert (await runtime.wallet()).opg == before.opg  # nothing moved
        assert runtime.llm.signatures_made == 1
        assert not tracker.outstanding()  # a failed payment is not polled for ever
    finally:
        await runtime.close()


async def test_payer_without_allowance_is_told_to_approve_and_nothing_is_lost(
    devnet: Devnet,
) -> None:
    store = ReceiptStore()
    key = "0x" + os.urandom(32).hex()  # funded by the devnet client, never approved
    llm = LLM(
        key, network="devnet", devnet_url=devnet.url, on_receipt=store.append,
        trusted_devnets=[devnet.url],
    )  # fmt: skip
    messages = [{"role": "user", "content": prompt()}]
    try:
        opg_before = (await llm.balances()).opg
        with pytest.raises(PaymentRequired) as info:
            await llm.chat(MODEL, messages)
        exc = info.value
        assert "permit2_allowance_required" in (exc.reason or "")
        assert "approve more OPG for Permit2" in str(exc)
        assert llm.signatures_made == 1
        (refused,) = stored(store).values()
        assert refused.payment_status == "refused" and "allowance" in (refused.error or "")
        assert refused.authorization_digest and refused.payer == llm.address
        assert (await llm.balances()).opg == opg_before

        await llm.aensure_opg_approval(5)  # what the hint says to do
        out = await llm.chat(MODEL, messages)
        assert out.receipt is not None and out.receipt.signature_status == "verified"
        assert llm.signatures_made == 2
        assert len(stored(store)) == 2
    finally:
        await llm.close()


async def test_session_expiring_mid_conversation_is_rechallenged_and_paid_once_more(
    devnet: Devnet, runtime: Runtime
) -> None:
    conversation = "conv-" + os.urandom(4).hex()
    history = [{"role": "user", "content": prompt("first question")}]
    first = await ask(runtime, prompt=history[0]["content"], conversation_id=conversation)
    second = await ask(runtime, conversation_id=conversation)
    assert runtime.llm.signatures_made == 1
    assert first.receipt.upto_session == second.receipt.upto_session

    record = await _session_closed(devnet, first.receipt.upto_session or "")  # idle settlement
    assert record["status"] == "settled" and record["calls"] == 2

    third = await ask(runtime, conversation_id=conversation)
    assert runtime.llm.signatures_made == 2  # one more challenge, one more signature
    assert third.receipt.upto_session not in (None, first.receipt.upto_session)
    assert third.receipt.nonce != first.receipt.nonce

    kept = stored(runtime.receipts)
    assert {first.receipt.id, second.receipt.id, third.receipt.id} <= kept.keys()
    assert all(kept[r].conversation_id == conversation for r in kept)
    tracker = SettlementTracker(runtime)
    await _poll_until(tracker, runtime, first.receipt.id, "settled")
    settled = stored(runtime.receipts)
    assert settled[first.receipt.id].payment_tx == record["tx_hash"]
    assert settled[second.receipt.id].payment_tx == record["tx_hash"]


async def _yes(question: str) -> bool:
    """The user's answer to "approve with your key on this devnet?" (they opted in to it)."""
    return True
