"""`LLM`: the async client for OpenGradient's x402 LLM gateway.

Wire-compatible with the official `opengradient.LLM` (reference og-sdk-wire.md),
with its weak spots fixed: `payment_hash` is never empty, every response's TEE
signature is checked, streaming works with tools, and errors are typed.

`LLM` orchestrates one path: build the call (`calls.py`), pick the route
(`routing.py`), POST through the x402 auth flow (`payment.py`), read the answer or
the stream (`stream.py`), check the TEE signature (`tee.py`), hand over the receipt
(`receipting.py`).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import aclosing, contextmanager
from decimal import Decimal
from typing import Any

import httpx

from . import calls, embedded, receipting, tee
from .answer_fields import MalformedAnswer
from .bodies import MAX_BODY_BYTES, MAX_CHALLENGE_BYTES, aread_capped
from .calls import Call
from .chain import Balances, ChainClient
from .embedded import EmbeddedDevnet
from .errors import (
    ConfigurationError,
    GatewayError,
    OGError,
    PaymentRequired,
    StreamInterrupted,
    VerificationFailed,
)
from .models import TEE_LLM
from .network_choice import NetworkChoice, choose_network
from .networks import NetworkProfile, find_network
from .opg import to_base_units
from .outputs import StreamChunk, StreamUsage, TextGenerationOutput
from .payment import Payer, Secret, SessionCache, X402Auth, session_key
from .policy import PaymentPolicy
from .receipt import Receipt, SignatureStatus
from .routing import Route, Router
from .signing import PreparedPayment
from .sink import CallbackSink, Durable, ReceiptSink
from .spend import MemorySpendGuard, SpendGuard, SpendLimits, worst_case
from .sponsoring import ApprovalSponsor, may_sign
from .stream import StreamAssembler, sse_chunks
from .trust import KeyKind, key_kind, signing_allowed, trusted_from_env, trusted_origins
from .types import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_SETTLEMENT,
    DEFAULT_TEMPERATURE,
    Permit2ApprovalResult,
    ResponseFormat,
    settlement_mode,
    x402SettlementMode,
)

DEFAULT_TIMEOUT = 60.0
"""Seconds any single read may wait (httpx's timeout)."""
DEFAULT_CALL_DEADLINE = 600.0
"""Seconds a whole call may take, its answer or stream included, however it is paced."""
DEFAULT_IDLE_TIMEOUT = 60.0
"""Seconds a stream may go without a complete event before it is given up."""


class LLM:
    """Chat with every OpenGradient model, paying per call over x402.

    The network is `choose_network`'s choice, the same rule as the CLI's and the
    TUI's: `network` and `devnet_url`, else `$OG_NETWORK` and `$OG_DEVNET_URL`, else
    mainnet with a key and the embedded devnet without one. On the devnet the key
    defaults to the first dev account. Your own key signs only for mainnet, the
    embedded devnet, or a devnet you opted in to (`trusted_devnets=[url]` or
    `$OG_TRUSTED_DEVNETS`; `og_chat.sdk.trust`); there a key with no OPG is funded
    from the dev account, so tutorial code runs unchanged.

    Caps: `max_authorization_opg` per signed authorization, `max_per_session_opg`
    for this client, `max_per_day_opg` per UTC day (or a `spend_guard` of your own).
    Every receipt goes to `receipt_sink` (written ahead of each signature) or to
    `on_receipt` (final receipts only).
    """

    def __init__(
        self,
        private_key: str | None = None,
        rpc_url: str | None = None,
        tee_registry_address: str | None = None,
        llm_server_url: str | None = None,
        *,
        network: str | None = None,
        devnet_url: str | None = None,
        verify: bool = True,
        max_authorization_opg: Decimal | str | None = None,
        max_deadline_seconds: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_receipt: Callable[[Receipt], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sponsored_approval: bool = True,
        trusted_devnets: Iterable[str] | None = None,
        max_per_session_opg: Decimal | str | None = None,
        max_per_day_opg: Decimal | str | None = None,
        spend_guard: SpendGuard | None = None,
        receipt_sink: ReceiptSink | None = None,
        call_deadline: float = DEFAULT_CALL_DEADLINE,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.choice: NetworkChoice = choose_network(
            network=network, devnet_url=devnet_url, env=os.environ, config_network=None,
            config_devnet_url=None, has_key=bool(private_key),
        )  # fmt: skip
        """Which network, and why (`choose_network`); a fixed gateway URL may still turn out
        to be a devnet when resolved."""
        if self.choice.name == "mainnet" and not private_key and not llm_server_url:
            raise ConfigurationError(
                "a private key is required on mainnet",
                hint="pass private_key=..., set OG_PRIVATE_KEY, or use network='devnet'",
            )
        if on_receipt is not None and receipt_sink is not None:
            raise ConfigurationError("pass on_receipt or receipt_sink, not both")
        self.network = self.choice.name
        self.verify = verify
        """Raise VerificationFailed on a bad TEE signature (else only mark the answer)."""
        self._key = Secret(private_key) if private_key else None
        self._rpc_url = rpc_url
        self._registry_address = tee_registry_address
        self._fixed_url = llm_server_url.rstrip("/") if llm_server_url else None
        self._devnet_url = self.choice.devnet_url
        self._max_auth = max_authorization_opg
        self._max_deadline = max_deadline_seconds
        self._timeout = timeout
        self._call_deadline = call_deadline
        self._idle_timeout = idle_timeout
        self._max_body = max_body_bytes
        self.trusted = trusted_origins(trusted_devnets) | trusted_from_env()
        """Origins of the devnets your key may sign for (`trust.origin`)."""
        self._sink: ReceiptSink = receipt_sink or CallbackSink(on_receipt)
        self._guard: SpendGuard = spend_guard or MemorySpendGuard(
            SpendLimits(
                per_session=None
                if max_per_session_opg is None
                else to_base_units(max_per_session_opg),
                per_day=None if max_per_day_opg is None else to_base_units(max_per_day_opg),
            )
        )
        self._transport = transport
        self._sponsored_approval = sponsored_approval
        """Carry a signed Permit2 approval in a payment whose gateway sponsors its gas, when
        the allowance is short (only where sponsoring.may_sign allows a transaction)."""
        self._sessions = SessionCache()
        self._payer: Payer | None = None
        self._router: Router | None = None
        self._embedded: EmbeddedDevnet | None = None
        self._resolve_lock = threading.Lock()

    @classmethod
    def from_url(cls, private_key: str | None, llm_server_url: str, **kwargs: Any) -> LLM:
        """A client for one fixed gateway URL (no registry, no TLS pinning).

        The payment network is read from the gateway's `/devnet` document when
        it is an og-chat devnet, else mainnet is assumed.
        """
        kwargs.setdefault("network", "devnet" if not private_key else None)
        return cls(private_key or None, llm_server_url=llm_server_url, **kwargs)

    def __repr__(self) -> str:
        address = self._key.address if self._key else None
        return f"LLM(network={self.network!r}, address={address!r})"

    # ------------------------------------------------------------------ setup

    def resolve(self) -> None:
        """Find the network, the gateway and the key; blocking, done once (safe to repeat)."""
        if self._payer is not None:
            return
        with self._resolve_lock:
            if self._payer is not None:
                return
            found = find_network(
                network=self.network, fixed_url=self._fixed_url, devnet_url=self._devnet_url,
                have_key=self._key is not None, rpc_url=self._rpc_url,
                registry_address=self._registry_address,
            )  # fmt: skip
            profile, self._embedded = found.profile, found.embedded
            if profile.name == "devnet":
                self.network = "devnet"
            self._devnet_url = found.devnet_url or self._devnet_url
            try:
                if self._key is not None:  # refused before anything is signed, funding too
                    what = f"payment authorizations and approvals for {self._key.address}"
                    signing_allowed(profile, key_kind(self._key.get()), self.trusted, what=what)
                if found.dev_key and self._key is not None:
                    ChainClient(profile).fund_from(found.dev_key, self._key.address)
                self._key = self._key or (Secret(found.dev_key) if found.dev_key else None)
                if self._key is None:
                    why = "no private key, and the devnet lists no account to default to"
                    raise ConfigurationError(why, hint="pass private_key=...")
                payer = self._make_payer(profile, embedded=found.embedded is not None)
            except BaseException:
                if self._embedded is not None:
                    embedded.stop(self._embedded)
                    self._embedded = None
                raise
            self._router = Router(
                profile, self._sessions, fixed_url=self._fixed_url, timeout=self._timeout,
                transport=self._transport,
            )  # fmt: skip
            self._payer = payer  # last: a set payer means resolved

    def _make_payer(self, profile: NetworkProfile, *, embedded: bool) -> Payer:
        assert self._key is not None
        cap = None if self._max_auth is None else to_base_units(self._max_auth)
        policy = PaymentPolicy.for_profile(
            profile, max_amount=cap, max_deadline_seconds=self._max_deadline
        )
        sponsor = None
        if (
            self._sponsored_approval
            and profile.sponsors_approval
            and may_sign(profile, self._key.get(), embedded=embedded)
        ):
            sponsor = ApprovalSponsor(profile)
        return Payer(self._key, profile, policy, sponsor, self.trusted)

    def _resolved(self) -> tuple[Payer, Router]:
        self.resolve()
        if self._payer is None or self._router is None:
            raise ConfigurationError("the client could not be set up", hint="see the error above")
        return self._payer, self._router

    async def _aresolved(self) -> tuple[Payer, Router]:
        """`_resolved` off the event loop the first time (it may start a devnet)."""
        if self._payer is None:
            await asyncio.to_thread(self.resolve)
        return self._resolved()

    @property
    def address(self) -> str:
        """The paying wallet's address (resolves the network if needed)."""
        return self._resolved()[0].key.address

    @property
    def key_kind(self) -> KeyKind:
        """Whether the paying key is a published test key or the user's own (resolves)."""
        return key_kind(self._resolved()[0].key.get())

    @property
    def profile(self) -> NetworkProfile:
        """The payment network in use (resolves it if needed)."""
        return self._resolved()[0].profile

    @property
    def router(self) -> Router:
        """Where calls go: the fixed URL, or the registry's TEEs (resolves the network)."""
        return self._resolved()[1]

    @property
    def sponsors_approval(self) -> bool:
        """True when a payment may carry a gas-sponsored Permit2 approval (resolves the network)."""
        return self._resolved()[0].sponsor is not None

    @property
    def signatures_made(self) -> int:
        """Payment authorizations signed by this client (never more than one per request)."""
        return self._payer.signatures_made if self._payer is not None else 0

    @property
    def embedded_devnet(self) -> EmbeddedDevnet | None:
        """The embedded devnet this client started, if any."""
        return self._embedded

    @property
    def devnet_url(self) -> str | None:
        """The devnet gateway this client pays (None on mainnet); resolves the network."""
        self.resolve()
        return self._devnet_url if self.network == "devnet" else None

    def forget_sessions(self) -> None:
        """Drop every open upto session: the next call is challenged and signs anew."""
        self._sessions.clear()

    # ------------------------------------------------------------------- chat

    async def chat(
        self,
        model: str | TEE_LLM,
        messages: list[dict[str, Any]],
        max_tokens: int = DEFAULT_MAX_TOKENS,
        stop_sequence: list[str] | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
        response_format: ResponseFormat | dict[str, Any] | None = None,
        x402_settlement_mode: x402SettlementMode | str = DEFAULT_SETTLEMENT,
        stream: bool = False,
        web_search: bool = False,
        conversation_id: str | None = None,
    ) -> TextGenerationOutput | AsyncIterator[StreamChunk]:
        """One chat completion, paid and verified.

        With `stream=True` this returns an async iterator of `StreamChunk`s
        (errors surface while iterating); the last chunk is `is_final` and
        carries usage, the TEE fields, assembled tool calls and the receipt.
        """
        call = calls.chat_call(
            model, messages, max_tokens=max_tokens, temperature=temperature,
            stop_sequence=stop_sequence, tools=tools, tool_choice=tool_choice,
            response_format=response_format, settlement=settlement_mode(x402_settlement_mode),
            web_search=web_search, stream=stream, conversation_id=conversation_id,
        )  # fmt: skip
        if stream:
            return self._stream(call)
        return await self._complete(call)

    async def completion(
        self,
        model: str | TEE_LLM,
        prompt: str,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        stop_sequence: list[str] | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        x402_settlement_mode: x402SettlementMode | str = DEFAULT_SETTLEMENT,
    ) -> TextGenerationOutput:
        """A plain text completion (`/v1/completions`)."""
        call = calls.completion_call(
            model, prompt, max_tokens=max_tokens, temperature=temperature,
            stop_sequence=stop_sequence, settlement=settlement_mode(x402_settlement_mode),
        )  # fmt: skip
        return await self._complete(call)

    async def _post(self, call: Call) -> tuple[httpx.Response, Route]:
        """POST the call through the payment flow; fail over while nothing has been paid.

        The body is left unread (httpx's `stream=True`) for both kinds of call: the caller
        reads it within the call's deadline and the body cap (`bodies.aread_capped`), which
        httpx's own read of a whole body would not respect.

        The spend guard sees the call's worst case before anything is sent; the flow
        asks it again, and writes the pending receipt ahead, before it signs.
        """
        payer, router = await self._aresolved()
        call.network, call.chain = payer.profile.name, payer.profile.chain_mark
        call.deadline = time.monotonic() + self._call_deadline
        while True:
            route = await router.current()
            call.endpoint, call.tee_id = route.base_url, route.tee_id
            request = route.http.build_request(
                "POST", route.base_url + call.path, json=call.body, headers=call.headers()
            )
            self._guard.before_call(self._worst_case(call, payer, request), call.conversation_id)
            try:
                auth = X402Auth(payer, self._sessions, call.trace, _CallAuthorizer(self, call))
                auth.deadline = call.deadline
                return await route.http.send(request, auth=auth, stream=True), route
            except PaymentRequired as exc:
                self._emitted(receipting.refusal(call, exc))
                raise
            except GatewayError as exc:  # a 402 body above the cap, or too slow to arrive
                failure = receipting.malformed(call, route.base_url, 402, exc.reason)
                raise self._emitted(failure) from None
            except TimeoutError:
                why = "the payment challenge did not arrive within the call's deadline"
                raise self._emitted(receipting.malformed(call, route.base_url, 402, why)) from None
            except httpx.TransportError as exc:
                unreached = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if not unreached or call.trace.paid:
                    raise self._emitted(
                        receipting.transport_failure(call, route.base_url, exc)
                    ) from None
                if await router.failover():
                    continue
                await router.forget(route)
                why = f"cannot reach the gateway: {exc}; the next call reads the TEE registry again"
                raise GatewayError(0, why, url=route.base_url) from None

    def _worst_case(self, call: Call, payer: Payer, request: httpx.Request) -> int:
        """The most this call can cost: at the devnet's published prices, else the whole
        authorization of the session it rides on. Without an open session it can cost
        nothing until a new authorization is signed, which the guard checks in full."""
        session = self._sessions.get(session_key(request))
        fallback = session.payment.amount if session and session.payment else 0
        doc = payer.profile.extra.get("devnet") if payer.profile.extra else None
        prices = doc.get("prices") if isinstance(doc, dict) else None
        return worst_case(
            call.model, call.body, prices if isinstance(prices, dict) else None, fallback=fallback
        )

    async def _complete(self, call: Call) -> TextGenerationOutput:
        resp, route = await self._post(call)
        url = str(resp.url)
        cap = self._max_body if resp.status_code < 400 else MAX_CHALLENGE_BYTES
        try:
            raw = await aread_capped(resp, cap, call.deadline)
        except httpx.HTTPError as exc:
            raise self._emitted(receipting.cut_off(call, url, exc)) from None
        except GatewayError as exc:
            failure = receipting.malformed(call, url, resp.status_code, exc.reason)
            raise self._emitted(failure) from None
        except TimeoutError:
            why = "the answer did not arrive within the call's deadline"
            raise self._emitted(receipting.malformed(call, url, resp.status_code, why)) from None
        finally:
            await resp.aclose()
        if resp.status_code >= 400:
            raise self._emitted(receipting.status_failure(call, resp.status_code, url, raw))
        try:
            answer = calls.read_answer(call, raw)
        except MalformedAnswer as exc:
            raise self._emitted(
                receipting.malformed(call, url, resp.status_code, exc.reason)
            ) from None
        out = answer.output(resp.headers)
        await self._settle(
            out, call, route, answer.fields, resp.headers, answer.usage, answer.content,
            answer.tool_calls, answer.finish_reason,
        )  # fmt: skip
        return out

    async def _stream(self, call: Call) -> AsyncIterator[StreamChunk]:
        resp, route = await self._post(call)
        try:
            if resp.status_code >= 400:
                try:
                    raw = await aread_capped(resp, MAX_CHALLENGE_BYTES, call.deadline)
                except (GatewayError, TimeoutError, httpx.HTTPError):
                    raw = b"(unreadable error body)"
                failure = receipting.status_failure(call, resp.status_code, str(resp.url), raw)
                raise self._emitted(failure)
            async for chunk in self._chunks(call, route, resp):
                yield chunk
        finally:
            await resp.aclose()

    async def _chunks(
        self, call: Call, route: Route, resp: httpx.Response
    ) -> AsyncIterator[StreamChunk]:
        """The chunks of a 200 stream; an interruption or a malformed event leaves a receipt."""
        acc = StreamAssembler()
        body = sse_chunks(resp.aiter_bytes(), acc, idle=self._idle_timeout, deadline=call.deadline)
        try:
            async with aclosing(body) as chunks:
                async for chunk in chunks:
                    if chunk.is_final:
                        acc.finish(chunk, resp.headers)
                        await self._settle(
                            chunk, call, route, acc.meta, resp.headers, acc.usage, acc.text,
                            acc.tool_calls(), chunk.choices[0].finish_reason,
                        )  # fmt: skip
                    yield chunk
        except StreamInterrupted as exc:
            exc.receipt = receipting.interrupted_receipt(call, acc.text, exc.reason)
            self._emit(exc.receipt)
            raise
        except GatewayError as exc:  # an event with fields the protocol does not send
            url = str(resp.url)
            raise self._emitted(
                receipting.malformed(call, url, 200, exc.reason, acc.text)
            ) from None

    async def _settle(
        self,
        result: TextGenerationOutput | StreamChunk,
        call: Call,
        route: Route,
        fields: dict[str, Any],
        headers: httpx.Headers,
        usage: dict[str, Any] | StreamUsage | None,
        content: str | None,
        tool_calls: Any,
        finish_reason: str | None,
    ) -> None:
        """Check the answer's TEE signature, put the trust and payment on `result`, hand over
        the receipt; VerificationFailed (carrying both) when the signature is bad.

        A signature checks out as VERIFIED only against the key the TEE registry holds;
        against the key the gateway serves itself it is SELF_VOUCHED, never verified.
        """
        signer_id = tee.normalise_tee_id(fields.get("tee_id"))
        key = None
        if fields.get("tee_signature"):
            key = await self.router.signer_key(route, signer_id)
        checks, status = tee.check_answer(key, call.body, content, tool_calls, fields)
        if status is SignatureStatus.VERIFIED and not route.key_from_registry:
            status = SignatureStatus.SELF_VOUCHED
            why = "the key came from the gateway's own /signing-key; no registry vouches for it"
            checks.append(tee.CheckResult("tee key", False, why))
        receipt = receipting.answer_receipt(
            call, fields, headers, usage, content, tool_calls, finish_reason, status, checks
        )
        result.tee_id = signer_id or tee.normalise_tee_id(call.tee_id)
        result.tee_endpoint = route.base_url
        result.tee_payment_address = route.tee.payment_address if route.tee else None
        result.signature_status, result.payment_hash = status, receipt.payment_hash
        result.receipt = receipt
        self._emit(receipt)
        if status is SignatureStatus.FAILED and self.verify:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
            raise VerificationFailed("the TEE signature", failed, result=result, receipt=receipt)

    def _emitted(self, error: OGError) -> OGError:
        """`error`, after handing over the receipt it carries (a failed call that was paid)."""
        if error.receipt is not None:
            self._emit(error.receipt)
        return error

    def _emit(self, receipt: Receipt) -> None:
        """The call's final receipt: to the sink, then to the spend guard (what it cost)."""
        self._sink.complete(receipt)
        self._guard.settled(receipt)

    # ----------------------------------------------------------- the wallet

    def ensure_opg_approval(
        self,
        min_allowance: float | Decimal | str,
        approve_amount: float | Decimal | str | None = None,
    ) -> Permit2ApprovalResult:
        """Make sure Permit2 may spend at least `min_allowance` OPG (blocking; sends a tx if not)."""
        payer = self._resolved()[0]
        return ChainClient(payer.profile).ensure_opg_approval(
            payer.key.get(), min_allowance, approve_amount
        )

    ensure_opg_allowance = ensure_opg_approval
    """The name newer tutorials use."""

    async def aensure_opg_approval(
        self,
        min_allowance: float | Decimal | str,
        approve_amount: float | Decimal | str | None = None,
    ) -> Permit2ApprovalResult:
        """`ensure_opg_approval` without blocking the event loop."""
        return await asyncio.to_thread(self.ensure_opg_approval, min_allowance, approve_amount)

    async def balances(self) -> Balances:
        """OPG balance, Permit2 allowance and ETH of this wallet."""
        payer = (await self._aresolved())[0]
        return await asyncio.to_thread(ChainClient(payer.profile).balances, payer.key.address)

    async def close(self) -> None:
        """Close connections (and stop an embedded devnet this client started)."""
        if self._router is not None:
            await self._router.close()
        if self._embedded is not None:
            started, self._embedded = self._embedded, None
            await asyncio.to_thread(embedded.stop, started)

    async def __aenter__(self) -> LLM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _CallAuthorizer:
    """One call's `Authorizer`: the spend guard's check and lock, then the write-ahead
    receipt, between choosing an authorization and signing it."""

    def __init__(self, llm: LLM, call: Call) -> None:
        self._guard = llm._guard
        self._sink = llm._sink
        self._call = call

    @contextmanager
    def authorizing(self, prepared: PreparedPayment) -> Iterator[Durable]:
        call = self._call
        with self._guard.before_authorization(prepared.amount, call.conversation_id):
            pending = receipting.pending_receipt(call, prepared)
            durable = self._sink.write_ahead(pending)
            self._guard.authorized(pending)
            yield durable
