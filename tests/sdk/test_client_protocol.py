"""The real client against a misbehaving gateway: payment, sessions, refusals, faults."""

from __future__ import annotations

from typing import Any

import pytest

from og_chat.sdk import merkle, x402
from og_chat.sdk.client import LLM
from og_chat.sdk.errors import (
    GatewayError,
    MalformedPaymentHeader,
    PaymentRefused,
    PaymentRequired,
    StreamInterrupted,
    VerificationFailed,
)
from og_chat.sdk.types import Receipt, SignatureStatus
from tests.sdk.gateway_double import GatewayDouble

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
MSG = [{"role": "user", "content": "hi"}]


def client(gw: GatewayDouble, receipts: list[Receipt] | None = None, **kw: Any) -> LLM:
    sink = receipts.append if receipts is not None else None
    return LLM.from_url(KEY, gw.url, on_receipt=sink, **kw)


async def test_402_then_pay_then_200_with_a_self_vouched_signature(gw: GatewayDouble) -> None:
    receipts: list[Receipt] = []
    async with client(gw, receipts) as llm:
        out = await llm.chat("anthropic/claude-haiku-4-5", MSG, max_tokens=50)
    assert out.chat_output and out.chat_output["content"].startswith("Hello from the double")
    assert llm.signatures_made == 1 and len(gw.payments) == 1
    # The double names no registry: its signature checks out against the key it serves
    # itself, which is not verification.
    assert out.signature_status is SignatureStatus.SELF_VOUCHED
    assert receipts[0].tee_ok is None
    # The call's own record id (the double assigns no call id: the batch leaf), never the
    # session's authorization digest, which every call of the session shares.
    assert out.payment_hash and out.payment_hash == receipts[0].payment_hash
    assert out.payment_hash == merkle.receipt_leaf(receipts[0]) != receipts[0].authorization_digest
    assert receipts[0].payment_status == "pending"
    first, paid = gw.requests
    assert first["body"] == {
        "model": "claude-haiku-4-5",
        "messages": MSG,
        "max_tokens": 50,
        "temperature": 0.0,
    }
    assert first["headers"]["X-SETTLEMENT-TYPE"] == "batch"
    assert "PAYMENT-SIGNATURE" not in first["headers"] and "PAYMENT-SIGNATURE" in paid["headers"]


async def test_one_signature_serves_a_whole_session(gw: GatewayDouble) -> None:
    receipts: list[Receipt] = []
    async with client(gw, receipts) as llm:
        for _ in range(5):
            await llm.chat("openai/gpt-5", MSG)
    assert llm.signatures_made == 1
    assert len({r.authorization_digest for r in receipts}) == 1
    assert all(r.upto_session for r in receipts)


async def test_expired_session_is_rechallenged_once_and_paid_anew(gw: GatewayDouble) -> None:
    gw.knobs.session_calls = 2
    async with client(gw) as llm:
        for _ in range(3):
            await llm.chat("openai/gpt-5", MSG)
    assert llm.signatures_made == 2


async def test_402_after_payment_raises_without_a_second_signature(gw: GatewayDouble) -> None:
    gw.knobs.refuse_paid = True
    async with client(gw) as llm:
        with pytest.raises(PaymentRequired) as info:
            await llm.chat("openai/gpt-5", MSG)
    assert llm.signatures_made == 1
    assert "permit2_allowance_required" in str(info.value)


async def test_server_error_is_a_gateway_error_with_the_reason(gw: GatewayDouble) -> None:
    gw.knobs.status = 503
    async with client(gw) as llm:
        with pytest.raises(GatewayError) as info:
            await llm.chat("openai/gpt-5", MSG)
    assert info.value.status == 503 and "upstream unavailable" in str(info.value)
    assert llm.signatures_made == 0


async def test_stream_dropped_midway_keeps_partial_text_and_a_receipt(gw: GatewayDouble) -> None:
    gw.knobs.drop_after = 3
    receipts: list[Receipt] = []
    async with client(gw, receipts) as llm:
        stream = await llm.chat("openai/gpt-5", MSG, stream=True)
        seen = ""
        with pytest.raises(StreamInterrupted) as info:
            async for chunk in stream:
                seen += chunk.choices[0].delta.content or ""
    assert info.value.partial_text == seen and seen.startswith("Hello from the")
    assert receipts and receipts[0].error and receipts[0].output_text == seen
    assert llm.signatures_made == 1


async def test_stream_yields_choices_on_every_chunk_and_a_final_receipt(gw: GatewayDouble) -> None:
    async with client(gw) as llm:
        stream = await llm.chat("openai/gpt-5", MSG, stream=True)
        chunks = [c async for c in stream]
    assert all(c.choices for c in chunks)
    assert [c.is_final for c in chunks].count(True) == 1 and chunks[-1].is_final
    final = chunks[-1]
    assert final.usage and final.usage.total_tokens == 16
    assert final.receipt and final.receipt.signature_status == "self_vouched"
    assert "".join(c.choices[0].delta.content or "" for c in chunks).startswith(
        "Hello from the double"
    )


