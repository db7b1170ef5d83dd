"""Fixtures for the store tests: a private data directory and realistic receipts."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from og_chat.sdk.types import Receipt
from og_chat.store.paths import data_dir


@pytest.fixture(autouse=True)
def _no_store_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OG_THEME", "OG_MAX_OPG_PER_CALL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def home() -> Path:
    """The isolated OG_CHAT_HOME the root conftest set up."""
    return Path(os.environ["OG_CHAT_HOME"])


@pytest.fixture
def data(home: Path) -> Path:
    """The data directory inside it, created."""
    return data_dir(create=True)


def _make_receipt(rid: str, **fields: object) -> Receipt:
    """A receipt shaped like a paid batch call's."""
    values: dict[str, object] = {
        "id": rid,
        "created_at": time.time(),
        "model": "anthropic/claude-haiku-4-5",
        "provider": "anthropic",
        "network": "eip155:8453",
        "endpoint": "https://gateway.example/v1/chat/completions",
        "settlement_mode": "batch",
        "request_hash": "0x" + "ab" * 32,
        "output_hash": "0x" + "cd" * 32,
        "authorization_digest": "0x" + "ef" * 32,
        "payment_hash": "0x" + "ef" * 32,
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "total_tokens": 30,
    }
    values.update(fields)
    return Receipt(**values)  # type: ignore[arg-type]


MakeReceipt = Callable[..., Receipt]


@pytest.fixture
def make_receipt() -> MakeReceipt:
    """Build a receipt: ``make_receipt("id", field=value, ...)``."""
    return _make_receipt
