"""What `LLM.chat` returns: the non-streamed output and the chunks of a stream.

Names and fields follow the official SDK (`opengradient.types`); og-chat adds the
TEE hashes, the verification status and the receipt. Below the exceptions, so
that `VerificationFailed` can carry the answer that failed to verify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .receipt import Receipt, SignatureStatus


@dataclass
class TeeAttestation:
    """What the TEE signed an answer with (the official SDK's `tee_*` fields)."""

    tee_signature: str | None = None
    tee_timestamp: int | str | None = None
    tee_id: str | None = None
    tee_endpoint: str | None = None
    tee_payment_address: str | None = None
    tee_request_hash: str | None = None
    tee_output_hash: str | None = None


@dataclass
class TextGenerationOutput(TeeAttestation):
    """Result of a non-streamed `chat` call (official SDK shape, plus og-chat fields)."""

    data_settlement_transaction_hash: str | None = None
    data_settlement_blob_id: str | None = None
    finish_reason: str | None = None
    chat_output: dict[str, Any] | None = None
    completion_output: str | None = None
    images: list[str] | None = None
    usage: dict[str, Any] | None = None
    payment_hash: str | None = None
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
class StreamChunk(TeeAttestation):
    """One server-sent event of a streamed answer; always has at least one choice."""

    choices: list[StreamChoice] = field(default_factory=lambda: [StreamChoice()])
    model: str = "unknown"
    usage: StreamUsage | None = None
    is_final: bool = False
    data_settlement_transaction_hash: str | None = None
    data_settlement_blob_id: str | None = None
    images: list[str] | None = None
    payment_hash: str | None = None
    signature_status: SignatureStatus | None = None
    receipt: Receipt | None = None
    """Set on the final chunk of a paid call."""
