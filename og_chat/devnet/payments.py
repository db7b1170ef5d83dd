"""Paying for calls: the 402 challenge, opening and reusing upto sessions, charging, settling.

An unpaid call gets a 402 with an x402 v2 `upto` challenge (og-sdk-wire.md §5.2–5.7);
a paid call opens a session (`X-Upto-Session`) that later calls on the same route
reuse until it is idle or exhausted, when the reaper settles the accumulated cost
on-chain in one Permit2 transfer through the facilitator.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from typing import Any

from aiohttp import web

from og_chat.sdk.errors import MalformedPaymentHeader
from og_chat.sdk.eth import checksum, parse_uint
from og_chat.sdk.networks import APPROVAL_SPONSORING
from og_chat.sdk.pricing import devnet_price_table, table_cost
from og_chat.sdk.signing import typed_data_digest, typed_data_for_payload
from og_chat.sdk.x402 import (
    PAYMENT_REQUIRED,
    PAYMENT_SIGNATURE,
    UPTO_SESSION,
    PaymentPayload,
    PaymentRequired,
    PaymentRequirements,
    ResourceInfo,
    decode_payment_signature,
    encode_payment_required,
)

from .background import Background
from .gateway_config import GatewayConfig
from .gateway_host import GatewayHost
from .http_errors import BadRequest, error_response
from .sessions import Session, SessionBook, SettlementRecord

log = logging.getLogger("og_chat.devnet.gateway")

SESSION_EXPIRED = "Session expired or exhausted"
DEADLINE_MARGIN = 60
"""Seconds before an authorization's deadline a busy session is settled anyway: time for
the settlement to be checked, queued and mined before the deadline passes."""
EXTENSIONS: dict[str, Any] = {
    APPROVAL_SPONSORING: {
        "info": {
            "description": (
                "The facilitator accepts a raw signed approval transaction "
                "and will sponsor the gas fees."
            ),
            "version": "1",
        },
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "from": {"type": "string", "pattern": "^0x[a-fA-F0-9]{40}$"},
                "asset": {"type": "string", "pattern": "^0x[a-fA-F0-9]{40}$"},
                "spender": {"type": "string", "pattern": "^0x[a-fA-F0-9]{40}$"},
                "amount": {"type": "string", "pattern": "^[0-9]+$"},
                "signedTransaction": {"type": "string", "pattern": "^0x[a-fA-F0-9]+$"},
                "version": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)*$"},
            },
            "required": ["from", "asset", "spender", "amount", "signedTransaction", "version"],
        },
    }
}
"""As the live gateway declares (og-sdk-wire.md §5.3); the devnet facilitator honours it
(sponsoring.py: the signed approval is broadcast just before the session's settlement)."""


def build_requirement(
    *, chain_id: int, asset: str, pay_to: str, facilitator: str, config: GatewayConfig
) -> PaymentRequirements:
    """The upto requirement the gateway's 402 asks every client to accept."""
    return PaymentRequirements(
        scheme="upto",
        network=f"eip155:{chain_id}",
        asset=checksum(asset),
        amount=str(config.session_cap),
        payTo=checksum(pay_to),
        maxTimeoutSeconds=config.max_timeout_seconds,
        extra={
            "name": "OpenGradient",
            "version": "1",
            "assetTransferMethod": "permit2",
            "facilitatorAddress": checksum(facilitator),
        },
    )


class Payments:
    """The payment side of every paid call: which session pays, what it costs, settlement."""

    def __init__(self, host: GatewayHost, book: SessionBook, background: Background) -> None:
        self.host = host
        self.book = book
        self.background = background
        self.prices = devnet_price_table()
        """The table `/devnet` publishes: what every call is charged by."""

    # -- cost --------------------------------------------------------------------------

    def cost(self, model_id: str, prompt_tokens: int, completion_tokens: int) -> int:
        """Base units for one call of a catalogue model (sdk.pricing's formula)."""
        cost = table_cost(self.prices, model_id, prompt_tokens, completion_tokens)
        if cost is None:
            raise KeyError(f"the devnet has no price for {model_id!r}")
        return cost

    def charge(self, session: Session, cost: int) -> int:
        """Add one finished call to the session (never past its cap); what was charged.

        A session whose settlement has begun is charged nothing more: what it settles is
        exactly what it accumulated.
        """
        if session.status != "open":
            return 0
        cost = min(cost, session.cap - session.accumulated)
        session.accumulated += cost
        session.calls += 1
        return cost

    # -- which session pays ----------------------------------------------------------------

    async def session_for(self, request: web.Request, estimate: int) -> Session | web.Response:
        """The session paying for this call, or the response refusing it (402, 400)."""
        signature = request.headers.get(PAYMENT_SIGNATURE)
        if signature:
            return await self._open(request, signature)
        if request.headers.get(UPTO_SESSION):
            candidate = self.book.sessions.get(request.headers[UPTO_SESSION].strip())
            if (
                candidate is None
                or candidate.status != "open"
                or candidate.route != (request.method, request.path)
                or candidate.accumulated + candidate.reserved + estimate > candidate.cap
                or time.time() + DEADLINE_MARGIN >= candidate.deadline
            ):
                return error_response(402, SESSION_EXPIRED, headers={"Cache-Control": "no-store"})
            return candidate
        return self.challenge(request, "PAYMENT-SIGNATURE header is required")

    def challenge(self, request: web.Request, error: str) -> web.Response:
        """The 402 with the x402 v2 `PAYMENT-REQUIRED` header, saying `error`."""
        description = (
            "Chat completion" if request.path.endswith("chat/completions") else "Completion"
        )
        required = PaymentRequired(
            x402Version=2,
            error=error,
            resource=ResourceInfo(
                url=self.host.base_url + request.path,
                description=description,
                mimeType="application/json",
            ),
            accepts=[self.host.requirement],
            extensions=EXTENSIONS,
        )
        return web.json_response(
            {"error": error},
            status=402,
            headers={
                PAYMENT_REQUIRED: encode_payment_required(required),
                "Cache-Control": "no-store",
                "Access-Control-Expose-Headers": "PAYMENT-REQUIRED, PAYMENT-RESPONSE",
            },
        )

    def _mismatch(self, accepted: PaymentRequirements | None) -> str | None:
        """None when `accepted` is our requirement (x402-evm.md §2 rules), else why not."""
        if accepted is None:
            return "payload has no 'accepted' requirement (x402 v2 expected)"
        ours = self.host.requirement
        for name in ("scheme", "network", "amount", "asset", "pay_to"):
            if str(getattr(accepted, name)) != str(getattr(ours, name)):
                if name == "network":
                    return "network_mismatch"
                return "No matching payment requirements"
        if str(accepted.max_timeout_seconds) != str(ours.max_timeout_seconds):
            return "No matching payment requirements"
        for k, v in ours.extra.items():
            if accepted.extra.get(k) != v:
                return "No matching payment requirements"
        return None

    async def _open(self, request: web.Request, header: str) -> Session | web.Response:
        """Decode, match, verify a fresh payment and open its session (or say why not)."""
        try:
            payload = decode_payment_signature(header)
        except MalformedPaymentHeader as exc:
            raise BadRequest(400, str(exc)) from None
        if payload.x402_version != 2:
            return self.challenge(request, "x402 v2 PAYMENT-SIGNATURE expected")
        key = hashlib.sha256(header.encode()).hexdigest()
        if self.book.header_used(key):
            return self.challenge(
                request, "payment already used: this authorization opened a session before"
            )
        mismatch = self._mismatch(payload.accepted)
        if mismatch:
            return self.challenge(request, mismatch)
        try:
            auth = payload.payload["permit2Authorization"]
            payer = str(auth["from"])
            nonce = parse_uint(auth["nonce"])
            deadline = int(auth["deadline"])
        except (KeyError, TypeError, ValueError):
            raise BadRequest(
                400, "PAYMENT-SIGNATURE payload lacks permit2Authorization.from/nonce"
            ) from None
        if self.book.nonce_used(payer, nonce):
            return self.challenge(request, "permit2_nonce_already_used")
        requirement = self.host.requirement
        # Held before it is verified: from now on only the gateway can settle this nonce,
        # so the payer cannot settle its own session for less over the public /settle.
        self.host.facilitator.hold(payload)
        try:
            verdict = await self.host.facilitator.verify(payload, requirement)
        except Exception as exc:
            log.exception("facilitator verify failed")
            return error_response(502, f"facilitator verify failed: {exc}")
        if not verdict.is_valid:
            reason = verdict.invalid_reason or "invalid_payment"
            if verdict.invalid_message:
                reason = f"{reason}: {verdict.invalid_message}"
            return self.challenge(request, reason)
        if self.book.header_used(key) or self.book.nonce_used(payer, nonce):
            return self.challenge(request, "payment already used")  # raced
        now = time.monotonic()
        session = Session(
            id=str(uuid.uuid4()),
            key=key,
            payload=payload,
            requirements=payload.accepted or requirement,
            payer=payer,
            nonce=str(nonce),
            digest=_digest(payload, requirement),
            cap=requirement.amount_int,
            route=(request.method, request.path),
            created=now,
            last_used=now,
            deadline=deadline,
        )
        self.book.open(session)
        return session

    # -- settling ----------------------------------------------------------------------------

    def settle_later(self, session: Session) -> None:
        """Mark the session settling and settle it in the background."""
        session.status = "settling"
        self.background.spawn(self.settle(session))

    def reap(self) -> None:
        """Settle every session that is exhausted, idle or near its authorization's deadline."""
        now = time.monotonic()
        for s in list(self.book.sessions.values()):
            if s.status != "open" or s.in_flight:
                continue
            expiring = bool(s.deadline) and time.time() + DEADLINE_MARGIN >= s.deadline
            idle = now - s.last_used >= self.host.config.session_idle
            if s.accumulated >= s.cap or expiring or idle:
                self.settle_later(s)

    async def settle(self, session: Session) -> SettlementRecord:
        """Settle the session's accumulated cost on-chain in one go, record it, close it.

        Once: a second call (the reaper and a shutdown at the same time) waits for the
        first settlement's record instead of settling again.
        """
        if session.settlement is None:
            session.settlement = asyncio.ensure_future(self._settle(session))
        return await asyncio.shield(session.settlement)

    async def _settle(self, session: Session) -> SettlementRecord:
        session.status = "settling"
        amount = min(session.accumulated, session.cap)
        requirements = session.requirements.model_copy(update={"amount": str(amount)})
        record = session.record(amount=amount, status="failed")
        facilitator = self.host.facilitator
        facilitator.refuse_settlement = self.host.faults.refuse_settlement
        try:
            result = await facilitator.settle(session.payload, requirements)
            if result.success and result.amount == str(amount):
                record["status"] = "settled"
                record["tx_hash"] = result.transaction or None
            elif result.success:  # never recorded as paid for what did not move
                record["error"] = f"the facilitator settled {result.amount}, not {amount}"
                record["tx_hash"] = result.transaction or None
            else:
                reason = result.error_reason or "settlement_failed"
                if result.error_message:
                    reason = f"{reason}: {result.error_message}"
                record["error"] = reason
        except Exception as exc:
            log.warning("settling session %s failed: %s", session.id, exc)
            record["error"] = str(exc)
        record["settled_at"] = int(time.time())
        self.book.close(session, record)
        return record


def _digest(payload: PaymentPayload, requirement: PaymentRequirements) -> str:
    """EIP-712 digest of the authorization: the payment's id until its settlement tx exists."""
    try:
        return typed_data_digest(typed_data_for_payload(payload, requirement))
    except Exception:
        return (
            "0x" + hashlib.sha256(json.dumps(payload.wire(), sort_keys=True).encode()).hexdigest()
        )
