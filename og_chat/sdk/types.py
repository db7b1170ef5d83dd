"""Typed results of `LLM.chat`: outputs, stream chunks and receipts.

Names and fields follow the official SDK (`opengradient.types`) so tutorial code
runs unchanged; og-chat adds the TEE hashes, the verification status and a
`Receipt` for every paid call.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class x402SettlementMode(str, Enum):
    """How the call's metadata is settled on-chain; sent as `X-SETTLEMENT-TYPE`."""

    PRIVATE = "private"
    """Payment only: no input/output hashes are posted."""
    BATCH_HASHED = "batch"
    """Hashes go into a Merkle tree whose root is posted on-chain (default)."""
    INDIVIDUAL_FULL = "individual"
    """One transaction per call carrying its metadata."""


SETTLEMENT_MODES = {m.value: m for m in x402SettlementMode}


def settlement_mode(value: str | x402SettlementMode) -> x402SettlementMode:
    """Accept a mode by value (`batch`) or enum name (`BATCH_HASHED`)."""
    if isinstance(value, x402SettlementMode):
        return value
    key = value.strip()
    if key.lower() in SETTLEMENT_MODES:
        return SETTLEMENT_MODES[key.lower()]
    try:
        return x402SettlementMode[key.upper()]
    except KeyError:
        from .errors import ConfigurationError

        raise ConfigurationError(
            f"unknown settlement mode {value!r}", hint="use private, batch or individual"
        ) from None


class SignatureStatus(str, Enum):
    """Outcome of checking a response's `tee_signature`."""

    VERIFIED = "verified"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


class PaymentStatus(str, Enum):
    """Where a call's payment stands."""

    SETTLED = "settled"
    PENDING = "pending"
    FAILED = "failed"
    REFUSED = "refused"


@dataclass
class ResponseFormat:
    """Structured-output request, as in the official SDK."""

    type: str
    json_schema: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.type not in ("text", "json_object", "json_schema"):
            raise ValueError("ResponseFormat.type must be text, json_object or json_schema")
        if self.type == "json_schema" and not self.json_schema:
            raise ValueError("ResponseFormat(type='json_schema') needs json_schema")

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out: dict[str, Any] = {"type": self.type}
        if self.json_schema is not None:
            out["json_schema"] = self.json_schema
        return out


RECEIPT_SCHEMA = 1


@dataclass
class Receipt:
    """What was asked, what came back and what was paid, for one call.

    Written before the call returns; later facts (settlement, proofs) are
    appended as events by the store, never by rewriting.
    """

    id: str
    created_at: float
    model: str
    provider: str
    network: str
    endpoint: str
    settlement_mode: str
    schema: int = RECEIPT_SCHEMA
    conversation_id: str | None = None
    tee_id: str | None = None
    request_hash: str | None = None
    output_hash: str | None = None
    tee_signature: str | None = None
    tee_timestamp: int | None = None
    signature_status: str = SignatureStatus.UNAVAILABLE.value
    signature_detail: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    price_opg: str | None = None
    """Gateway price for this call in OPG (decimal string), when it tells us."""
    charged_opg: str | None = None
    """Amount actually settled for this call in OPG, when known."""
    scheme: str | None = None
    asset: str | None = None
    pay_to: str | None = None
    authorization_cap: str | None = None
    """The signed maximum, in base units."""
    nonce: str | None = None
    deadline: int | None = None
    payer: str | None = None
    upto_session: str | None = None
    authorization_digest: str | None = None
    payment_hash: str | None = None
    """Settlement tx hash when known, else the authorization digest."""
    payment_status: str = PaymentStatus.PENDING.value
    payment_tx: str | None = None
    data_settlement_tx: str | None = None
    batch_root_tx: str | None = None
    batch_root: str | None = None
    merkle_proof: list[str] | None = None
    merkle_leaf: str | None = None
    blob_id: str | None = None
    output_text: str | None = None
    """The answer as signed (content, or tool calls as sorted JSON), to re-check output_hash."""
    finish_reason: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt:
        """Build from a dict, ignoring keys this version does not know."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def cost_opg(self) -> str | None:
        """What the call cost in OPG: the charged amount once known, else the quoted price."""
        return self.charged_opg or self.price_opg

    @property
    def tee_ok(self) -> bool | None:
        """True/False when the signature was checked, None when it could not be."""
        if self.signature_status == SignatureStatus.VERIFIED.value:
            return True
        if self.signature_status == SignatureStatus.FAILED.value:
            return False
        return None


@dataclass
class TextGenerationOutput:
    """Result of a non-streamed `chat` call (official SDK shape, plus og-chat fields)."""

    data_settlement_transaction_hash: str | None = None
    data_settlement_blob_id: str | None = None
    finish_reason: str | None = None
    chat_output: dict[str, Any] | None = None
    completion_output: str | None = None
    images: list[str] | None = None
    usage: dict[str, Any] | None = None
    payment_hash: str | None = None
    tee_signature: str | None = None
    tee_timestamp: int | str | None = None
    tee_id: str | None = None
    tee_endpoint: str | None = None
    tee_payment_address: str | None = None
    tee_request_hash: str | None = None
    tee_output_hash: str | None = None
    signature_status: SignatureStatus = SignatureStatus.UNAVAILABLE
    receipt: Receipt | None = None


@dataclass
class StreamDelta:
    """Incremental content of one streamed choice."""

    content: str | None = None
    role: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


@dataclass
class StreamChoice:
    """One choice of a stream chunk."""

    delta: StreamDelta = field(default_factory=StreamDelta)
    index: int = 0
    finish_reason: str | None = None


@dataclass
class StreamUsage:
    """Token counts, reported on the final chunk."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass
class StreamChunk:
    """One server-sent event of a streamed answer; always has at least one choice."""

    choices: list[StreamChoice] = field(default_factory=lambda: [StreamChoice()])
    model: str = "unknown"
    usage: StreamUsage | None = None
    is_final: bool = False
    tee_signature: str | None = None
    tee_timestamp: int | str | None = None
    tee_id: str | None = None
    tee_endpoint: str | None = None
    tee_payment_address: str | None = None
    tee_request_hash: str | None = None
    tee_output_hash: str | None = None
    data_settlement_transaction_hash: str | None = None
    data_settlement_blob_id: str | None = None
    images: list[str] | None = None
    payment_hash: str | None = None
    signature_status: SignatureStatus | None = None
    receipt: Receipt | None = None
    """Set on the final chunk of a paid call."""


@dataclass
class Permit2ApprovalResult:
    """Outcome of `ensure_opg_approval`, in base units (18 decimals)."""

    allowance_before: int
    allowance_after: int
    tx_hash: str | None = None
