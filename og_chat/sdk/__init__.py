"""og_chat.sdk: an async client for OpenGradient's x402 LLM gateway.

A drop-in for the official tutorial code: `import og_chat.sdk as og`, then
`og.LLM(private_key=...)`, `llm.ensure_opg_approval(...)`, `await llm.chat(...)`.
Importing this package loads neither Textual, Rich, web3 nor eth_account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    ChainError,
    ConfigurationError,
    GatewayError,
    MalformedPaymentHeader,
    OGError,
    PaymentError,
    PaymentRefused,
    PaymentRequired,
    ReceiptStoreUnavailable,
    SpendCapExceeded,
    StreamInterrupted,
    UntrustedNetwork,
    VerificationFailed,
)
from .models import CATALOGUE, PROVIDERS, TEE_LLM, ModelInfo, resolve_model
from .outputs import StreamChoice, StreamChunk, StreamDelta, StreamUsage, TextGenerationOutput
from .receipt import PaymentStatus, Receipt, SignatureStatus
from .types import Permit2ApprovalResult, ResponseFormat, x402SettlementMode

if TYPE_CHECKING:
    from .client import LLM

__all__ = [
    "CATALOGUE",
    "LLM",
    "PROVIDERS",
    "TEE_LLM",
    "ChainError",
    "ConfigurationError",
    "GatewayError",
    "MalformedPaymentHeader",
    "ModelInfo",
    "OGError",
    "PaymentError",
    "PaymentRefused",
    "PaymentRequired",
    "PaymentStatus",
    "Permit2ApprovalResult",
    "Receipt",
    "ReceiptStoreUnavailable",
    "ResponseFormat",
    "SignatureStatus",
    "SpendCapExceeded",
    "StreamChoice",
    "StreamChunk",
    "StreamDelta",
    "StreamInterrupted",
    "StreamUsage",
    "TextGenerationOutput",
    "UntrustedNetwork",
    "VerificationFailed",
    "resolve_model",
    "x402SettlementMode",
]


def __getattr__(name: str) -> Any:
    # The client pulls in httpx; load it when first asked for.
    if name == "LLM":
        from .client import LLM

        return LLM
    raise AttributeError(f"module 'og_chat.sdk' has no attribute {name!r}")
