"""Paying for a request over x402, as an httpx auth flow.

The shape is httpx's `DigestAuth`: send the request; on a 402, read the
challenge, sign once, send it again with the signature. Around that sit the
rules that keep a wallet safe: every requirement passes the payment policy
before anything is signed, one request is never signed for twice, and an upto
session is reused for as long as the gateway honours it.

The flow never sees a transport failure (httpx raises it past the flow), so it
records in a `PaymentTrace` what the request rode on; the client reads the trace
to tell a failure before paying from one after it, and never retries the latter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol

import httpx

from . import keys
from .bodies import MAX_CHALLENGE_BYTES, aread_capped, read_capped
from .calls import PaymentTrace
from .errors import MalformedPaymentHeader, OGError, PaymentError, PaymentRequired, error_reason
from .networks import NetworkProfile
from .policy import PaymentPolicy
from .signing import PreparedPayment, SignedPayment, prepare_payment
from .sink import Durable, already_durable
from .sponsoring import ApprovalSponsor
from .trust import key_kind, signing_allowed
from .x402 import (
    PAYMENT_REQUIRED,
    PAYMENT_RESPONSE,
    PAYMENT_SIGNATURE,
    UPTO_SESSION,
    X_PAYMENT,
    X_PAYMENT_RESPONSE,
    PaymentRequired as PaymentRequiredDoc,
    decode_payment_required,
    decode_payment_required_body,
    decode_payment_response,
    encode_payment_signature,
)

EXPOSE_PAYMENT_HEADERS = f"{PAYMENT_RESPONSE},{X_PAYMENT_RESPONSE}"
"""Sent with a payment, as the official client does, so a browser-facing gateway shows them."""


class Secret:
    """Holds the private key so that no repr, log line or traceback shows it."""

    __slots__ = ("_address", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._address: str | None = None

    def get(self) -> str:
        """The key itself (for signing only)."""
        return self._value

    @property
    def address(self) -> str:
        """The key's checksummed address, derived once."""
        if self._address is None:
            self._address = keys.address_of(self._value)
        return self._address

    def __repr__(self) -> str:
        return "<private key hidden>"

    __str__ = __repr__


class Payer:
    """One wallet paying on one network under one policy: the only place a payment is signed.

    It cannot be built for a network the key may not sign for (`trust.signing_allowed`).
    """

    def __init__(
        self,
        key: Secret,
        profile: NetworkProfile,
        policy: PaymentPolicy,
        sponsor: ApprovalSponsor | None = None,
        trusted: frozenset[str] = frozenset(),
    ) -> None:
        signing_allowed(
            profile, key_kind(key.get()), trusted,
            what=f"payment authorizations (Permit2, chain {profile.chain_id}, token {profile.opg})",
        )  # fmt: skip
        self.key = key
        self.profile = profile
        self.policy = policy
        self.sponsor = sponsor
        """Signs a gas-sponsored Permit2 approval into a payment when the allowance is short
        (None: never; the caller decides where a transaction may be signed)."""
        self.signatures_made = 0
        """Authorizations signed so far (never more than one per request)."""

    def prepare(self, required: PaymentRequiredDoc) -> PreparedPayment:
        """Choose the first requirement the policy accepts and fix its nonce and deadline;
        PaymentRefused signs nothing."""
        requirement = self.policy.choose(required)
        profile = self.profile
        spender = (
            profile.upto_proxy if requirement.scheme == "upto" else profile.exact_permit2_proxy
        )
        try:
            return prepare_payment(
                self.key.address, required, requirement, permit2=profile.permit2, spender=spender
            )
        except OGError:
            raise
        except Exception as exc:  # a malformed field the policy could not see; no key in it
            raise PaymentError(f"could not sign the payment: {exc}") from None

    def sign_prepared(self, prepared: PreparedPayment) -> SignedPayment:
        """Sign what `prepare` chose, with a gas-sponsored approval in it when the allowance
        is short and the sponsor allows one (blocking then: it reads the allowance)."""
        approval = None
        if self.sponsor is not None and prepared.required.x402_version != 1:
            approval = self.sponsor.approval_for(
                self.key.get(), self.key.address, prepared.required, prepared.requirement
            )
        try:
            signed = prepared.sign(self.key.get(), approval)
        except Exception as exc:  # eth_account on a value it cannot encode; no key in it
            raise PaymentError(f"could not sign the payment: {type(exc).__name__}") from None
        self.signatures_made += 1
        return signed

    def sign(self, required: PaymentRequiredDoc) -> SignedPayment:
        """`prepare` and sign in one step (no write-ahead, no caps: for tools and tests)."""
        return self.sign_prepared(self.prepare(required))


class Authorizer(Protocol):
    """What must happen between choosing an authorization and signing it.

    The client's: check the spend caps and write the pending receipt ahead
    (`LLM`), holding the guard's lock while it signs. Raising refuses: nothing is signed.
    """

    def authorizing(self, prepared: PreparedPayment) -> AbstractContextManager[Durable]:
        """Entered before signing `prepared`; yields what makes its record durable."""
        ...


class _Unguarded:
    """No caps and no write-ahead (a bare `X402Auth`)."""

    def authorizing(self, prepared: PreparedPayment) -> AbstractContextManager[Durable]:
        return nullcontext(already_durable)


@dataclass(frozen=True)
class Session:
    """An open upto session and the authorization that opened it."""

    id: str
    payment: SignedPayment | None


