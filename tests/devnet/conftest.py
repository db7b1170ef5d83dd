"""One devnet for the whole devnet test session; per-test fresh payers.

The devnet is real: py-evm chain, the facilitator, the gateway on a loopback
port. Tests that need exact balances get a fresh funded account of their own,
so settlements of other tests' sessions never move the numbers they check.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from og_chat.devnet import Devnet
from tests.devnet.paying_client import ONE_OPG, Payer, signed_approval

POOL_SIZE = 64

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
    """The shared devnet: unpaced answers, 1 s idle settlement, small quick batches.

    It also funds (in genesis) and approves a pool of fresh payer accounts in a
    few blocks, so tests don't spend a block or two each making their own.
    """
    from eth_account import Account

    keys = ["0x" + os.urandom(32).hex() for _ in range(POOL_SIZE)]
    addresses = [Account.from_key(k).address for k in keys]
    net = Devnet.start(
        tokens_per_second=0,
        session_idle=SESSION_IDLE,
        batch_size=4,
        batch_interval=0.5,
        fund=[(a, 100 * ONE_OPG) for a in addresses],
    )
    try:

        async def approve_all() -> None:  # sent together, so they share one block
            raws = [signed_approval(net, k) for k in keys]
            results = await asyncio.gather(*(net.chain.send_raw_transaction(r) for r in raws))
            assert all(r.status == 1 for r in results)

        asyncio.run(approve_all())
        net.payer_pool = [Payer(net, k, a) for k, a in zip(keys, addresses, strict=True)]  # type: ignore[attr-defined]
        yield net
    finally:
        net.stop()


@pytest.fixture(autouse=True)
def _faults_off(devnet: Devnet) -> Iterator[None]:
    """Every test starts and ends with no fault switched on."""
    devnet.faults.update(FAULTS_OFF)
    yield
    devnet.faults.update(FAULTS_OFF)


@pytest.fixture
async def payer(devnet: Devnet) -> Payer:
    """A fresh funded, approved payer for this test alone."""
    pool: list[Payer] = devnet.payer_pool  # type: ignore[attr-defined]
    assert pool, f"more than {POOL_SIZE} tests took a payer; raise POOL_SIZE"
    return pool.pop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for loopback calls."""
    async with httpx.AsyncClient(timeout=30) as c:
        yield c
