"""`LLM`: the async client for OpenGradient's x402 LLM gateway.

Wire-compatible with the official `opengradient.LLM` (reference
og-sdk-wire.md), with the official SDK's weak spots fixed: `payment_hash` is
never empty, every response's TEE signature is checked, streaming works with
tools, and errors are typed.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from . import embedded, tee as tee_mod
from .embedded import EmbeddedDevnet
from .errors import (
    ConfigurationError,
    GatewayError,
    MalformedPaymentHeader,
    OGError,
    PaymentError,
    PaymentRequired,
    StreamInterrupted,
    VerificationFailed,
)
from .models import TEE_LLM, split_model
from .networks import PLACEHOLDER_API_KEY, NetworkProfile, devnet_profile, mainnet_profile
from .policy import PaymentPolicy
from .signing import SignedPayment, sign_payment
from .sse import DONE, SSEParser
from .stream import StreamAssembler
from .types import (
    PaymentStatus,
    Permit2ApprovalResult,
    Receipt,
    ResponseFormat,
    SignatureStatus,
    StreamChoice,
    StreamChunk,
    TextGenerationOutput,
    x402SettlementMode,
)
from .x402 import (
    PAYMENT_REQUIRED,
    PAYMENT_RESPONSE,
    PAYMENT_SIGNATURE,
    SETTLEMENT_TYPE,
    UPTO_SESSION,
    X_PAYMENT,
    X_PAYMENT_RESPONSE,
    PaymentRequired as PaymentRequiredDoc,
    decode_payment_required,
    decode_payment_required_body,
    decode_payment_response,
    encode_payment_signature,
)

CHAT_PATH = "/v1/chat/completions"
COMPLETION_PATH = "/v1/completions"
TEE_REFRESH_SECONDS = 300.0
DEFAULT_TIMEOUT = 60.0


class _Secret:
    """Holds the private key so that no repr, log line or traceback shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<private key hidden>"

    __str__ = __repr__


@dataclass
class _Route:
    """Where requests go right now and what we trust there."""

    base_url: str
    tee: tee_mod.TEEInfo | None
    http: httpx.AsyncClient
    public_key: bytes | str | None = None


@dataclass
class _Call:
    """One request's bookkeeping, from sending to the receipt."""

    path: str
    body: dict[str, Any]
    model: str
    provider: str
    mode: str
    conversation_id: str | None
    started: float = field(default_factory=time.time)
    payment: SignedPayment | None = None
    session: str | None = None
    settle: Any = None
    endpoint: str = ""
    tee_id: str | None = None


