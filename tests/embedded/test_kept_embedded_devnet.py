"""og-chat's embedded devnet keeps its chain in the data directory: a receipt made in one
launch is settled, proven and verified in the next (issue 11, "the embedded devnet keeps
its chain"). Real runtimes, real devnets, a real data directory (OG_CHAT_HOME, per test).
"""

from __future__ import annotations

import asyncio
import uuid

from og_chat.app.runtime import Runtime
from og_chat.app.settlement import SettlementTracker
from og_chat.app.verify import Verifier, VerifyState, verify_receipt
from og_chat.sdk.merkle import receipt_leaf
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.sdk.types import Receipt
from og_chat.store.paths import data_dir


async def ask(runtime: Runtime, mode: str) -> Receipt:
    final = None
    prompt = f"kept across launches ({uuid.uuid4().hex[:8]})"
    async for chunk in runtime.stream_chat(
        "openai/gpt-4.1-mini", [{"role": "user", "content": prompt}], mode=mode, max_tokens=30
    ):
        final = chunk
    assert final is not None and final.receipt is not None
    return final.receipt


def identity(runtime: Runtime) -> tuple[str, str]:
    doc = runtime.llm.profile.extra["devnet"]
    return doc["genesis_hash"], doc["instance_id"]


async def test_a_receipt_made_in_one_launch_verifies_in_the_next() -> None:
    first = await Runtime.open(request=NetworkRequest("devnet"), tokens_per_second=0)
    try:
        assert first.devnet is not None  # embedded
        chain = identity(first)
        receipt = await ask(first, "batch")
        assert receipt.call_id and receipt.payment_status == "pending"
    finally:
        await first.close()  # the embedded devnet settles the session, posts the batch
    assert (data_dir() / "devnet" / "chain.sqlite").exists()

    second = await Runtime.open(request=NetworkRequest("devnet"), tokens_per_second=0)
    try:
        assert identity(second) == chain  # the same chain, resumed
        tracker = SettlementTracker(second)
        for _ in range(20):
            await tracker.poll_once()
            stored = second.receipts.get(receipt.id)
            if stored.payment_status == "settled" and stored.merkle_leaf:
                break
            await asyncio.sleep(0.2)
        assert stored.payment_status == "settled" and stored.payment_tx
        assert stored.merkle_leaf == receipt_leaf(stored) and stored.batch_root_tx
        checks = await asyncio.to_thread(verify_receipt, stored, second.llm.profile)
        assert all(c.ok for c in checks), checks
    finally:
        await second.close()


async def test_a_restart_between_the_call_and_the_verify_needs_no_sync() -> None:
    first = await Runtime.open(request=NetworkRequest("devnet"), tokens_per_second=0)
    try:
        made = [await ask(first, mode) for mode in ("private", "batch", "individual")]
    finally:
        await first.close()
    second = await Runtime.open(request=NetworkRequest("devnet"), tokens_per_second=0)
    try:
        with Verifier() as verifier:
            for receipt in made:
                stored = second.receipts.get(receipt.id)
                assert stored.payment_status == "pending"  # nothing synced it
                assert stored.payment_hash == receipt.payment_hash
                result = await asyncio.to_thread(verifier.verify, stored, second.llm.profile)
                assert result.state is VerifyState.VERIFIED, result.checks
    finally:
        await second.close()
