"""Shared fixtures for the TUI tests: a private OG_CHAT_HOME per test, one devnet per session."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["TZ"] = "UTC"
time.tzset()
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture(autouse=True)
def og_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config and data live in a fresh directory; no key from the environment leaks in."""
    home = tmp_path / "og-home"
    monkeypatch.setenv("OG_CHAT_HOME", str(home))
    monkeypatch.delenv("OG_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("OG_DEVNET_URL", raising=False)
    monkeypatch.delenv("OG_NETWORK", raising=False)
    return home


@pytest.fixture(scope="session")
def devnet() -> Iterator[Any]:
    """One in-process devnet for every TUI test; instant answers (tokens_per_second=0)."""
    from og_chat.devnet import Devnet

    dn = Devnet.start(tokens_per_second=0, batch_interval=0.5, batch_size=2, session_idle=1.0)
    try:
        yield dn
    finally:
        dn.stop()


async def wait_until(pilot: Any, predicate: Any, timeout: float = 15.0, what: str = "") -> None:
    """Let the app run until `predicate()` holds (instead of guessing pause lengths)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)