class LLM:
    """Chat with every OpenGradient model, paying per call over x402.

    `network` is `"mainnet"` or `"devnet"` (default: `$OG_NETWORK`, else
    mainnet). On the devnet, `devnet_url` (default `$OG_DEVNET_URL`) names a
    running `og-chat devnet`; without one an embedded devnet is started. On the
    devnet the private key defaults to the first dev account, and a key with no
    OPG there is funded from it, so tutorial code runs unchanged.
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
    ) -> None:
        network = (network or os.environ.get("OG_NETWORK") or "mainnet").strip().lower()
        if network not in ("mainnet", "devnet"):
            raise ConfigurationError(f"unknown network {network!r}", hint="use mainnet or devnet")
        if network == "mainnet" and not private_key:
            raise ConfigurationError(
                "a private key is required on mainnet",
                hint="pass private_key=..., set OG_PRIVATE_KEY, or use network='devnet'",
            )
        self.network = network
        self._key = _Secret(private_key) if private_key else None
        self._rpc_url = rpc_url
        self._registry_address = tee_registry_address
        self._fixed_url = llm_server_url.rstrip("/") if llm_server_url else None
        self._devnet_url = devnet_url or os.environ.get("OG_DEVNET_URL") or None
        self.verify = verify
        self._max_auth = max_authorization_opg
        self._max_deadline = max_deadline_seconds
        self._timeout = timeout
        self._on_receipt = on_receipt
        self._transport = transport
        self._profile: NetworkProfile | None = None
        self._policy: PaymentPolicy | None = None
        self._tees: list[tee_mod.TEEInfo] = []
        self._tees_read_at = 0.0
        self._route: _Route | None = None
        self._sessions: dict[str, str] = {}
        self._session_payments: dict[str, SignedPayment] = {}
        self._resolve_lock = threading.Lock()
        self._embedded: EmbeddedDevnet | None = None
        self.signatures_made = 0
        """Payment authorizations signed by this client (never more than one per request)."""

    @classmethod
    def from_url(cls, private_key: str | None, llm_server_url: str, **kwargs: Any) -> LLM:
        """A client for one fixed gateway URL (no registry, no TLS pinning).

        The payment network is read from the gateway's `/devnet` document when
        it is an og-chat devnet, else mainnet is assumed.
        """
        kwargs.setdefault("network", "devnet" if not private_key else None)
        llm = cls(private_key or None, llm_server_url=llm_server_url, **kwargs)
        return llm

    def __repr__(self) -> str:
        return f"LLM(network={self.network!r}, address={self._address_or_none()!r})"

    # ------------------------------------------------------------------ setup

    def _address_or_none(self) -> str | None:
        if self._key is None:
            return None
        from eth_account import Account

        return str(Account.from_key(self._key.get()).address)

    @property
    def address(self) -> str:
        """The paying wallet's address (resolves the network if needed)."""
        self.resolve()
        address = self._address_or_none()
        assert address is not None
        return address

    @property
    def profile(self) -> NetworkProfile:
        """The payment network in use (resolves it if needed)."""
        self.resolve()
        assert self._profile is not None
        return self._profile

    @property
    def embedded_devnet(self) -> EmbeddedDevnet | None:
        """The embedded devnet this client started, if any."""
        return self._embedded

    @property
    def devnet_url(self) -> str | None:
        """The devnet gateway this client pays (None on mainnet); resolves the network."""
        self.resolve()
        return self._devnet_url if self.network == "devnet" else None

    def resolve(self) -> None:
        """Find the network, the gateway and the key; blocking, done once (safe to repeat)."""
        if self._profile is not None:
            return
        with self._resolve_lock:
            if self._profile is not None:
                return
            profile = self._make_profile()
            self._policy = PaymentPolicy.for_profile(
                profile,
                max_amount=_opg_to_base(self._max_auth),
                max_deadline_seconds=self._max_deadline,
            )
            self._profile = profile

    def _make_profile(self) -> NetworkProfile:
        if self._fixed_url:
            doc = _get_json(self._fixed_url + "/devnet")
            if doc is not None:
                profile = devnet_profile(doc, self._fixed_url)
                self.network = "devnet"
                self._adopt_devnet_key(profile, doc)
                return profile
            if self._key is None:
                raise ConfigurationError(
                    f"{self._fixed_url} is not an og-chat devnet and no private key was given"
                )
            return mainnet_profile()
        if self.network == "devnet":
            url = self._devnet_url
            if not url:
                self._embedded = embedded.start()
                url = self._embedded.url
            assert url is not None
            url = url.rstrip("/")
            self._devnet_url = url
            doc = _get_json(url + "/devnet")
            if doc is None:
                raise ConfigurationError(
                    f"no og-chat devnet answers at {url}",
                    hint="start one with `og-chat devnet` or unset OG_DEVNET_URL to embed one",
                )
            profile = devnet_profile(doc, url)
            self._adopt_devnet_key(profile, doc)
            return profile
        profile = mainnet_profile()
        if self._rpc_url or self._registry_address:
            from dataclasses import replace

            profile = replace(
                profile,
                registry_rpc=self._rpc_url or profile.registry_rpc,
                registry_address=self._registry_address or profile.registry_address,
            )
        return profile

    def _adopt_devnet_key(self, profile: NetworkProfile, doc: dict[str, Any]) -> None:
        """Devnet: default to dev account 0; fund a foreign key from it once."""
        accounts = doc.get("accounts") or []
        if not accounts:
            return
        if self._key is None:
            self._key = _Secret(str(accounts[0]["private_key"]))
            return
        from .chain import ChainClient

        ChainClient(profile).fund_from(
            str(accounts[0]["private_key"]), self._address_or_none() or ""
        )

    def _new_http(self, base_url: str, info: tee_mod.TEEInfo | None) -> httpx.AsyncClient:
        # A registry entry pins its certificate; without one, the system's trust store
        # decides. Never unverified: a payment must not be signed over an unchecked TLS link.
        verify: Any = True
        if base_url.startswith("https://") and info is not None:
            verify = info.ssl_context()
        return httpx.AsyncClient(
            timeout=self._timeout, verify=verify, transport=self._transport, follow_redirects=False
        )

    def _pick_route(self, exclude: set[str] | None = None) -> _Route:
        """Choose a gateway: fixed URL, or a random active TEE from the registry."""
        self.resolve()
        profile = self._profile
        assert profile is not None
        if self._fixed_url:
            return _Route(self._fixed_url, None, self._new_http(self._fixed_url, None))
        if profile.registry_address and profile.registry_rpc:
            now = time.monotonic()
            if not self._tees or now - self._tees_read_at > TEE_REFRESH_SECONDS or exclude:
                try:
                    self._tees = tee_mod.fetch_active_tees(
                        profile.registry_rpc, profile.registry_address
                    )
                    self._tees_read_at = now
                except OGError:
                    if not (profile.gateway_url and self.network == "devnet"):
                        raise
            if self._tees:
                info = tee_mod.pick_tee(self._tees, exclude)
                return _Route(
                    info.endpoint, info, self._new_http(info.endpoint, info), info.public_key_der
                )
        if profile.gateway_url:
            url = profile.gateway_url
            return _Route(url, None, self._new_http(url, None))
        raise ConfigurationError(
            "no gateway: the profile has neither a registry nor a gateway URL",
            hint="set OG_GATEWAY_URL or use LLM.from_url(...)",
        )

    async def _route_now(self) -> _Route:
        stale = time.monotonic() - self._tees_read_at > TEE_REFRESH_SECONDS
        if self._route is not None and self._route.tee is not None and stale:
            await self._refresh_tees()
        if self._route is None:
            self._route = await asyncio.to_thread(self._pick_route)
        return self._route

    async def _refresh_tees(self) -> None:
        """Re-read the registry; move off a TEE that is no longer listed."""
        route = self._route
        profile = self._profile
        if route is None or route.tee is None or profile is None or not profile.registry_address:
            return
        try:
            tees = await asyncio.to_thread(
                tee_mod.fetch_active_tees, profile.registry_rpc or "", profile.registry_address
            )
        except OGError:
            return
        self._tees, self._tees_read_at = tees, time.monotonic()
        if all(t.tee_id != route.tee.tee_id for t in tees):
            await self._failover()

    async def _failover(self) -> bool:
        """Switch to another TEE after a connection failure; False when there is none."""
        old = self._route
        if old is None or old.tee is None:
            return False
        try:
            new = await asyncio.to_thread(self._pick_route, {old.tee.tee_id})
        except OGError:
            return False
        if new.tee is None or new.tee.tee_id == old.tee.tee_id:
            await new.http.aclose()
            return False
        self._route = new
        self._sessions.clear()  # sessions are per TEE
        self._session_payments.clear()
        await old.http.aclose()
        return True

    async def _forget_route(self, route: _Route) -> None:
        """After an outage, re-read the registry on the next call (the TEE may have changed)."""
        if self._route is route:
            self._route = None
            self._sessions.clear()
            self._session_payments.clear()
            self._tees_read_at = 0.0
            self._tees = []
            await route.http.aclose()

    async def _signer_key(self, route: _Route, signer: str | None) -> bytes | str | None:
        """The key to check an answer with; re-reads the registry if another TEE signed it.

        A TEE restarted behind the same endpoint comes back with a new key: it is
        trusted only once the registry lists it at that endpoint.
        """
        pinned = route.tee
        profile = self._profile
        if pinned is None or not signer or signer == tee_mod.normalise_tee_id(pinned.tee_id):
            return await self._public_key(route)
        if profile is None or not profile.registry_address or not profile.registry_rpc:
            return await self._public_key(route)
        try:
            tees = await asyncio.to_thread(
                tee_mod.fetch_active_tees, profile.registry_rpc, profile.registry_address
            )
        except OGError:
            return await self._public_key(route)
        self._tees, self._tees_read_at = tees, time.monotonic()
        for info in tees:
            if tee_mod.normalise_tee_id(info.tee_id) == signer and info.endpoint == route.base_url:
                route.tee, route.public_key = info, info.public_key_der
                break
        return await self._public_key(route)

    async def _public_key(self, route: _Route) -> bytes | str | None:
        """The TEE key to check signatures with: the registry's, else `/signing-key`."""
        if route.public_key is not None:
            return route.public_key
        try:
            resp = await route.http.get(route.base_url + "/signing-key")
            if resp.status_code == 200:
                pem = resp.json().get("public_key")
                if isinstance(pem, str) and pem.strip():
                    route.public_key = pem
        except (httpx.HTTPError, ValueError):
            return None
        return route.public_key

    # --------------------------------------------------------------- payments

    async def _send(
        self, route: _Route, call: _Call, headers: dict[str, str], *, stream: bool
    ) -> httpx.Response:
        request = route.http.build_request(
            "POST", route.base_url + call.path, json=call.body, headers=headers
        )
        return await route.http.send(request, stream=stream)

    async def _paid_post(self, call: _Call, *, stream: bool) -> tuple[httpx.Response, _Route]:
        """POST with x402: reuse the session, else answer the 402 with one signature.

        Never signs twice for one request; never re-signs after a failure
        once a paid request has been sent.
        """
        route = await self._route_now()
        key = f"POST {route.base_url}{call.path}"
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {PLACEHOLDER_API_KEY}",
            SETTLEMENT_TYPE: call.mode,
        }
        rechallenged = False
        while True:
            session = self._sessions.get(key)
            sent = dict(headers)
            if session:
                sent[UPTO_SESSION] = session
                call.session, call.payment = session, self._session_payments.get(key)
            try:
                resp = await self._send(route, call, sent, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if await self._failover():
                    route = self._route or route
                    key = f"POST {route.base_url}{call.path}"
                    continue
                await self._forget_route(route)
                raise GatewayError(
                    0,
                    f"cannot reach the gateway: {exc}; the next call reads the TEE registry again",
                    url=route.base_url,
                ) from None
            except httpx.TransportError as exc:
                raise self._transport_failure(call, route, exc, paid=False) from None
            call.endpoint, call.tee_id = route.base_url, route.tee.tee_id if route.tee else None
            if resp.status_code != 402:
                self._remember_session(key, resp, call)
                return resp, route
            body = await resp.aread()
            await resp.aclose()
            if session:
                self._sessions.pop(key, None)
                self._session_payments.pop(key, None)
                call.session, call.payment = None, None
            required = self._decode_402(resp, body)
            if required is None or not required.accepts:
                if session and not rechallenged:
                    rechallenged = True  # the session expired: ask again, without it
                    continue
                raise PaymentRequired(
                    f"the gateway answered 402 without payment requirements: {_reason(body)}",
                    reason=_reason(body),
                )
            break
        assert self._policy is not None and self._key is not None
        requirement = self._policy.choose(required)  # PaymentRefused: nothing signed
        profile = self.profile
        spender = (
            profile.upto_proxy if requirement.scheme == "upto" else profile.exact_permit2_proxy
        )
        try:
            signed = sign_payment(
                self._key.get(), required, requirement, permit2=profile.permit2, spender=spender
            )
        except OGError:
            raise
        except (
            Exception
        ) as exc:  # a malformed field the policy could not see; no key in this frame's message
            raise PaymentError(f"could not sign the payment: {exc}") from None
        self.signatures_made += 1
        header = X_PAYMENT if required.x402_version == 1 else PAYMENT_SIGNATURE
        paid = dict(headers)
        paid[header] = encode_payment_signature(signed.payload)
        paid["Access-Control-Expose-Headers"] = f"{PAYMENT_RESPONSE},{X_PAYMENT_RESPONSE}"
        call.payment = signed
        try:
            resp = await self._send(route, call, paid, stream=stream)
        except httpx.TransportError as exc:
            raise self._transport_failure(call, route, exc, paid=True) from None
        if resp.status_code == 402:
            body = await resp.aread()
            await resp.aclose()
            again = self._decode_402(resp, body)
            reason = (again.error if again else None) or _reason(body)
            self._emit_failed(
                call, f"payment refused by the gateway: {reason}", PaymentStatus.REFUSED
            )
            raise PaymentRequired(f"the gateway refused the payment: {reason}", reason=reason)
        self._session_payments[key] = signed
        self._remember_session(key, resp, call)
        return resp, route

    def _transport_failure(
        self, call: _Call, route: _Route, exc: httpx.TransportError, *, paid: bool
    ) -> GatewayError:
        """Record the failed call (its receipt keeps any payment) and say it is not retried."""
        after = " after paying" if paid else ""
        if isinstance(exc, httpx.TimeoutException):
            self._emit_failed(call, f"timed out{after}: {exc!r}")
            why = ", to avoid paying twice" if paid else ""
            return GatewayError(
                0, f"timed out{after} ({exc!r}); not retried{why}", url=route.base_url
            )
        self._emit_failed(call, f"connection failed{after}: {exc!r}")
        return GatewayError(0, f"connection failed{after}: {exc!r}", url=route.base_url)

    def _remember_session(self, key: str, resp: httpx.Response, call: _Call) -> None:
        session = resp.headers.get(UPTO_SESSION)
        if session and 200 <= resp.status_code < 300:
            self._sessions[key] = session
        call.session = self._sessions.get(key)
        if call.payment is None:
            call.payment = self._session_payments.get(key)
        raw = resp.headers.get(PAYMENT_RESPONSE) or resp.headers.get(X_PAYMENT_RESPONSE)
        if raw:
            try:
                call.settle = decode_payment_response(raw)
            except MalformedPaymentHeader:
                call.settle = None

    @staticmethod
    def _decode_402(resp: httpx.Response, body: bytes) -> PaymentRequiredDoc | None:
        header = resp.headers.get(PAYMENT_REQUIRED)
        if header:
            return decode_payment_required(header)
        return decode_payment_required_body(body)

    # ------------------------------------------------------------------- chat

    def _build_body(
        self,
        model: str | TEE_LLM,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float,
        stop_sequence: list[str] | None,
        tools: list[dict[str, Any]] | None,
        tool_choice: str | None,
        response_format: ResponseFormat | dict[str, Any] | None,
        web_search: bool,
        stream: bool,
    ) -> tuple[dict[str, Any], str, str]:
        provider, bare = split_model(model)
        fmt = (
            response_format.to_dict()
            if isinstance(response_format, ResponseFormat)
            else response_format
        )
        if fmt and fmt.get("type") == "json_object" and provider == "anthropic":
            raise ConfigurationError(
                "Anthropic models do not support response_format json_object",
                hint="use type='json_schema' with a schema",
            )
        if not isinstance(messages, list) or not messages:
            raise ConfigurationError("messages must be a non-empty list of {role, content} dicts")
        body: dict[str, Any] = {
            "model": bare,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stream:
            body["stream"] = True
        if stop_sequence:
            body["stop"] = stop_sequence
        if tools:
            body["tools"] = tools
            body["tool_choice"] = tool_choice or "auto"
        if fmt:
            body["response_format"] = fmt
        if web_search:
            body["web_search"] = True
        return body, provider, f"{provider}/{bare}"

    async def chat(
        self,
        model: str | TEE_LLM,
        messages: list[dict[str, Any]],
        max_tokens: int = 100,
        stop_sequence: list[str] | None = None,
        temperature: float = 0.0,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
        response_format: ResponseFormat | dict[str, Any] | None = None,
        x402_settlement_mode: x402SettlementMode | str = x402SettlementMode.BATCH_HASHED,
        stream: bool = False,
        web_search: bool = False,
        conversation_id: str | None = None,
    ) -> TextGenerationOutput | AsyncIterator[StreamChunk]:
        """One chat completion, paid and verified.

        With `stream=True` this returns an async iterator of `StreamChunk`s
        (errors surface while iterating); the last chunk is `is_final` and
        carries usage, the TEE fields, assembled tool calls and the receipt.
        """
        from .types import settlement_mode

        mode = settlement_mode(x402_settlement_mode).value
        body, provider, full = self._build_body(
            model, messages, max_tokens=max_tokens, temperature=temperature,
            stop_sequence=stop_sequence, tools=tools, tool_choice=tool_choice,
            response_format=response_format, web_search=web_search, stream=stream,
        )  # fmt: skip
        call = _Call(CHAT_PATH, body, full, provider, mode, conversation_id)
        if stream:
            return self._stream(call)
        return await self._complete(call)

    async def completion(
        self,
        model: str | TEE_LLM,
        prompt: str,
        max_tokens: int = 100,
        stop_sequence: list[str] | None = None,
        temperature: float = 0.0,
        x402_settlement_mode: x402SettlementMode | str = x402SettlementMode.BATCH_HASHED,
    ) -> TextGenerationOutput:
        """A plain text completion (`/v1/completions`)."""
        from .types import settlement_mode

        provider, bare = split_model(model)
        body: dict[str, Any] = {
            "model": bare,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop_sequence:
            body["stop"] = stop_sequence
        call = _Call(COMPLETION_PATH, body, f"{provider}/{bare}", provider,
                     settlement_mode(x402_settlement_mode).value, None)  # fmt: skip
        return await self._complete(call)

    async def _complete(self, call: _Call) -> TextGenerationOutput:
        resp, route = await self._paid_post(call, stream=False)
        try:
            raw = await resp.aread()
        except httpx.HTTPError as exc:
            self._emit_failed(call, f"the answer was cut off: {exc!r}")
            raise GatewayError(
                0, f"the answer was cut off ({exc!r}); not retried", url=str(resp.url)
            ) from None
        if resp.status_code >= 400:
            self._emit_failed(call, f"gateway error {resp.status_code}: {_reason(raw)}")
            raise GatewayError(resp.status_code, _reason(raw), url=str(resp.url))
        try:
            data = json.loads(raw)
        except ValueError:
            raise GatewayError(
                resp.status_code, "the response is not JSON", url=str(resp.url)
            ) from None
        if not isinstance(data, dict):
            raise GatewayError(
                resp.status_code, "the response is not a JSON object", url=str(resp.url)
            )
        completion_text: str | None = None
        tool_calls: Any = None
        finish_reason = None
        message: dict[str, Any] | None = None
        if call.path == COMPLETION_PATH:
            completion_text = str(data.get("completion") or "")
            content: str | None = completion_text
        else:
            choices = data.get("choices")
            if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
                raise GatewayError(
                    resp.status_code, "'choices' missing or empty", url=str(resp.url)
                )
            message = dict(choices[0].get("message") or {})
            if isinstance(message.get("content"), list):
                message["content"] = " ".join(
                    b.get("text", "")
                    for b in message["content"]
                    if isinstance(b, dict) and b.get("type") == "text"
                ).strip()
            content = message.get("content")
            tool_calls = message.get("tool_calls")
            finish_reason = choices[0].get("finish_reason")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        checks, status = await self._check_tee(route, call, content, tool_calls, data)
        receipt = self._receipt(
            call, data, resp.headers, usage, content, tool_calls, finish_reason, status, checks
        )
        out = TextGenerationOutput(
            data_settlement_transaction_hash=resp.headers.get("x-settlement-tx-hash"),
            data_settlement_blob_id=resp.headers.get("x-settlement-walrus-blob-id"),
            finish_reason=finish_reason,
            chat_output=message,
            completion_output=completion_text,
            images=(message or {}).get("images"),
            usage=usage,
            payment_hash=receipt.payment_hash,
            tee_signature=data.get("tee_signature"),
            tee_timestamp=data.get("tee_timestamp"),
            tee_id=tee_mod.normalise_tee_id(data.get("tee_id") or call.tee_id),
            tee_endpoint=route.base_url,
            tee_payment_address=route.tee.payment_address if route.tee else None,
            tee_request_hash=data.get("tee_request_hash"),
            tee_output_hash=data.get("tee_output_hash"),
            signature_status=status,
            receipt=receipt,
        )
        self._emit(receipt)
        self._raise_if_unverified(status, checks, out)
        return out

    async def _stream(self, call: _Call) -> AsyncIterator[StreamChunk]:
        resp, route = await self._paid_post(call, stream=True)
        acc = StreamAssembler()
        try:
            if resp.status_code >= 400:
                raw = await resp.aread()
                self._emit_failed(call, f"gateway error {resp.status_code}: {_reason(raw)}")
                raise GatewayError(resp.status_code, _reason(raw), url=str(resp.url))
            parser = SSEParser()
            held: StreamChunk | None = None

            def handle(events: Any) -> Any:
                # Hold back a final-looking chunk until we know it is the last:
                # a finish chunk followed by a usage chunk are both yielded,
                # and only the very last one is `is_final`.
                nonlocal held
                for event in events:
                    if event is DONE:
                        acc.done = True
                        return
                    for chunk in acc.add(event):
                        if held is not None:
                            held.is_final = False
                            yield held
                            held = None
                        if chunk.is_final:
                            held = chunk
                        else:
                            yield chunk

            try:
                async for raw_bytes in resp.aiter_bytes():
                    for chunk in handle(parser.feed(raw_bytes)):
                        yield chunk
                    if acc.done:
                        break
                if not acc.done:
                    for chunk in handle(parser.close()):
                        yield chunk
            except httpx.HTTPError as exc:
                raise StreamInterrupted(f"connection lost: {exc}", partial_text=acc.text) from None
            if not acc.done and not acc.final_seen:
                raise StreamInterrupted(
                    "the stream ended before its final event", partial_text=acc.text
                )
            final = held or StreamChunk(model=acc.model)
            await self._finish_stream(final, acc, call, route, resp)
            yield final
        except StreamInterrupted as exc:
            exc.receipt = self._interrupted_receipt(call, acc, exc)  # type: ignore[attr-defined]
            self._emit(exc.receipt)  # type: ignore[attr-defined]
            raise
        finally:
            await resp.aclose()

    async def _finish_stream(
        self,
        final: StreamChunk,
        acc: StreamAssembler,
        call: _Call,
        route: _Route,
        resp: httpx.Response,
    ) -> None:
        final.is_final = True
        if not final.choices:
            final.choices = [StreamChoice()]
        choice = final.choices[0]
        choice.finish_reason = choice.finish_reason or acc.finish_reason
        tool_calls = acc.tool_calls()
        if tool_calls:
            choice.delta.tool_calls = tool_calls
        meta = acc.meta
        final.usage = acc.usage
        for name in ("tee_signature", "tee_timestamp", "tee_request_hash", "tee_output_hash"):
            setattr(final, name, meta.get(name))
        final.tee_id = tee_mod.normalise_tee_id(meta.get("tee_id") or call.tee_id)
        final.tee_endpoint = route.base_url
        final.tee_payment_address = route.tee.payment_address if route.tee else None
        final.data_settlement_transaction_hash = meta.get(
            "data_settlement_transaction_hash"
        ) or resp.headers.get("x-settlement-tx-hash")
        final.data_settlement_blob_id = meta.get("data_settlement_blob_id") or resp.headers.get(
            "x-settlement-walrus-blob-id"
        )
        final.images = meta.get("images")
        checks, status = await self._check_tee(route, call, acc.text, tool_calls, meta)
        usage = None
        if acc.usage is not None:
            usage = {
                "prompt_tokens": acc.usage.prompt_tokens,
                "completion_tokens": acc.usage.completion_tokens,
                "total_tokens": acc.usage.total_tokens,
            }
        receipt = self._receipt(
            call, {**meta, "data_settlement_transaction_hash": final.data_settlement_transaction_hash},
            resp.headers, usage, acc.text, tool_calls, choice.finish_reason, status, checks,
        )  # fmt: skip
        final.signature_status = status
        final.payment_hash = receipt.payment_hash
        final.receipt = receipt
        self._emit(receipt)
        self._raise_if_unverified(status, checks, final)

    # -------------------------------------------------------- trust, receipts

    async def _check_tee(
        self, route: _Route, call: _Call, content: str | None, tool_calls: Any, data: dict[str, Any]
    ) -> tuple[list[tee_mod.CheckResult], SignatureStatus]:
        if not data.get("tee_signature"):
            return [tee_mod.CheckResult("tee signature", False, "no signature in the response")], (
                SignatureStatus.UNAVAILABLE
            )
        signer = data.get("tee_id")
        key = await self._signer_key(
            route, tee_mod.normalise_tee_id(signer) if isinstance(signer, str) else None
        )
        if key is None:
            return [
                tee_mod.CheckResult("tee signature", False, "the TEE key could not be fetched")
            ], (SignatureStatus.UNAVAILABLE)
        checks = tee_mod.check_response(
            public_key=key,
            request_body=call.body,
            content=content,
            tool_calls=tool_calls,
            tee_request_hash=data.get("tee_request_hash"),
            tee_output_hash=data.get("tee_output_hash"),
            tee_signature=data.get("tee_signature"),
            tee_timestamp=data.get("tee_timestamp"),
        )
        ok = all(c.ok for c in checks)
        return checks, SignatureStatus.VERIFIED if ok else SignatureStatus.FAILED

    def _raise_if_unverified(
        self, status: SignatureStatus, checks: list[tee_mod.CheckResult], result: Any
    ) -> None:
        if status is SignatureStatus.FAILED and self.verify:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
            exc = VerificationFailed("the TEE signature", failed)
            exc.result = result  # type: ignore[attr-defined]
            raise exc

    def _receipt(
        self,
        call: _Call,
        data: dict[str, Any],
        headers: httpx.Headers,
        usage: dict[str, Any] | None,
        content: str | None,
        tool_calls: Any,
        finish_reason: str | None,
        status: SignatureStatus,
        checks: list[tee_mod.CheckResult],
    ) -> Receipt:
        usage = usage or {}
        receipt = self._base_receipt(call)
        receipt.tee_id = tee_mod.normalise_tee_id(data.get("tee_id") or call.tee_id)
        receipt.request_hash = data.get("tee_request_hash")
        receipt.output_hash = data.get("tee_output_hash")
        receipt.tee_signature = data.get("tee_signature")
        try:
            ts = data.get("tee_timestamp")
            receipt.tee_timestamp = tee_mod.parse_timestamp(ts) if ts is not None else None
        except (ValueError, TypeError):
            receipt.tee_timestamp = None
        receipt.signature_status = status.value
        receipt.signature_detail = "; ".join(f"{c.name}: {c.detail}" for c in checks)
        receipt.prompt_tokens = int(usage.get("prompt_tokens") or 0)
        receipt.completion_tokens = int(usage.get("completion_tokens") or 0)
        receipt.total_tokens = int(usage.get("total_tokens") or 0)
        receipt.data_settlement_tx = data.get("data_settlement_transaction_hash") or headers.get(
            "x-settlement-tx-hash"
        )
        receipt.blob_id = data.get("data_settlement_blob_id") or headers.get(
            "x-settlement-walrus-blob-id"
        )
        receipt.output_text = tee_mod.output_text(content, tool_calls)
        receipt.finish_reason = finish_reason
        cost = headers.get("x-og-call-cost") or data.get("cost")
        if cost is not None:
            receipt.price_opg = str(cost)
        return receipt

    def _base_receipt(self, call: _Call) -> Receipt:
        profile = self._profile
        receipt = Receipt(
            id=uuid.uuid4().hex,
            created_at=time.time(),
            model=call.model,
            provider=call.provider,
            network=profile.name if profile else self.network,
            endpoint=call.endpoint,
            settlement_mode=call.mode,
            conversation_id=call.conversation_id,
            tee_id=call.tee_id,
            upto_session=call.session,
        )
        payment = call.payment
        if payment is not None:
            accepted = payment.payload.accepted
            receipt.scheme = payment.scheme
            receipt.asset = accepted.asset if accepted else None
            receipt.pay_to = accepted.pay_to if accepted else None
            receipt.authorization_cap = str(payment.amount)
            receipt.nonce = payment.nonce
            receipt.deadline = payment.deadline
            receipt.payer = payment.payer
            receipt.authorization_digest = payment.digest
            receipt.payment_hash = payment.digest
        settle = call.settle
        if settle is not None and getattr(settle, "success", False) and settle.transaction:
            receipt.payment_hash = settle.transaction
            receipt.payment_tx = settle.transaction
            receipt.payment_status = PaymentStatus.SETTLED.value
            if settle.amount is not None:
                receipt.charged_opg = str(settle.amount)
        elif settle is not None and not getattr(settle, "success", True):
            receipt.payment_status = PaymentStatus.FAILED.value
        return receipt

    def _interrupted_receipt(
        self, call: _Call, acc: StreamAssembler, exc: StreamInterrupted
    ) -> Receipt:
        receipt = self._base_receipt(call)
        receipt.output_text = acc.text
        receipt.error = f"stream interrupted: {exc.reason}"
        receipt.signature_status = SignatureStatus.UNAVAILABLE.value
        receipt.signature_detail = "the stream ended before the TEE signed it"
        return receipt

    def _emit_failed(
        self, call: _Call, error: str, payment_status: PaymentStatus | None = None
    ) -> None:
        """A receipt for a call that failed once a payment was involved: nothing is lost."""
        if call.payment is None and call.session is None:
            return
        receipt = self._base_receipt(call)
        receipt.error = error
        if payment_status is not None:
            receipt.payment_status = payment_status.value
        receipt.signature_detail = "the call failed before the TEE signed an answer"
        self._emit(receipt)

    def _emit(self, receipt: Receipt) -> None:
        if self._on_receipt is not None:
            self._on_receipt(receipt)

    # ----------------------------------------------------------- the wallet

    def ensure_opg_approval(
        self,
        min_allowance: float | Decimal | str,
        approve_amount: float | Decimal | str | None = None,
    ) -> Permit2ApprovalResult:
        """Make sure Permit2 may spend at least `min_allowance` OPG (blocking; sends a tx if not)."""
        from .chain import ChainClient

        self.resolve()
        assert self._profile is not None and self._key is not None
        return ChainClient(self._profile).ensure_opg_approval(
            self._key.get(), min_allowance, approve_amount
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

    async def balances(self) -> Any:
        """OPG balance, Permit2 allowance and ETH of this wallet (`chain.Balances`)."""
        from .chain import ChainClient

        await asyncio.to_thread(self.resolve)
        assert self._profile is not None
        return await asyncio.to_thread(ChainClient(self._profile).balances, self.address)

    async def close(self) -> None:
        """Close connections (and stop an embedded devnet this client started)."""
        route, self._route = self._route, None
        if route is not None:
            await route.http.aclose()
        if self._embedded is not None:
            embedded, self._embedded = self._embedded, None
            await asyncio.to_thread(embedded.stop)

    async def __aenter__(self) -> LLM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _reason(body: bytes | str) -> str:
    """A short human reason from an error body (JSON `error`/`detail`, else text)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:300] or "(empty body)"
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or json.dumps(value)
            if value:
                return str(value)[:300]
    return text.strip()[:300] or "(empty body)"


def _get_json(url: str) -> dict[str, Any] | None:
    """GET a JSON document synchronously; None when nothing sensible answers."""
    try:
        resp = httpx.get(url, timeout=10.0, verify=False)
    except httpx.HTTPError:
        return None
    if resp.status_code != 200:
        return None
    try:
        data = resp.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _opg_to_base(value: Decimal | str | None) -> int | None:
    if value is None:
        return None
    from .chain import to_base_units

    return to_base_units(value)
