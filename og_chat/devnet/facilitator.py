"""An x402 v2 facilitator that verifies and settles on the devnet chain.

Schemes: `exact` over EIP-3009 (`transferWithAuthorization` on the token), `exact`
over Permit2 (`x402ExactPermit2Proxy`), and `upto` over Permit2
(`x402UptoPermit2Proxy`, the scheme OpenGradient's gateway uses); their checks live
in schemes.py. This module is the facilitator around them: `/supported`, `/verify`
and `/settle` over HTTP, nonce reservations, and settlement.

A `(payer, nonce)` is reserved from a successful verify until it settles or its
authorization expires: a second, different payload reusing that nonce is refused at
verify instead of failing later at settle. Every settlement is a real transaction from
the devnet operator whose receipt is read back, and it succeeds only if the token's
`Transfer` events in it move exactly the charge from the payer to `payTo`.

Settle is idempotent for the same request: the same payload, requirement and amount
settled twice returns the first transaction instead of broadcasting again. A different
request for the same nonce (another amount, say) is never answered from that cache: it
goes to the chain, where the nonce is already used.

The gateway calls `verify` / `settle` in-process and `hold()`s the nonce of every
session it opens. The public `/verify` and `/settle` routes serve stock x402 clients
for their own payments, but refuse a held nonce: a payer cannot settle its open
session for less than the gateway will charge it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from og_chat.sdk.x402 import (
    FacilitatorRequest,
    PaymentPayload,
    PaymentRequirements,
    SettleResponse,
    VerifyResponse,
)

from .chain import Chain
from .indexer import IndexedLog, TxResult
from .node import RpcError
from .schemes import (
    NONCE_ALREADY_USED,
    PERMIT2_INVALID_NONCE,
    TRANSACTION_FAILED,
    TRANSFER_EVENT_MISMATCH,
    UNEXPECTED_SETTLE_ERROR,
    Plan,
    SchemeChecks,
    nonce_key,
    payer_of,
)
from .sessions import remember
from .sponsoring import KEY as APPROVAL_SPONSORING, broadcast

if TYPE_CHECKING:
    from aiohttp import web

_Action = Callable[
    [PaymentPayload, PaymentRequirements], Awaitable[VerifyResponse | SettleResponse]
]
SETTLE_GAS = 300_000
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
"""topic0 of ERC-20 `Transfer(address,address,uint256)`."""
SETTLEMENT_REFUSED = UNEXPECTED_SETTLE_ERROR
"""What `refuse_settlement=True` answers: the spec's generic settle failure."""
HELD_BY_SESSION = (
    "this authorization opened a session on the devnet gateway; the gateway settles it "
    "(for what the session was charged) when the session closes"
)