class SessionCache:
    """Upto sessions by `POST scheme://host:port/path`: one signature serves a whole session."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def get(self, key: str) -> Session | None:
        """The open session for `key`, if any."""
        return self._sessions.get(key)

    def put(self, key: str, session: Session) -> None:
        """Remember the session the gateway named for `key`."""
        self._sessions[key] = session

    def drop(self, key: str) -> None:
        """Forget `key`'s session (the gateway no longer honours it)."""
        self._sessions.pop(key, None)

    def clear(self) -> None:
        """Forget every session: the next request to each endpoint is challenged anew."""
        self._sessions.clear()


def session_key(request: httpx.Request) -> str:
    """`POST scheme://host:port/path`: what one upto session pays for."""
    url = request.url
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{request.method} {url.scheme}://{url.host}:{port}{url.path}"


class X402Auth(httpx.Auth):
    """The x402 payment of one request: reuse its session, else answer the 402 once."""

    def __init__(
        self,
        payer: Payer,
        sessions: SessionCache,
        trace: PaymentTrace,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.payer = payer
        self.sessions = sessions
        self.trace = trace
        self.authorizer: Authorizer = authorizer or _Unguarded()
        self.deadline: float | None = None
        """`time.monotonic()` by which a 402's body must have arrived (None: no limit)."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send; on a 402 sign once and send again (the 402's body has been read by then)."""
        key = session_key(request)
        rechallenged = False
        while True:
            session = self.sessions.get(key)
            self._carry(request, session)
            response = yield request
            if response.status_code != 402:
                self._remember(key, response, None)
                return
            if session is not None:
                self.sessions.drop(key)
                self._carry(request, None)
            required = _challenge(response)
            if required is not None and required.accepts:
                break
            if session is not None and not rechallenged:
                rechallenged = True  # the session expired: ask again, without it
                continue
            reason = error_reason(response.content)
            raise PaymentRequired(
                f"the gateway answered 402 without payment requirements: {reason}", reason=reason
            )
        prepared = self.payer.prepare(required)
        with self.authorizer.authorizing(prepared) as durable:
            signed = self.payer.sign_prepared(prepared)
            durable()  # the pending receipt is on disk before the signature leaves
        header = X_PAYMENT if required.x402_version == 1 else PAYMENT_SIGNATURE
        request.headers[header] = encode_payment_signature(signed.payload)
        request.headers["Access-Control-Expose-Headers"] = EXPOSE_PAYMENT_HEADERS
        self.trace.payment, self.trace.paid = signed, True
        response = yield request
        if response.status_code == 402:
            if self.payer.sponsor is not None:  # the allowance it counted on may be gone
                self.payer.sponsor.forget()
            again = _challenge(response)
            reason = (again.error if again else None) or error_reason(response.content)
            raise PaymentRequired(f"the gateway refused the payment: {reason}", reason=reason)
        self._remember(key, response, signed)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """`auth_flow`, reading only a 402's body (a streamed answer stays unread)."""
        flow = self.auth_flow(request)
        request = next(flow)
        while True:
            response = yield request
            if response.status_code == 402:
                read_capped(response, MAX_CHALLENGE_BYTES)
            try:
                request = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """`auth_flow`, reading only a 402's body, so that a 200 SSE answer still streams."""
        flow = self.auth_flow(request)
        request = next(flow)
        while True:
            response = yield request
            if response.status_code == 402:
                await aread_capped(response, MAX_CHALLENGE_BYTES, self.deadline)
                if self.payer.sponsor is not None:  # signing may read the chain: off the loop
                    following = await asyncio.to_thread(_step, flow, response)
                    if following is None:
                        return
                    request = following
                    continue
            try:
                request = flow.send(response)
            except StopIteration:
                return

    def _carry(self, request: httpx.Request, session: Session | None) -> None:
        """Send the request on `session` (or on none), and say so in the trace."""
        if session is None:
            request.headers.pop(UPTO_SESSION, None)
            self.trace.session = self.trace.payment = None
        else:
            request.headers[UPTO_SESSION] = session.id
            self.trace.session, self.trace.payment = session.id, session.payment

    def _remember(self, key: str, response: httpx.Response, signed: SignedPayment | None) -> None:
        """Keep the session a successful answer names; note any PAYMENT-RESPONSE."""
        opened = response.headers.get(UPTO_SESSION)
        if opened and 200 <= response.status_code < 300:
            held = self.sessions.get(key)
            payment = signed or (held.payment if held else None)
            self.sessions.put(key, Session(opened, payment))
            self.trace.session = opened
        raw = response.headers.get(PAYMENT_RESPONSE) or response.headers.get(X_PAYMENT_RESPONSE)
        if raw:
            try:
                self.trace.settle = decode_payment_response(raw)
            except MalformedPaymentHeader:
                self.trace.settle = None


def _step(
    flow: Generator[httpx.Request, httpx.Response, None], response: httpx.Response
) -> httpx.Request | None:
    """`flow.send(response)`, None when the flow is done (a Future cannot carry StopIteration)."""
    try:
        return flow.send(response)
    except StopIteration:
        return None


def _challenge(response: httpx.Response) -> PaymentRequiredDoc | None:
    """A 402's requirements: the v2 header, else a v1 JSON body (None when neither)."""
    header = response.headers.get(PAYMENT_REQUIRED)
    if header:
        return decode_payment_required(header)
    return decode_payment_required_body(response.content)
