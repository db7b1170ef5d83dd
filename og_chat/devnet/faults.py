"""Failure switches for the devnet gateway, so clients can be tested against a misbehaving TEE.

Kept apart from the gateway so `og_chat.devnet.Faults` imports without aiohttp.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

MAX_FIRST_BYTE_DELAY = 600.0
"""Seconds: longer than any client waits for a first byte."""
MAX_DROP_AFTER_TOKENS = 10**9


def _checked(name: str, value: Any) -> Any:
    """One switch's value, validated (ValueError says what it must be)."""
    if name in ("malformed_sse", "refuse_settlement"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if name == "first_byte_delay":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= MAX_FIRST_BYTE_DELAY
        ):
            raise ValueError(
                f"first_byte_delay must be a number of seconds from 0 to {MAX_FIRST_BYTE_DELAY:g}"
            )
        return float(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer or null")
    if name == "status_5xx" and not 500 <= value <= 599:
        raise ValueError("status_5xx must be between 500 and 599")
    if name == "drop_after_tokens" and not 0 <= value <= MAX_DROP_AFTER_TOKENS:
        raise ValueError(f"drop_after_tokens must be from 0 to {MAX_DROP_AFTER_TOKENS}")
    return value


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
        """Set fields from JSON, checking names, types and ranges; ValueError names the bad one.

        All or nothing: one bad value leaves every switch as it was. NaN, infinities and
        values out of range are refused (a delay of NaN seconds would stall no call, and
        one of 1e300 every call).
        """
        fields = {f.name for f in dataclasses.fields(self)}
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if name not in fields:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(fields))}")
            checked[name] = _checked(name, value)
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """The switches as JSON."""
        return dataclasses.asdict(self)
