"""A real devnet for the settlement tracker tests, and a runtime paying on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from og_chat.app.runtime import Runtime
from og_chat.devnet import Devnet
from og_chat.sdk.network_choice import NetworkRequest


@pytest.fixture(scope="session")
def devnet() -> Iterator[Devnet]:
    """Unpaced answers, 1 s idle settlement, small batches posted every 0.5 s."""
    net = Devnet.start(tokens_per_second=0, session_idle=1.0, batch_size=2, batch_interval=0.5)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture
async def runtime(devnet: Devnet) -> AsyncIterator[Runtime]:
    """An og-chat runtime on the shared devnet, with its own receipt store (OG_CHAT_HOME)."""
    devnet.faults.update({"refuse_settlement": False})
    rt = await Runtime.open(request=NetworkRequest("devnet", devnet.url))
    try:
        yield rt
    finally:
        await rt.close()
        devnet.faults.update({"refuse_settlement": False})