class Facilitator:
    """x402 v2 facilitator (`/supported`, `/verify`, `/settle`) settling on a devnet `Chain`.

    `refuse_settlement=True` makes every settle fail (fault injection). `clock` replaces
    the chain clock for time-window checks; `chain_checks=False` skips everything that
    needs the chain (network, code, allowance, balance, nonce, simulation), like the
    reference facilitator run against a mock chain; settle then refuses.
    """

    def __init__(
        self,
        chain: Chain,
        *,
        refuse_settlement: bool = False,
        clock: Callable[[], int] | None = None,
        chain_checks: bool = True,
    ) -> None:
        self.chain = chain
        self.refuse_settlement = refuse_settlement
        self.address = chain.operator.address
        self.network = f"eip155:{chain.chain_id}"
        self.checks = SchemeChecks(
            chain.node,
            facilitator=self.address,
            clock=clock or chain.chain_time,
            chain_checks=chain_checks,
        )
        self._lock = threading.Lock()
        self._reserved: dict[tuple[str, str, int], tuple[str, int]] = {}
        self._settled: OrderedDict[str, SettleResponse] = OrderedDict()
        """Successful settlements by `_fingerprint(payload, requirements)`."""
        self._inflight: dict[str, cf.Future[SettleResponse]] = {}
        self._held: OrderedDict[tuple[str, str, int], str] = OrderedDict()
        """Nonces of the gateway's sessions: settled only in-process, by the gateway."""

    # -- API ---------------------------------------------------------------------------

    def supported(self) -> dict[str, Any]:
        """The `/supported` document."""
        return {
            "kinds": [
                {"x402Version": 2, "scheme": "exact", "network": self.network},
                {
                    "x402Version": 2,
                    "scheme": "upto",
                    "network": self.network,
                    "extra": {"facilitatorAddress": self.address},
                },
            ],
            "extensions": [APPROVAL_SPONSORING],
            "signers": {"eip155:*": [self.address]},
        }

    async def verify(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> VerifyResponse:
        """Check a payment without moving funds; reserves its nonce when valid."""
        plan = await self.chain.run(
            lambda _: self.checks.check(payload, requirements, settling=False)
        )
        if plan.reason is None and plan.key is not None:
            clash = self._reserve(plan)
            if clash:
                plan.reason = clash
        if plan.reason is not None:
            return VerifyResponse(
                isValid=False,
                invalidReason=plan.reason,
                invalidMessage=plan.message,
                payer=plan.payer,
            )
        return VerifyResponse(isValid=True, payer=plan.payer)

    async def settle(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> SettleResponse:
        """Settle on-chain and read the receipt back (upto: `requirements.amount` is the charge)."""
        network = requirements.network
        if self.refuse_settlement:
            return self._failure(
                network,
                payer_of(payload),
                SETTLEMENT_REFUSED,
                "this devnet facilitator was started with refuse_settlement=True",
            )
        if not self.checks.chain_checks:
            return self._failure(
                network, payer_of(payload), UNEXPECTED_SETTLE_ERROR, "chain checks are off"
            )
        fingerprint = _fingerprint(payload, requirements)
        with self._lock:
            done = self._settled.get(fingerprint)
            if done is not None:
                return done
            running = self._inflight.get(fingerprint)
            owner = running is None
            if running is None:
                running = cf.Future()
                self._inflight[fingerprint] = running
        if not owner:
            return await asyncio.wrap_future(running)
        try:
            result = await self._settle(payload, requirements)
        except BaseException as exc:
            running.set_exception(exc)
            with self._lock:
                self._inflight.pop(fingerprint, None)
            raise
        key = nonce_key(payload)
        with self._lock:
            if result.success:
                remember(self._settled, fingerprint, result)
                if key is not None:
                    self._reserved.pop(key, None)
            self._inflight.pop(fingerprint, None)
        running.set_result(result)
        return result

    def hold(self, payload: PaymentPayload) -> None:
        """The gateway opened a session on this payload: only the gateway settles its nonce."""
        key = nonce_key(payload)
        if key is not None:
            with self._lock:
                remember(self._held, key, str(payload.payload.get("signature", "")))

    def held(self, payload: PaymentPayload) -> bool:
        """Whether the payload's nonce belongs to one of the gateway's sessions."""
        key = nonce_key(payload)
        return key is not None and key in self._held

    async def verify_public(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> VerifyResponse:
        """`POST /verify`: `verify`, except for a nonce a gateway session holds."""
        if self.held(payload):
            return VerifyResponse(
                isValid=False,
                invalidReason=_nonce_taken(payload),
                invalidMessage=HELD_BY_SESSION,
                payer=payer_of(payload),
            )
        return await self.verify(payload, requirements)

    async def settle_public(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> SettleResponse:
        """`POST /settle`: `settle`, except for a nonce a gateway session holds."""
        if self.held(payload):
            return self._failure(
                requirements.network, payer_of(payload), _nonce_taken(payload), HELD_BY_SESSION
            )
        return await self.settle(payload, requirements)

    def add_routes(self, app: web.Application, prefix: str = "") -> None:
        """Mount `GET /supported`, `POST /verify` and `POST /settle` under `prefix`."""
        from aiohttp import web

        async def supported(_: web.Request) -> web.Response:
            return web.json_response(self.supported())

        def endpoint(action: _Action) -> Callable[[web.Request], Awaitable[web.Response]]:
            async def handle(request: web.Request) -> web.Response:
                body = await _parse_request(request)
                if isinstance(body, web.Response):
                    return body
                result = await action(body.payment_payload, body.payment_requirements)
                return web.json_response(result.wire())

            return handle

        base = prefix.rstrip("/")
        app.router.add_get(f"{base}/supported", supported)
        app.router.add_post(f"{base}/verify", endpoint(self.verify_public))
        app.router.add_post(f"{base}/settle", endpoint(self.settle_public))

    # -- settle --------------------------------------------------------------------------

    async def _settle(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> SettleResponse:
        network = requirements.network

        def check_and_send() -> tuple[Plan, cf.Future[TxResult] | None]:
            plan = self.checks.check(payload, requirements, settling=True)
            if plan.reason is not None or plan.amount == 0:
                return plan, None
            if plan.sponsor is not None:  # the approval goes first, into the same block
                refused = broadcast(plan.sponsor, self.chain.operator)
                if refused is not None:
                    plan.reason, plan.message = refused
                    return plan, None
            return plan, self.chain.operator.queue(plan.to, plan.data, gas=SETTLE_GAS)

        try:
            plan, fut = await self.chain.run(lambda _: check_and_send())
        except RpcError as exc:
            return self._failure(network, payer_of(payload), TRANSACTION_FAILED, exc.message)
        amount = str(plan.amount)
        if plan.reason is not None:
            return self._failure(network, plan.payer, plan.reason, plan.message)
        if fut is None:  # upto with nothing to charge: no transaction
            return SettleResponse(
                success=True, transaction="", network=network, payer=plan.payer, amount="0"
            )
        result = await asyncio.wrap_future(fut)
        if result.status != 1:
            # Name the failed check the way verify would (nonce used, balance, allowance, …).
            diagnosis = await self.chain.run(
                lambda _: self.checks.check(payload, requirements, settling=False)
            )
            return self._failure(
                network,
                plan.payer,
                diagnosis.reason or TRANSACTION_FAILED,
                diagnosis.message or "the settlement transaction reverted",
                transaction=result.tx_hash,
            )
        logs = self.chain.index.logs_of(result.tx_hash)
        moved = _transferred(logs, requirements.asset, plan.payer, requirements.pay_to)
        if moved != plan.amount:
            return self._failure(
                network,
                plan.payer,
                TRANSFER_EVENT_MISMATCH,
                f"the settlement moved {moved} to payTo, the charge is {plan.amount}",
                transaction=result.tx_hash,
            )
        return SettleResponse(
            success=True,
            transaction=result.tx_hash,
            network=network,
            payer=plan.payer,
            amount=amount,
        )

    @staticmethod
    def _failure(
        network: str, payer: str, reason: str, message: str | None = None, *, transaction: str = ""
    ) -> SettleResponse:
        """A failed settlement, naming the reason (and the transaction when one was mined)."""
        return SettleResponse(
            success=False,
            transaction=transaction,
            network=network,
            payer=payer,
            errorReason=reason,
            errorMessage=message,
        )

    def _reserve(self, plan: Plan) -> str | None:
        """Hold (payer, nonce) for this payload; a reason string if another payload holds it."""
        assert plan.key is not None
        now = int(time.time())
        with self._lock:
            for key in [k for k, (_, exp) in self._reserved.items() if exp < now - 60]:
                del self._reserved[key]
            held = self._reserved.get(plan.key)
            if held is not None and held[0] != plan.signature:
                return PERMIT2_INVALID_NONCE if plan.key[0] == "permit2" else NONCE_ALREADY_USED
            self._reserved[plan.key] = (plan.signature, plan.expires)
        return None


def _fingerprint(payload: PaymentPayload, requirements: PaymentRequirements) -> str:
    """What a settlement's result depends on: the whole payload and the whole requirement
    (its amount included), so no other request is ever answered from the cache."""
    both = json.dumps([payload.wire(), requirements.wire()], sort_keys=True, default=str)
    return hashlib.sha256(both.encode()).hexdigest()


def _nonce_taken(payload: PaymentPayload) -> str:
    """The scheme's 'nonce already used' reason."""
    key = nonce_key(payload)
    return PERMIT2_INVALID_NONCE if key is not None and key[0] == "permit2" else NONCE_ALREADY_USED


def _transferred(logs: list[IndexedLog], asset: str, payer: str, pay_to: str) -> int:
    """The sum of the token's `Transfer(payer → pay_to)` amounts among a transaction's logs."""
    total = 0
    for log in logs:
        if (
            len(log.topics) == 3
            and log.topics[0] == TRANSFER_TOPIC
            and log.address.lower() == asset.lower()
            and int(log.topics[1], 16) == int(payer, 16)
            and int(log.topics[2], 16) == int(pay_to, 16)
        ):
            total += int(log.data, 16) if log.data not in ("", "0x") else 0
    return total


async def _parse_request(request: web.Request) -> FacilitatorRequest | web.Response:
    from aiohttp import web
    from pydantic import ValidationError

    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return web.json_response({"error": "the body is not valid JSON"}, status=400)
    if not isinstance(data, dict):
        return web.json_response({"error": "the body must be a JSON object"}, status=400)
    try:
        return FacilitatorRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return web.json_response(
            {"error": f"malformed facilitator request: {where}: {first.get('msg', 'invalid')}"},
            status=400,
        )
