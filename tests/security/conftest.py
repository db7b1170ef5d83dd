"""A real devnet and a hostile gateway double for the security tests.

The devnet is shared by the directory; tests that change what it answers
(a swapped TEE key, a hostile responder) put it back before they end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from og_chat.cli import main
from og_chat.devnet import Devnet
from tests.sdk.gateway_double import GatewayDouble


@pytest.fixture(scope="session")
def devnet() -> Iterator[Devnet]:
    """Unpaced answers, 1 s idle settlement, one-leaf batches."""
    net = Devnet.start(tokens_per_second=0, session_idle=1.0, batch_size=1, batch_interval=0.5)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="session")
def double() -> Iterator[GatewayDouble]:
    gateway = GatewayDouble()
    yield gateway
    gateway.stop()


@pytest.fixture
def gw(double: GatewayDouble) -> GatewayDouble:
    """The double with every knob reset and nothing recorded yet."""
    double.knobs = type(double.knobs)()
    double.payments.clear()
    double.requests.clear()
    double.sessions.clear()
    return double


@dataclass
class Result:
    """What one `og-chat` invocation did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def og(
    devnet: Devnet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """`og("ask", "hi")` runs the CLI in-process against the shared devnet."""
    monkeypatch.setenv("OG_DEVNET_URL", devnet.url)

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
