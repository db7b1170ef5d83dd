"""The fields a gateway's answer carries, checked before anything is built from them.

A paid answer's TEE fields, usage and settlement ids come from the server; a
hostile one sends `"usage": {"total_tokens": "lots"}`, `tee_timestamp: 1e400`
(JSON's infinity), `2**300` or `tee_id: 7`. Each would reach `int()`, `word()` or
`str.lower()` further down and leave as a builtin exception. Here every field is
checked for the type and range the rest of the client relies on; anything else is
`MalformedAnswer`, which the client turns into a `GatewayError` carrying the
call's receipt. The JSON answer (`calls.read_answer`) and every SSE event
(`stream.StreamAssembler`) go through the same checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .eth import parse_uint

TEE_FIELDS = ("tee_signature", "tee_timestamp", "tee_request_hash", "tee_output_hash")
"""What the TEE signs an answer with."""
TEXT_FIELDS = (
    "tee_signature", "tee_request_hash", "tee_output_hash", "tee_id",
    "data_settlement_transaction_hash", "data_settlement_blob_id",
)  # fmt: skip
"""Fields that are text when present."""
SETTLEMENT_TX_HEADER = "x-settlement-tx-hash"
BLOB_ID_HEADER = "x-settlement-walrus-blob-id"
MAX_TIMESTAMP = 2**63 - 1
"""Largest `tee_timestamp` accepted (seconds; anything larger is no time)."""
MAX_TOKENS = 2**53
"""Largest token count accepted (what a JSON number holds exactly)."""
USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")


class MalformedAnswer(ValueError):
    """An answer field that is not what the protocol sends; `reason` names it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def timestamp(value: object) -> int:
    """A `tee_timestamp` as whole seconds: an int, a finite integral float, ASCII digits or
    ISO-8601 text, within 0..2**63-1; MalformedAnswer otherwise."""
    if isinstance(value, bool):
        raise MalformedAnswer("tee_timestamp is a boolean")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise MalformedAnswer(f"tee_timestamp {_shown(value)} is not a whole number")
        value = int(value)
    if isinstance(value, int):
        if not 0 <= value <= MAX_TIMESTAMP:
            raise MalformedAnswer(f"tee_timestamp {_shown(value)} is out of range")
        return value
    if not isinstance(value, str):
        raise MalformedAnswer(f"tee_timestamp is a {type(value).__name__}")
    text = value.strip()
    if text.isascii() and text.isdecimal():
        try:
            return timestamp(parse_uint(text))
        except ValueError:
            raise MalformedAnswer(f"tee_timestamp {_shown(text)} is out of range") from None
    from datetime import datetime

    try:
        seconds = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):
        raise MalformedAnswer(f"tee_timestamp {_shown(text)} is not a time") from None
    return timestamp(int(seconds))


def token_count(name: str, value: object) -> int:
    """One usage count: a non-negative int (or ASCII digits); None and absent are 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise MalformedAnswer(f"usage.{name} is a boolean")
    if isinstance(value, str):
        try:
            value = parse_uint(value.strip())
        except ValueError:
            raise MalformedAnswer(f"usage.{name} {_shown(value)} is not a number") from None
    if not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
        raise MalformedAnswer(f"usage.{name} {_shown(value)} is not a token count")
    return value


def usage_counts(usage: object) -> tuple[int, int, int] | None:
    """(prompt, completion, total) of a `usage` object; None when there is none."""
    if usage is None:
        return None
    if not isinstance(usage, Mapping):
        raise MalformedAnswer(f"usage is a {type(usage).__name__}, not an object")
    prompt, completion, total = (token_count(n, usage.get(n)) for n in USAGE_FIELDS)
    return prompt, completion, total


def check_fields(fields: Mapping[str, Any]) -> None:
    """Check the TEE and settlement fields of an answer (or of one SSE event)."""
    for name in TEXT_FIELDS:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise MalformedAnswer(f"{name} is a {type(value).__name__}, not text")
    if fields.get("tee_timestamp") is not None:
        timestamp(fields["tee_timestamp"])
    usage_counts(fields.get("usage"))
    finish = fields.get("finish_reason")
    if finish is not None and not isinstance(finish, str):
        raise MalformedAnswer(f"finish_reason is a {type(finish).__name__}")
    images = fields.get("images")
    if images is not None and not (
        isinstance(images, list) and all(isinstance(i, str) for i in images)
    ):
        raise MalformedAnswer("images is not a list of strings")


def check_choices(choices: object, *, required: bool) -> list[Any]:
    """`choices` as a list (absent is empty unless `required`); MalformedAnswer otherwise."""
    if choices is None and not required:
        return []
    if not isinstance(choices, list):
        raise MalformedAnswer(f"choices is a {type(choices).__name__}, not a list")
    for choice in choices:
        if not isinstance(choice, Mapping):
            raise MalformedAnswer("a choice is not an object")
        finish = choice.get("finish_reason")
        if finish is not None and not isinstance(finish, str):
            raise MalformedAnswer(f"finish_reason is a {type(finish).__name__}")
    return choices


def settlement_tx(fields: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The data-settlement transaction an answer names (its body, else its headers)."""
    found = fields.get("data_settlement_transaction_hash") or headers.get(SETTLEMENT_TX_HEADER)
    return str(found) if found else None


def blob_id(fields: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The Walrus blob id an answer names (its body, else its headers)."""
    found = fields.get("data_settlement_blob_id") or headers.get(BLOB_ID_HEADER)
    return str(found) if found else None
