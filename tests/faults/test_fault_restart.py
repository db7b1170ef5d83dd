"""A devnet restarted under a running client, on the same port.

The new devnet is a new chain with a new TEE key: the old session is gone, the
allowance is gone, and answers are signed by a key the client has not seen.
The client must say so clearly, recover by re-challenging (its next payment
carries a gas-sponsored approval for the new chain: no step for the user),
trust the new TEE only because the registry lists it, and lose no receipt on
the way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from og_chat.app.runtime import Runtime
from og_chat.devnet import Devnet
from og_chat.sdk.errors import GatewayError
from og_chat.sdk.network_choice import NetworkRequest
from tests.faults.fault_helpers import Answer, ask, stored


def _start(port: int = 0) -> Devnet:
    return Devnet.start(port=port, tokens_per_second=0, session_idle=30.0, batch_interval=0.5)


def _port(devnet: Devnet) -> int:
    return int(devnet.url.rsplit(":", 1)[1])


@pytest.fixture
async def first_devnet() -> AsyncIterator[Devnet]:
    net = await asyncio.to_thread(_start)
    try:
        yield net
    finally:
        await asyncio.to_thread(net.stop)


async def _restart(net: Devnet) -> Devnet:
    port = _port(net)
    await asyncio.to_thread(net.stop)
    return await asyncio.to_thread(_start, port)


async def _recover(runtime: Runtime) -> Answer:
    """After the restart the chain is new and the allowance gone: the next payment carries a
    gas-sponsored approval, so the user has nothing to do."""
    before = runtime.llm.signatures_made
    answer = await ask(runtime)
    assert answer.receipt.approval_tx
    assert runtime.llm.signatures_made == before + 1
    return answer


@pytest.mark.parametrize("call_while_down", [True, False], ids=["call-while-down", "no-call"])
async def test_restarted_devnet_gives_a_clear_error_then_recovers(
    first_devnet: Devnet, call_while_down: bool
) -> None:
    runtime = await Runtime.open(request=NetworkRequest("devnet", first_devnet.url))
    second: Devnet | None = None
    try:
        old = await ask(runtime)
        old_tee = old.receipt.tee_id
        assert runtime.llm.signatures_made == 1
        if call_while_down:
            await asyncio.to_thread(first_devnet.stop)
            with pytest.raises(GatewayError) as info:
                await ask(runtime)
            assert "cannot reach the gateway" in str(info.value) and "try again" in str(info.value)
            assert runtime.llm.signatures_made == 1  # nothing was signed for an unreachable TEE
            second = await asyncio.to_thread(_start, _port(first_devnet))
        else:
            second = await _restart(first_devnet)
        assert second.url == first_devnet.url and second.tee.tee_id != old_tee

        new = await _recover(runtime)
        assert new.receipt.signature_status == "verified"  # the new TEE, found in the registry
        assert new.receipt.tee_id == second.tee.tee_id
        assert runtime.llm.signatures_made == 2  # first call, recovered call
        again = await ask(runtime)
        assert runtime.llm.signatures_made == 2  # the new session carries on
        assert again.receipt.upto_session == new.receipt.upto_session

        kept = stored(runtime.receipts)
        assert {old.receipt.id, new.receipt.id, again.receipt.id} <= kept.keys()
        assert kept[old.receipt.id].tee_id == old_tee
        assert kept[old.receipt.id].output_text == old.text
        assert [r.payment_status for r in kept.values()].count("refused") == 0
    finally:
        await runtime.close()
        if second is not None:
            await asyncio.to_thread(second.stop)


async def test_an_answer_signed_by_an_unregistered_key_still_fails(first_devnet: Devnet) -> None:
    """Re-reading the registry is not a way around it: a key nobody registered is refused."""
    from og_chat.devnet.tee import TeeKeys
    from og_chat.sdk.errors import VerificationFailed

    runtime = await Runtime.open(request=NetworkRequest("devnet", first_devnet.url))
    try:
        await ask(runtime)
        first_devnet.gateway.tee = TeeKeys.generate(("127.0.0.1",))  # swapped, not registered
        with pytest.raises(VerificationFailed) as info:
            await ask(runtime)
        assert "do not trust this answer" in str(info.value)
        kept = list(stored(runtime.receipts).values())
        assert kept[-1].signature_status == "failed"
    finally:
        await runtime.close()
