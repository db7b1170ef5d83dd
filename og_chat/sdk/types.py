"""The types of the official SDK's `opengradient.types`, under the same names.

Tutorial code imports them from here, so this module gathers them: what a call
takes (the settlement mode, `ResponseFormat`) is defined here; what it returns
lives in `outputs.py` and `receipt.py` (below the exceptions, which carry them)
and is re-exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .errors import ConfigurationError
from .outputs import (
    StreamChoice as StreamChoice,
    StreamChunk as StreamChunk,
    StreamDelta as StreamDelta,
    StreamUsage as StreamUsage,
    TextGenerationOutput as TextGenerationOutput,
)
from .receipt import (
    RECEIPT_SCHEMA as RECEIPT_SCHEMA,
    PaymentStatus as PaymentStatus,
    Receipt as Receipt,
    SignatureStatus as SignatureStatus,
)


class x402SettlementMode(str, Enum):
    """How the call's metadata is settled on-chain; sent as `X-SETTLEMENT-TYPE`."""

    PRIVATE = "private"
    """Payment only: no input/output hashes are posted."""
    BATCH_HASHED = "batch"
    """Hashes go into a Merkle tree whose root is posted on-chain (default)."""
    INDIVIDUAL_FULL = "individual"
    """One transaction per call carrying its metadata."""


SETTLEMENT_MODES = {m.value: m for m in x402SettlementMode}

DEFAULT_MAX_TOKENS = 100
DEFAULT_TEMPERATURE = 0.0
DEFAULT_SETTLEMENT = x402SettlementMode.BATCH_HASHED
"""The official SDK's defaults for a call, in one place (`LLM.chat` takes them; the TUI
shows the temperature before the client is loaded)."""


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
        raise ConfigurationError(
            f"unknown settlement mode {value!r}", hint="use private, batch or individual"
        ) from None


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


@dataclass
class Permit2ApprovalResult:
    """Outcome of `ensure_opg_approval`, in base units (18 decimals)."""

    allowance_before: int
    allowance_after: int
    tx_hash: str | None = None
