"""`verify_receipt` checks an individual receipt against its own transaction's record."""

from __future__ import annotations

import asyncio
import base64
import dataclasses

from og_chat.app.runtime import Runtime
from og_chat.app.verify import verify_receipt
from og_chat.devnet import Devnet
from og_chat.sdk.types import Receipt
from tests.settlement.test_tracker import ask


def data_check(receipt: Receipt, runtime: Runtime) -> tuple[bool, str]:
    checks = verify_receipt(receipt, runtime.llm.profile)
    (check,) = [c for c in checks if c.name == "on-chain record"]
    return check.ok, check.detail


async def test_an_individual_record_must_be_this_calls(runtime: Runtime, devnet: Devnet) -> None:
    receipt = await ask(runtime, mode="individual")
    assert receipt.data_settlement_tx and receipt.call_id
    await devnet.chain.wait_for_tx(receipt.data_settlement_tx)
    ok, detail = await asyncio.to_thread(data_check, receipt, runtime)
    assert ok, detail

    other_call = dataclasses.replace(receipt, call_id="0x" + "11" * 32)
    ok, detail = await asyncio.to_thread(data_check, other_call, runtime)
    assert not ok and "the record is of call 0x" in detail

    signature = bytearray(base64.b64decode(receipt.tee_signature or ""))
    signature[0] ^= 1
    forged = dataclasses.replace(receipt, tee_signature=base64.b64encode(signature).decode())
    ok, detail = await asyncio.to_thread(data_check, forged, runtime)
    assert not ok and "signature is not the receipt's" in detail
