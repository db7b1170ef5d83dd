"""One real devnet for the fault tests, and an og-chat runtime paying on it.

Faults are flipped on the shared devnet at runtime (`devnet.faults`), and every
test starts and ends with all of them off. Tests that restart a devnet start
their own, so the shared one never goes away under another test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from og_chat.app.runtime import Runtime
from og_chat.devnet import Devnet
from og_chat.sdk.network_choice import NetworkRequest

SESSION_IDLE = 1.0
FAULTS_OFF = {
    "drop_after_tokens": None,
    "status_5xx": None,
    "first_byte_delay": 0.0,
    "malformed_sse": False,
    "refuse_settlement": False,
}


@pytest.fixture(scope="session")
def devnet() -> Iterator[Devnet]:
    """Unpaced answers, 1 s idle settlement, small batches posted every 0.5 s."""
    net = Devnet.start(
        tokens_per_second=0, session_idle=SESSION_IDLE, batch_size=2, batch_interval=0.5
    )
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(autouse=True)
def _faults_off(devnet: Devnet) -> Iterator[None]:
    devnet.faults.update(FAULTS_OFF)
    yield
    devnet.faults.update(FAULTS_OFF)


@pytest.fixture
async def runtime(devnet: Devnet) -> AsyncIterator[Runtime]:
    """The runtime the TUI and the CLI share, on the shared devnet, with its own receipt store."""
    rt = await Runtime.open(request=NetworkRequest("devnet", devnet.url))
    try:
        yield rt
    finally:
        await rt.close()
