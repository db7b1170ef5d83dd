"""Every case of vectors/05 (the reference facilitator's verify outcomes) through our verify.

The cases are EIP-3009 payments on Base mainnet USDC, a chain the devnet is not. They
run with `chain_checks=False`: network, code, balance, nonce and simulation checks are
skipped, exactly as the reference was run to produce the vector (a mock chain where the
payer is an EOA, the asset has code and simulation succeeds). Everything else (scheme,
network match, domain, recipient, value, time window with the injected clock, signature
recovery under the requirement's domain) is checked for real. The on-chain half of the
checks is covered against the devnet in test_settlement.py.

One deliberate difference: the high-s signature case. The reference accepts it offline
(USDC then reverts on-chain); our verify refuses it up front, as our token would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from og_chat.devnet.chain import Chain
from og_chat.devnet.facilitator import Facilitator
from og_chat.sdk.x402 import PaymentPayload, PaymentRequirements

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"


def load_vector(name: str) -> Any:
    path = VECTORS / name
    if not path.exists():
        pytest.skip(f"shared vectors not present at {VECTORS}", allow_module_level=True)
    return json.loads(path.read_text())


CASES = load_vector("05_reference_verify_outcomes.json")
HIGH_S = "high_s_malleated_signature_ACCEPTED_offline_but_USDC_reverts_onchain"


def _expected(case: dict[str, Any]) -> dict[str, Any]:
    if case["name"] == HIGH_S:
        return {
            **case["referenceVerifyResponse"],
            "isValid": False,
            "invalidReason": "invalid_exact_evm_payload_signature",
        }
    return dict(case["referenceVerifyResponse"])


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
async def test_reference_verify_outcome(chain: Chain, case: dict[str, Any]) -> None:
    facilitator = Facilitator(chain, clock=lambda: case["facilitatorNowUnix"], chain_checks=False)
    payload = PaymentPayload.model_validate(case["paymentPayload"])
    requirements = PaymentRequirements.model_validate(case["paymentRequirements"])

    result = await facilitator.verify(payload, requirements)

    expected = _expected(case)
    assert result.is_valid is expected["isValid"]
    assert result.invalid_reason == expected.get("invalidReason")
    assert result.payer == expected["payer"]


@pytest.mark.parametrize(
    "case", CASES["spec_vector_cases"], ids=[c["name"] for c in CASES["spec_vector_cases"]]
)
async def test_spec_vector_verify_outcome(chain: Chain, case: dict[str, Any]) -> None:
    spec = load_vector("01_spec_v2_exact_eip3009_base_sepolia.json")
    payload, requirements = _spec_payload(spec)
    facilitator = Facilitator(chain, clock=lambda: case["facilitatorNowUnix"], chain_checks=False)

    result = await facilitator.verify(payload, requirements)

    expected = case["referenceVerifyResponse"]
    assert result.is_valid is expected["isValid"]
    assert result.invalid_reason == expected.get("invalidReason")
    assert result.payer == expected["payer"]


def _spec_payload(spec: dict[str, Any]) -> tuple[PaymentPayload, PaymentRequirements]:
    """vectors/01's decoded payload; its requirement is the one it accepted (domain name "USDC")."""
    payload = PaymentPayload.model_validate(spec["expected"]["paymentPayload"])
    assert payload.accepted is not None
    return payload, payload.accepted
