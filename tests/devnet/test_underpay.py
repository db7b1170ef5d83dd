"""A hostile payer cannot underpay the devnet: it counts what moved on-chain after each try.

The payer opens an upto session with a real paid call, then tries to settle that very
authorization itself over the public `/settle` for 1 base unit (or for the full
amount, or verify it elsewhere), before the gateway settles it. Every try must move
nothing; the gateway's own settlement must then move exactly what the session was
charged, once, and record exactly that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from og_chat.devnet import Devnet
from og_chat.devnet.facilitator import HELD_BY_SESSION, Facilitator
from og_chat.sdk.signing import sign_payment
from og_chat.sdk.x402 import PaymentRequired, PaymentRequirements
from tests.devnet.paying_client import ONE_OPG, Payer, chat_body, make_payer, rpc

TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    """A devnet whose sessions stay open (60 s idle) while the payer attacks them."""
    with Devnet.start(tokens_per_second=0, session_idle=60) as devnet:
        yield devnet


async def _moved_from(client: httpx.AsyncClient, devnet: Devnet, payer: str) -> list[int]:
    """Every OPG amount that ever left `payer`, read from the chain's Transfer logs."""
    logs = await rpc(
        client,
        devnet.url,
        "eth_getLogs",
        [
            {
                "fromBlock": "0x0",
                "address": devnet.chain.addresses.opg,
                "topics": [TRANSFER, "0x" + "00" * 12 + payer[2:].lower()],
            }
        ],
    )
    return [int(log["data"], 16) for log in logs]


async def _open_session(client: httpx.AsyncClient, payer: Payer) -> tuple[str, Any, Any]:
    answer = await payer.post(client, chat_body())
    assert answer.status_code == 200, answer.text
    assert payer.last_payment is not None and payer.last_required is not None
    return answer.headers["x-upto-session"], payer.last_payment.payload, payer.last_required


async def test_a_payer_cannot_settle_its_own_open_session_for_less(devnet: Devnet) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        payer = await make_payer(devnet)
        session_id, payload, required = await _open_session(client, payer)
        charged = int((await client.get(f"{devnet.url}/v1/payments/{session_id}")).json()["amount"])
        assert charged > 1
        requirement = required.accepts[0].wire()
        before = await devnet.chain.operator.opg_balance(payer.address)

        for amount in ("1", str(charged), requirement["amount"]):
            body = {
                "x402Version": 2,
                "paymentPayload": payload.wire(),
                "paymentRequirements": {**requirement, "amount": amount},
            }
            settle = (await client.post(f"{devnet.url}/settle", json=body)).json()
            assert settle["success"] is False and settle["errorMessage"] == HELD_BY_SESSION
            verify = (await client.post(f"{devnet.url}/verify", json=body)).json()
            assert verify["isValid"] is False and verify["invalidMessage"] == HELD_BY_SESSION
        assert await devnet.chain.operator.opg_balance(payer.address) == before
        assert await _moved_from(client, devnet, payer.address) == []

        records = devnet.settle_open_sessions()
        record = next(r for r in records if r["session_id"] == session_id)
        assert record["status"] == "settled" and record["amount"] == str(charged)
        assert before - await devnet.chain.operator.opg_balance(payer.address) == charged
        assert await _moved_from(client, devnet, payer.address) == [charged]

        # Closed and settled: a replay of the public settle still moves nothing.
        body = {
            "x402Version": 2,
            "paymentPayload": payload.wire(),
            "paymentRequirements": {**requirement, "amount": "1"},
        }
        assert (await client.post(f"{devnet.url}/settle", json=body)).json()["success"] is False
        assert await _moved_from(client, devnet, payer.address) == [charged]


async def test_a_session_settles_once_even_when_asked_twice(devnet: Devnet) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        payer = await make_payer(devnet)
        session_id, _, _ = await _open_session(client, payer)
        session = devnet.gateway.sessions[session_id]

        async def twice() -> list[Any]:
            payments = devnet.gateway.payments
            return list(await asyncio.gather(payments.settle(session), payments.settle(session)))

        first, second = devnet.run(twice())
        assert first == second and first["status"] == "settled"
        assert await _moved_from(client, devnet, payer.address) == [int(first["amount"])]


async def test_settle_results_are_keyed_by_payload_requirement_and_amount(devnet: Devnet) -> None:
    """In-process, as the gateway calls it: another amount for the same nonce is not a
    cache hit; it goes to the chain, where the nonce is spent, and moves nothing."""
    facilitator = Facilitator(devnet.chain)
    async with httpx.AsyncClient(timeout=30) as client:
        payer = await make_payer(devnet)
        requirement = PaymentRequirements(
            scheme="upto", network=f"eip155:{devnet.chain_id}", amount=str(ONE_OPG),
            asset=devnet.chain.addresses.opg, payTo=devnet.accounts[9].address,
            maxTimeoutSeconds=3600,
            extra={"name": "OpenGradient", "version": "1", "assetTransferMethod": "permit2",
                   "facilitatorAddress": facilitator.address},
        )  # fmt: skip
        signed = sign_payment(
            payer.private_key, PaymentRequired(x402Version=2, accepts=[requirement]), requirement
        )
        small = requirement.model_copy(update={"amount": "1000"})
        large = requirement.model_copy(update={"amount": "2000"})

        async def settle(req: PaymentRequirements) -> Any:
            return await facilitator.settle(signed.payload, req)

        first = await settle(small)
        assert first.success and first.amount == "1000"
        other = await settle(large)
        assert other.success is False and other.transaction != first.transaction
        again = await settle(small)
        assert again.success and again.transaction == first.transaction
        assert await _moved_from(client, devnet, payer.address) == [1000]
