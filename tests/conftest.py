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


SERIAL = ("tests/cli/test_concurrent_first_runs.py", "tests/store/test_crash.py", "tests/terminal/")
"""Run one after another on one xdist worker: the hundred `og-chat ask` processes take both
cores for a minute, and the crash test and the real-terminal tests measure their progress by
the clock (a starved terminal never settles within its wait)."""


SHARED = {
    "tests/tui/test_snapshots.py": "snapshots",
    "tests/tui/test_feature_snapshots.py": "snapshots",
}
"""Files that share one fixed path (the snapshots' OG_CHAT_HOME, shown on screen) share a
worker, so one never removes the other's home mid-test."""


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`--dist loadgroup` (pyproject's addopts): a file's tests share a worker (module
    fixtures start once), and the clock-bound files share one worker between them."""
    for item in items:
        path = item.nodeid.split("::")[0]
        serial = any(path.startswith(prefix) for prefix in SERIAL)
        item.add_marker(pytest.mark.xdist_group("serial" if serial else SHARED.get(path, path)))
