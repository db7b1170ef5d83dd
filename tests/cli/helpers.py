"""Helpers for the CLI tests (fixtures live in conftest.py)."""

from __future__ import annotations

import uuid
from typing import Any


def unique_prompt(text: str = "tell me about receipts") -> str:
    """Batch leaves are looked up by request hash, so each test asks something of its own."""
    return f"{text} ({uuid.uuid4().hex[:8]})"


def ask_json(og: Any, *extra: str) -> dict[str, Any]:
    """Ask once with --json; the parsed document (asserting success)."""
    result = og(
        "ask", "--json", "-m", "gpt-4.1-mini", "--max-tokens", "60", *extra, unique_prompt()
    )
    assert result.code == 0, result.err
    doc: dict[str, Any] = result.json()
    return doc


def settle(og: Any, wait: float = 8.0) -> Any:
    """Run `receipts sync` until nothing is pending (the devnet settles after 1 s idle)."""
    result = og("receipts", "sync", "--wait", str(wait))
    assert result.code == 0, result.err
    return result
