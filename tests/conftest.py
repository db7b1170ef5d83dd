"""Shared test setup: where the shared vectors live, and an isolated OG_CHAT_HOME."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
VECTORS = REPO.parent / "shared" / "vectors"


def load_vector(name: str) -> Any:
    """A file from ../shared/vectors, decoded (JSON or JSON lines)."""
    path = VECTORS / name
    if not path.exists():
        pytest.skip(f"shared vectors not present at {VECTORS}")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return json.loads(path.read_text())


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test touches the real ~/.config or ~/.local; no stray key or network setting leaks in."""
    home = tmp_path_factory.mktemp("og-home")
    monkeypatch.setenv("OG_CHAT_HOME", str(home))
    for var in ("OG_PRIVATE_KEY", "OG_NETWORK", "OG_DEVNET_URL", "OG_MODEL", "OG_SETTLEMENT_MODE"):
        monkeypatch.delenv(var, raising=False)