async def test_malformed_payment_required_header_signs_nothing(gw: GatewayDouble) -> None:
    gw.knobs.raw_payment_required = "%%%not-base64%%%"
    async with client(gw) as llm:
        with pytest.raises(MalformedPaymentHeader):
            await llm.chat("openai/gpt-5", MSG)
    assert llm.signatures_made == 0


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"amount": str(5 * 10**18)}, "amount"),
        ({"asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"}, "asset"),
        ({"network": "eip155:1"}, "network"),
        ({"network": "solana:mainnet"}, "network"),
        ({"scheme": "stream-forever"}, "scheme"),
        ({"maxTimeoutSeconds": 10**9}, "maxTimeoutSeconds"),
        ({"extra": {"assetTransferMethod": "permit2"}}, "extra.facilitatorAddress"),
    ],
)
async def test_hostile_402_is_refused_before_signing(
    gw: GatewayDouble, override: dict[str, Any], field: str
) -> None:
    gw.knobs.requirement = override
    async with client(gw) as llm:
        with pytest.raises(PaymentRefused) as info:
            await llm.chat("openai/gpt-5", MSG)
    assert info.value.field == field
    assert llm.signatures_made == 0 and not gw.payments


async def test_cap_is_configurable(gw: GatewayDouble) -> None:
    async with client(gw, max_authorization_opg="0.01") as llm:
        with pytest.raises(PaymentRefused, match="amount"):
            await llm.chat("openai/gpt-5", MSG)


async def test_v1_envelope_is_understood_and_answered_with_x_payment(gw: GatewayDouble) -> None:
    gw.knobs.v1 = True
    gw.knobs.requirement = {"network": "eip155:31337"}
    async with client(gw) as llm:
        with pytest.raises(PaymentRequired):
            # the double only accepts PAYMENT-SIGNATURE for v2 sessions; what matters is the header sent
            gw.knobs.refuse_paid = True
            await llm.chat("openai/gpt-5", MSG)
    paid = gw.requests[-1]["headers"]
    assert "X-PAYMENT" in paid and "PAYMENT-SIGNATURE" not in paid
    assert x402.decode_payment_signature(paid["X-PAYMENT"], x402.X_PAYMENT).x402_version == 1


async def test_tampered_tee_signature_is_loud(gw: GatewayDouble) -> None:
    gw.knobs.tamper_signature = True
    receipts: list[Receipt] = []
    async with client(gw, receipts) as llm:
        with pytest.raises(VerificationFailed):
            await llm.chat("openai/gpt-5", MSG)
    assert receipts[0].signature_status == "failed"
    async with client(gw, verify=False) as llm:
        out = await llm.chat("openai/gpt-5", MSG)
    assert out.signature_status is SignatureStatus.FAILED


async def test_payment_response_header_gives_the_settlement_hash(gw: GatewayDouble) -> None:
    gw.knobs.payment_response_tx = "0x" + "cd" * 32
    async with client(gw) as llm:
        out = await llm.chat("openai/gpt-5", MSG)
    assert out.receipt and out.receipt.payment_tx == "0x" + "cd" * 32
    assert out.payment_hash and out.payment_hash != out.receipt.payment_tx  # the session's tx
    assert (
        out.receipt
        and out.receipt.payment_status == "settled"
        and out.receipt.charged_opg == "0.000000000000001234"  # 1234 base units
    )


def test_private_key_never_in_repr_or_errors() -> None:
    llm = LLM(KEY, llm_server_url="http://127.0.0.1:9")
    assert KEY[2:] not in repr(llm) and KEY[2:] not in repr(vars(llm))


async def test_the_signed_spender_is_the_profiles_proxy_not_a_constant(gw: GatewayDouble) -> None:
    other_proxy = "0x00000000000000000000000000000000000b0b0b"
    gw.knobs.devnet_document = {
        "contracts": {"opg": gw.requirement()["asset"], "upto_proxy": other_proxy}
    }
    async with client(gw) as llm:
        await llm.chat("openai/gpt-5", MSG)
    (payment,) = gw.payments
    assert payment.payload["permit2Authorization"]["spender"].lower() == other_proxy


async def test_a_devnet_naming_a_public_chain_gets_test_keys_only(gw: GatewayDouble) -> None:
    from og_chat.sdk.errors import UntrustedNetwork

    gw.knobs.devnet_document = {"chain_id": 8453}
    gw.knobs.requirement = {"network": "eip155:8453"}
    async with client(gw) as llm:  # a published test key guards nothing: it may sign
        await llm.chat("openai/gpt-5", MSG)
    assert len(gw.payments) == 1
    user_key = "0x" + "42" * 32
    with pytest.raises(UntrustedNetwork, match="public network") as info:
        async with LLM.from_url(user_key, gw.url, trusted_devnets=[gw.url]) as llm:
            await llm.chat("openai/gpt-5", MSG)  # opted in, and still refused
    assert info.value.chain_id == 8453 and info.value.url == gw.url
    assert llm.signatures_made == 0 and len(gw.payments) == 1


async def test_a_devnet_claiming_a_public_chain_is_paid_with_its_test_keys(
    gw: GatewayDouble,
) -> None:
    gw.knobs.devnet_document = {"chain_id": 8453}  # the mainnet twin: test keys only
    gw.knobs.requirement = {"network": "eip155:8453"}
    async with client(gw) as llm:  # KEY is one of the devnet's published test keys
        await llm.chat("openai/gpt-5", MSG)
    assert len(gw.payments) == 1


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"payTo": "not-an-address"}, "payTo"),
        (
            {"extra": {"assetTransferMethod": "permit2", "facilitatorAddress": "0x12"}},
            "extra.facilitatorAddress",
        ),
    ],
)
async def test_malformed_recipients_are_refused_not_crashed_on(
    gw: GatewayDouble, override: dict[str, Any], field: str
) -> None:
    gw.knobs.requirement = override
    async with client(gw) as llm:
        with pytest.raises(PaymentRefused) as info:
            await llm.chat("openai/gpt-5", MSG)
    assert info.value.field == field and llm.signatures_made == 0
