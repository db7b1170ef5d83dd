"""One real devnet for the CLI tests, and a helper that runs `og_chat.cli.main` in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from og_chat.cli import main
from og_chat.devnet import Devnet


@pytest.fixture(scope="session")
def devnet() -> Iterator[Devnet]:
    """Unpaced answers, 1 s idle settlement, one-leaf batches posted every 0.5 s."""
    net = Devnet.start(tokens_per_second=0, session_idle=1.0, batch_size=1, batch_interval=0.5)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(autouse=True)
def _use_devnet(devnet: Devnet, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every CLI call in a test talks to the shared devnet; faults are off before and after."""
    monkeypatch.setenv("OG_DEVNET_URL", devnet.url)
    devnet.faults.update(
        {"status_5xx": None, "drop_after_tokens": None, "refuse_settlement": False}
    )
    yield
    devnet.faults.update(
        {"status_5xx": None, "drop_after_tokens": None, "refuse_settlement": False}
    )


@dataclass
class Result:
    """What one `og-chat` invocation did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def og(capsys: pytest.CaptureFixture[str]) -> Any:
    """`og("ask", "--json", "hi")` runs the CLI in-process and returns its exit code and output."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
