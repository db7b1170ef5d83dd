"""Failure switches for the devnet gateway, so clients can be tested against a misbehaving TEE.

Kept apart from the gateway so `og_chat.devnet.Faults` imports without aiohttp.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class Faults:
    """Failure switches, all off by default; flip them at runtime from tests or `/devnet/faults`."""

    drop_after_tokens: int | None = None
    """Close the connection after this many answer tokens (no final event, no [DONE])."""
    status_5xx: int | None = None
    """Answer paid calls with this 5xx status and a JSON error (not charged)."""
    first_byte_delay: float = 0.0
    """Seconds to wait before the first byte of a served answer."""
    malformed_sse: bool = False
    """Emit garbage SSE lines and `{"error": "Stream processing failed"}` instead of the end."""
    refuse_settlement: bool = False
    """The facilitator refuses to settle; sessions are recorded as failed."""

    def update(self, values: dict[str, Any]) -> None:
        """Set fields from JSON, checking names and types; ValueError names the bad one."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        for name, value in values.items():
            if name not in fields:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(fields)}")
            if name in ("malformed_sse", "refuse_settlement"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif name == "first_byte_delay":
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError("first_byte_delay must be a number of seconds ≥ 0")
                value = float(value)
            elif value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name} must be an integer or null")
            elif name == "status_5xx" and value is not None and not 500 <= value <= 599:
                raise ValueError("status_5xx must be between 500 and 599")
            elif name == "drop_after_tokens" and value is not None and value < 0:
                raise ValueError("drop_after_tokens must be ≥ 0")
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """The switches as JSON."""
        return dataclasses.asdict(self)
