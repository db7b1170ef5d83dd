"""The hostile gateway (one per session, its plan reset for every test) and the CLI, in-process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from og_chat.cli import main
from tests.hostile.gateway import HostileGateway


@pytest.fixture(scope="session")
def _server() -> Iterator[HostileGateway]:
    server = HostileGateway()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hostile(_server: HostileGateway) -> HostileGateway:
    """The hostile gateway with the default plan and nothing recorded yet."""
    return _server.reset()


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's OG_CHAT_HOME (the isolated one tests/conftest.py set)."""
    import os

    return Path(os.environ["OG_CHAT_HOME"])


@dataclass
class Result:
    """What one `og-chat` invocation did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def og(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`og("ask", "hi")` runs the CLI in-process (stdin and stdout are not terminals)."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
