"""Item 5: verified means registry-verified.

The hostile gateway signs every answer correctly, with the key it serves itself at
`/signing-key`, and names no registry: every face says "unverified: the gateway
vouches for itself" and none shows ✓.
"""

from __future__ import annotations

from collections.abc import Callable

from og_chat.sdk.client import LLM
from og_chat.sdk.types import SignatureStatus
from og_chat.store.receipts import ReceiptStore
from tests.hostile.conftest import Result
from tests.hostile.gateway import HostileGateway

MSG = [{"role": "user", "content": "hi"}]
WORDS = "unverified: the gateway vouches for itself"


async def test_a_signature_with_the_gateways_own_key_is_self_vouched(
    hostile: HostileGateway,
) -> None:
    async with LLM.from_url(None, hostile.url) as llm:
        out = await llm.chat("openai/gpt-5", MSG)
        stream = await llm.chat("openai/gpt-5", MSG, stream=True)
        final = [c async for c in stream][-1]
    for status, receipt in (
        (out.signature_status, out.receipt),
        (final.signature_status, final.receipt),
    ):
        assert status is SignatureStatus.SELF_VOUCHED and status.description == WORDS
        assert receipt is not None and receipt.tee_ok is None
        assert "no registry vouches for it" in (receipt.signature_detail or "")


def test_the_cli_never_marks_a_self_vouched_answer_verified(
    hostile: HostileGateway, og: Callable[..., Result]
) -> None:
    asked = og("ask", "--devnet-url", hostile.url, "-m", "gpt-4.1-mini", "hi")
    assert asked.code == 0, asked.err
    assert f"TEE ~ {WORDS}" in asked.err and "✓" not in asked.err
    listed = og("receipts", "list")
    assert listed.code == 0 and "✓" not in listed.out
    (row,) = listed.out.splitlines()[1:]
    assert "  ~  " in row
    (receipt,) = ReceiptStore().load()
    shown = og("receipts", "show", receipt.id)
    assert "signature_status" in shown.out and "self_vouched" in shown.out
    verified = og("receipts", "verify", receipt.id, "--rpc-url", hostile.url + "/rpc")
    assert verified.code == 5
    assert f"✗ tee signature: {WORDS} (key from the gateway's /signing-key)" in verified.out
