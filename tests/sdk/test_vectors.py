"""Every shared vector reproduced: signatures byte for byte, payloads as decoded JSON."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from og_chat.sdk import signing, x402
from og_chat.sdk.calls import chat_call
from og_chat.sdk.errors import MalformedPaymentHeader
from og_chat.sdk.types import DEFAULT_SETTLEMENT
from tests.conftest import load_vector


def test_spec_example_recovers_only_under_the_usdc_domain_name() -> None:
    v = load_vector("01_spec_v2_exact_eip3009_base_sepolia.json")
    required = x402.decode_payment_required(v["inputs"]["PAYMENT-REQUIRED_header_from_spec"])
    assert required.wire() == v["inputs"]["paymentRequired"]
    payload = x402.decode_payment_signature(v["inputs"]["PAYMENT-SIGNATURE_header_from_spec"])
    requirement = required.accepts[0]
    typed = signing.typed_data_for_payload(payload, requirement)
    sig = payload.payload["signature"]
    payer = payload.payload["authorization"]["from"]
    assert signing.recover_typed_data(typed, sig) == payer
    wrong = requirement.model_copy(update={"extra": {"name": "USD Coin", "version": "2"}})
    assert signing.recover_typed_data(signing.typed_data_for_payload(payload, wrong), sig) != payer


def test_v1_envelope_of_the_spec_decodes() -> None:
    v = load_vector("01_spec_v2_exact_eip3009_base_sepolia.json")
    payload = x402.decode_payment_signature(
        v["inputs"]["X-PAYMENT_header_from_v1_spec"], x402.X_PAYMENT
    )
    assert payload.x402_version == 1
    assert payload.network == "base-sepolia"
    assert x402.network_chain_id(payload.network) == 84532


def test_exact_eip3009_mainnet_signature_byte_for_byte() -> None:
    v = load_vector("02_pkg_v2_exact_eip3009_base_mainnet.json")
    inp, exp = v["inputs"], v["expected"]
    required = x402.decode_payment_required(inp["PAYMENT-REQUIRED_header"])
    signed = signing.sign_payment(
        inp["privateKey"],
        required,
        required.accepts[0],
        now=inp["clientNowUnix"],
        nonce=inp["nonce"],
    )
    assert signed.payload.wire() == exp["paymentPayload"]
    assert (
        x402.decode_payment_signature(exp["PAYMENT-SIGNATURE_header"]).wire()
        == exp["paymentPayload"]
    )
    # our header decodes to the same JSON (bytes may differ: key order is free)
    ours = x402.encode_payment_signature(signed.payload)
    assert x402.decode_payment_signature(ours).wire() == exp["paymentPayload"]
    digests: dict[str, Any] = exp.get("eip712", {})
    if "digest" in digests:
        assert signed.digest == digests["digest"]


def test_v1_exact_envelope_signature_byte_for_byte() -> None:
    v = load_vector("03_pkg_v1_exact_eip3009_base_sepolia.json")
    inp, exp = v["inputs"], v["expected"]
    body = inp["paymentRequiredBody"]
    required = x402.decode_payment_required_body(__import__("json").dumps(body))
    assert required is not None and required.x402_version == 1
    payload = exp["paymentPayload"]
    auth = payload["payload"]["authorization"]
    signed = signing.sign_payment(
        inp["privateKey"],
        required,
        required.accepts[0],
        now=inp["clientNowUnix"],
        nonce=auth["nonce"],
    )
    assert signed.payload.payload["signature"] == payload["payload"]["signature"]
    assert signed.payload.wire() == payload
    assert x402.decode_payment_signature(exp["X-PAYMENT_header"], x402.X_PAYMENT).wire() == payload


@pytest.mark.parametrize("case", ["exact_permit2", "upto_permit2"])
def test_permit2_payloads_and_digests(case: str) -> None:
    v = load_vector("04_pkg_v2_permit2_exact_and_upto.json")
    inp, c = v["inputs"], v[case]
    required = x402.PaymentRequired.model_validate(c["paymentRequired"])
    signed = signing.sign_payment(
        inp["privateKey"], required, required.accepts[0],
        now=inp["clientNowUnix"], nonce=inp["permit2NonceDecimal"], valid_after=0,
    )  # fmt: skip
    eip = c["expected"]["eip712"]
    assert signed.payload.wire() == c["expected"]["paymentPayload"]
    assert signed.digest == eip["digest"]
    typed = signing.typed_data_for_payload(signed.payload, required.accepts[0])
    assert signing.domain_separator(typed) == eip["domainSeparator"]
    assert signing.struct_hash(typed) == eip["structHash"]
    assert (
        signing.recover_typed_data(typed, signed.payload.payload["signature"])
        == inp["payerAddress"]
    )


def test_official_sdk_wire_capture_matches_field_by_field() -> None:
    rows = load_vector("06_og_sdk_wire_capture.jsonl")
    first, paid = rows[0], rows[1]
    assert first["body"] == {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 50,
        "temperature": 0.0,
    }
    assert first["headers"]["Authorization"].startswith("Bearer 0x1234567890abcdef")
    assert first["headers"]["X-SETTLEMENT-TYPE"] == "batch"
    decoded = x402.decode_payment_signature(paid["headers"]["PAYMENT-SIGNATURE"])
    assert decoded.wire() == paid["decoded_payment_signature"]
    # Re-sign the captured message with the capture's key: same signature (RFC 6979).
    auth = decoded.payload["permit2Authorization"]
    assert decoded.accepted is not None
    typed = signing.typed_data_for_payload(decoded, decoded.accepted)
    key = "0x" + "11" * 32
    assert signing.sign_typed_data(key, typed) == decoded.payload["signature"]
    assert signing.recover_typed_data(typed, decoded.payload["signature"]) == auth["from"]
    # And our own request body for the same call is the same JSON.
    call = chat_call(
        "anthropic/claude-haiku-4-5", [{"role": "user", "content": "hi"}], max_tokens=50,
        temperature=0.0, stop_sequence=None, tools=None, tool_choice=None,
        response_format=None, settlement=DEFAULT_SETTLEMENT, web_search=False, stream=False,
        conversation_id=None,
    )  # fmt: skip
    assert call.body == first["body"] and call.provider == "anthropic"
    assert call.model == "anthropic/claude-haiku-4-5" and call.mode == "batch"


def test_reference_verify_outcomes_signatures() -> None:
    """Vector 05: every case that hinges on the signature recovers (or not) as the reference says."""
    v = load_vector("05_reference_verify_outcomes.json")
    for case in v["cases"]:
        payload = x402.PaymentPayload.model_validate(case["paymentPayload"])
        requirement = x402.PaymentRequirements.model_validate(case["paymentRequirements"])
        expected = case["referenceVerifyResponse"]
        if (
            expected.get("invalidReason") != "invalid_exact_evm_payload_signature"
            and expected["isValid"]
        ):
            typed = signing.typed_data_for_payload(payload, requirement)
            signer = signing.recover_typed_data(
                typed, payload.payload["signature"], allow_high_s=True
            )
            assert signer == payload.payload["authorization"]["from"], case["name"]


@pytest.mark.parametrize(
    "value",
    ["", "!!!", "e30", "bm90IGpzb24=", "W10=", "A" * 70000],
)
def test_garbage_headers_raise_the_typed_error(value: str) -> None:
    with pytest.raises(MalformedPaymentHeader):
        x402.decode_payment_required(value)


# -- our EIP-712 hashing and secp256k1 signing against eth_account's ----------------------

_addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
_uints = st.integers(min_value=0, max_value=2**256 - 1)


@settings(max_examples=60, deadline=None)
@given(
    key=st.integers(min_value=1, max_value=2**255).map(lambda k: "0x" + k.to_bytes(32, "big").hex()),
    token=_addresses, to=_addresses, spender=_addresses, facilitator=_addresses,
    amount=_uints, nonce=_uints, deadline=_uints, valid_after=_uints,
    chain_id=st.integers(min_value=1, max_value=2**64),
)  # fmt: skip
def test_permit2_digests_and_signatures_equal_eth_accounts(
    key: str, token: str, to: str, spender: str, facilitator: str, amount: int, nonce: int,
    deadline: int, valid_after: int, chain_id: int,
) -> None:  # fmt: skip
    from eth_account import Account
    from eth_account.messages import encode_typed_data
    from eth_utils import to_checksum_address

    from og_chat.sdk import keys
    from og_chat.sdk.eth import checksum

    witness_type, witness = signing.permit2_witness("upto", to, facilitator)
    typed = signing.permit2_typed_data(
        witness_type, {**witness, "validAfter": valid_after}, chain_id=chain_id, token=token,
        amount=amount, spender=spender, nonce=nonce, deadline=deadline,
    )  # fmt: skip
    theirs = Account.sign_message(encode_typed_data(full_message=typed), key)
    assert signing.typed_data_digest(typed) == "0x" + bytes(theirs.message_hash).hex()
    assert signing.sign_typed_data(key, typed) == "0x" + bytes(theirs.signature).hex()
    assert signing.recover_typed_data(typed, signing.sign_typed_data(key, typed)) == (
        Account.from_key(key).address
    )
    assert keys.address_of(key) == Account.from_key(key).address
    assert checksum(token) == to_checksum_address(token)


@settings(max_examples=25, deadline=None)
@given(
    nonce=st.integers(0, 2**32),
    tip=st.integers(0, 10**12),
    fee=st.integers(0, 10**15),
    data=st.binary(max_size=100),
    chain_id=st.sampled_from([8453, 131277322940537, 1]),
)
def test_eip1559_transactions_equal_eth_accounts(
    nonce: int, tip: int, fee: int, data: bytes, chain_id: int
) -> None:
    """The sponsored approval's transaction, signed without eth_account, byte for byte."""
    from eth_account import Account

    from og_chat.sdk.keys import TxFees, sign_eip1559

    key = "0x" + "42" * 32
    to = "0x4200000000000000000000000000000000000006"
    fees = TxFees(nonce, max_fee=fee, max_priority_fee=tip)
    ours = sign_eip1559(key, chain_id=chain_id, fees=fees, gas=70_000, to=to, data=data)
    theirs = Account.sign_transaction(
        {"type": 2, "chainId": chain_id, "nonce": nonce, "to": to, "value": 0, "data": data,
         "gas": 70_000, "maxFeePerGas": fee, "maxPriorityFeePerGas": tip},
        key,
    ).raw_transaction  # fmt: skip
    assert ours == bytes(theirs)
