"""Hostile 402s against the real client: refused with a typed error and no signature.

Complements tests/sdk/test_client_protocol.py (one bad field per 402) with
malformed values, v1 bodies, mixed offers, garbage encodings, and the spender:
the client, never the gateway, chooses who may pull the funds.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from og_chat.sdk import x402
from og_chat.sdk.addresses import UPTO_PERMIT2_PROXY
from og_chat.sdk.client import LLM
from og_chat.sdk.errors import OGError, PaymentError
from tests.sdk.gateway_double import GatewayDouble

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
MSG = [{"role": "user", "content": "hi"}]
EVIL = "0x000000000000000000000000000000000000dEaD"


def _b64(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


async def _refused(gw: GatewayDouble) -> OGError:
    async with LLM.from_url(KEY, gw.url) as llm:
        with pytest.raises(PaymentError) as info:
            await llm.chat("openai/gpt-5", MSG)
        assert llm.signatures_made == 0
    assert not gw.payments
    assert all("PAYMENT-SIGNATURE" not in r["headers"] for r in gw.requests)
    assert str(info.value).strip()
    return info.value


@pytest.mark.parametrize(
    "override",
    [
        {"amount": str(2**256)},
        {"amount": "1000000000000000001"},  # one base unit above the 1 OPG cap
        {"amount": "0"},
        {"amount": "-5"},
        {"asset": "0x0000000000000000000000000000000000000000"},
        {"asset": EVIL},
        {"network": "eip155:8453"},  # mainnet Base, asked of a devnet client
        {"network": "eip155:31337x"},
        {"network": ""},
        {"scheme": ""},
        {"scheme": "UPTO"},
        {"maxTimeoutSeconds": 3601},
        {"maxTimeoutSeconds": 2**63},
        {"maxTimeoutSeconds": -1},
        {"scheme": "exact", "extra": {"assetTransferMethod": "approve-everything"}},
        {"extra": {"assetTransferMethod": "permit2"}},  # upto with no facilitator to bind
    ],
    ids=lambda o: "-".join(f"{k}={str(v)[:12]}" for k, v in o.items()),
)
async def test_out_of_policy_requirement_is_refused_unsigned(
    gw: GatewayDouble, override: dict[str, Any]
) -> None:
    gw.knobs.requirement = override
    await _refused(gw)


@pytest.mark.parametrize(
    "override", [{"amount": str(5 * 10**18)}, {"network": "eip155:1"}, {"asset": EVIL}]
)
async def test_hostile_v1_body_is_refused_unsigned(
    gw: GatewayDouble, override: dict[str, Any]
) -> None:
    gw.knobs.v1 = True
    gw.knobs.requirement = override
    await _refused(gw)


@pytest.mark.parametrize(
    "header",
    [
        "%%%",
        "bm90IGpzb24=",  # "not json"
        _b64([1, 2, 3]),
        _b64({"x402Version": 2}),
        _b64({"x402Version": 2, "accepts": "everything"}),
        _b64({"x402Version": 2, "accepts": [{"scheme": "upto"}]}),
        _b64({"x402Version": 2, "accepts": [None, 7, "x"]}),
        _b64({"x402Version": 2, "accepts": []}),
        _b64({"x402Version": "two", "accepts": []}),
        base64.b64encode(b"\xff\xfe\x00garbage").decode(),
        "A" * 100_000,
    ],
    ids=lambda h: h[:16],
)
async def test_garbage_payment_required_header_is_a_typed_error(
    gw: GatewayDouble, header: str
) -> None:
    gw.knobs.raw_payment_required = header
    await _refused(gw)


async def test_a_hostile_offer_beside_a_fair_one_signs_only_the_fair_one(gw: GatewayDouble) -> None:
    hostile = {**gw.requirement(), "amount": str(10**24), "payTo": EVIL}
    gw.knobs.raw_payment_required = _b64(
        {"x402Version": 2, "error": "pay", "accepts": [hostile, gw.requirement()]}
    )
    async with LLM.from_url(KEY, gw.url) as llm:
        await llm.chat("openai/gpt-5", MSG)
        assert llm.signatures_made == 1
    (payment,) = gw.payments
    assert payment.accepted is not None
    assert payment.accepted.amount == gw.requirement()["amount"]
    assert payment.accepted.pay_to.lower() != EVIL.lower()


@pytest.mark.parametrize("field", ["spender", "proxy", "permit2Proxy", "uptoProxy"])
async def test_the_signed_spender_is_always_the_profiles_proxy(
    gw: GatewayDouble, field: str
) -> None:
    extra = {**gw.requirement()["extra"], field: EVIL}
    gw.knobs.requirement = {"extra": extra}
    async with LLM.from_url(KEY, gw.url) as llm:
        out = await llm.chat("openai/gpt-5", MSG)
        proxy = llm.profile.upto_proxy
    assert proxy.lower() == UPTO_PERMIT2_PROXY.lower()
    (payment,) = gw.payments
    auth = payment.payload["permit2Authorization"]
    assert auth["spender"].lower() == proxy.lower() != EVIL.lower()
    # the double serves its own key and names no registry: self-vouched, never verified
    assert out.receipt is not None and out.receipt.signature_status == "self_vouched"
    headers = gw.requests[-1]["headers"]
    signed = x402.decode_payment_signature(headers["PAYMENT-SIGNATURE"])
    assert signed.payload["permit2Authorization"]["spender"].lower() == proxy.lower()
