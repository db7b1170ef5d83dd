"""The devnet's TEE gateway: the live gateway's HTTP API over a real chain and facilitator.

Mirrors OpenGradient's gateway (og-sdk-wire.md §4, §5.2–5.7, §7, §9–§11):
an unpaid call gets a 402 with an x402 v2 `upto` challenge; a paid call opens
a session (`X-Upto-Session`) that later calls on the same route reuse until
it is idle or exhausted, when a reaper settles the accumulated cost on-chain
in one Permit2 transfer. Every answer is signed with the TEE key, and its
metadata is settled `private`ly (payment only), in a Merkle `batch` whose root
is posted on-chain, or `individual`ly (one transaction per call).

Devnet extras the live gateway lacks: `/devnet` (the network document),
`/rpc` (JSON-RPC to the chain), `/v1/payments` (settlement lookups),
`/v1/settlements/{request_hash}` (Merkle proofs), `/devnet/faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from og_chat.sdk import merkle
from og_chat.sdk.errors import MalformedPaymentHeader
from og_chat.sdk.models import CATALOGUE, ModelInfo
from og_chat.sdk.pricing import call_cost
from og_chat.sdk.tee import (
    CanonicalRequestError,
    canonical_chat_request,
    canonical_completion_request,
    output_text as tee_output_text,
)
from og_chat.sdk.x402 import (
    PAYMENT_REQUIRED,
    PAYMENT_SIGNATURE,
    PaymentPayload,
    PaymentRequired,
    PaymentRequirements,
    ResourceInfo,
    decode_payment_signature,
    encode_payment_required,
)

from .faults import Faults
from .responder import (
    Finish,
    GenerationRequest,
    LocalResponder,
    Text,
    ToolCalls,
    UpstreamError,
    UpstreamResponder,
)
from .tee import TeeKeys

log = logging.getLogger("og_chat.devnet.gateway")

MAX_BODY_BYTES = 1024 * 1024
TOKEN_PRICES: dict[str, dict[str, str]] = {
    "OPG": {"usd": "0.0500"},
    "ETH": {"usd": "3000.00"},
    "BTC": {"usd": "60000.00"},
    "USDC": {"usd": "1.0000"},
}
"""Fixed USD quotes the devnet serves for the tutorial's `get_token_price` tool.

They are fixtures, not market data: a devnet is offline and must answer the same
way every time.
"""
DEFAULT_SESSION_CAP = 100_000_000_000_000_000
"""0.1 OPG, the live gateway's session cap (configurable per devnet)."""
SESSION_EXPIRED = "Session expired or exhausted"
UPTO_SESSION = "X-Upto-Session"
SETTLEMENT_TYPE = "X-SETTLEMENT-TYPE"
DEADLINE_MARGIN = 60
"""Seconds before an authorization's deadline a busy session is settled anyway (the chain
clock may run up to 30 s ahead of the wall clock under load)."""
_KEEP_RECORDS = 20_000
"""Closed sessions and batch leaves kept for lookups; older ones drop off, so memory stays flat."""


# ---------------------------------------------------------------------------
# Prices
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """OPG base units per 1M prompt and per 1M completion tokens."""

    prompt_per_million: int
    completion_per_million: int

    def cost(self, prompt_tokens: int, completion_tokens: int) -> int:
        """Base units for one call (the formula clients use to show prices)."""
        return call_cost(
            self.prompt_per_million, self.completion_per_million, prompt_tokens, completion_tokens
        )


_PROVIDER_PRICE = {  # OPG per 1M tokens (prompt, completion) for a mid-tier model
    "openai": (0.125, 1.0),
    "anthropic": (0.3, 1.5),
    "google": (0.125, 1.0),
    "x-ai": (0.3, 1.5),
    "bytedance": (0.03, 0.12),
    "nous": (0.1, 0.3),
    "zai": (0.06, 0.22),
}
_TIERS = (  # first match wins
    (("nano", "lite"), 0.1),
    (("mini", "flash", "haiku", "fast", "70b", "seed"), 0.3),
    (("opus", "405b", "o3", "-pro", "grok-4.20-r"), 3.0),
    (("image", "seedream", "seedance"), 4.0),
)


def price_for(info: ModelInfo) -> Price:
    """The devnet price of a model: a provider base times a tier factor from its name."""
    prompt, completion = _PROVIDER_PRICE.get(info.provider, (0.1, 0.5))
    factor = 1.0
    for words, f in _TIERS:
        if any(w in info.name for w in words):
            factor = f
            break
    return Price(int(prompt * factor * 10**18), int(completion * factor * 10**18))


PRICES: dict[str, Price] = {mid: price_for(info) for mid, info in CATALOGUE.items()}
"""Full model id → price; served in `/devnet` so clients can show costs."""


def find_model(name: str) -> ModelInfo | None:
    """A catalogue model by full id (`provider/model`) or bare name (as the live wire sends)."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    for info in CATALOGUE.values():
        if info.name == name:
            return info
    return None


# ---------------------------------------------------------------------------
# Sessions and records
# ---------------------------------------------------------------------------


@dataclass
class Session:
    """One upto authorization being spent across calls on one route."""

    id: str
    key: str
    """sha256 of the raw PAYMENT-SIGNATURE header: a replay finds the same key."""
    payload: PaymentPayload
    requirements: PaymentRequirements
    payer: str
    nonce: str
    digest: str
    cap: int
    route: tuple[str, str]
    created: float
    last_used: float
    deadline: int = 0
    """The authorization's Permit2 deadline (unix seconds): settle before it passes."""
    accumulated: int = 0
    reserved: int = 0
    calls: int = 0
    in_flight: int = 0
    status: str = "open"
    """open → settling → settled | failed."""

    def summary(self) -> dict[str, Any]:
        """JSON for `/v1/payments` while the session is open."""
        return {
            "session_id": self.id,
            "status": self.status,
            "payer": self.payer,
            "nonce": self.nonce,
            "authorization_digest": self.digest,
            "cap": str(self.cap),
            "amount": str(self.accumulated),
            "calls": self.calls,
            "route": f"{self.route[0]} {self.route[1]}",
            "network": self.requirements.network,
            "tx_hash": None,
        }


@dataclass
class LeafRecord:
    """One call's place in a batch."""

    leaf: bytes
    request_hash: str
    index: int | None = None
    root: bytes | None = None
    proof: list[bytes] = field(default_factory=list)
    tx_hash: str | None = None
    block_number: int | None = None
    status: str = "pending"
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The `/v1/settlements/{request_hash}` document."""
        return {
            "request_hash": self.request_hash,
            "leaf": "0x" + self.leaf.hex(),
            "proof": ["0x" + p.hex() for p in self.proof],
            "root": "0x" + self.root.hex() if self.root else None,
            "tx_hash": self.tx_hash,
            "block_number": self.block_number,
            "index": self.index,
            "status": self.status,
            "error": self.error,
        }


class BadRequest(Exception):
    """A client error to answer with a 4xx JSON body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def settlement_mode(header: str | None) -> str:
    """`private`, `batch` or `individual` from `X-SETTLEMENT-TYPE`, with the live aliases."""
    value = (header or "").strip().lower()
    if value in ("private", "pivate"):
        return "private"
    if value in ("individual", "inidvidual"):
        return "individual"
    return "batch"


def _hex32(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


# ---------------------------------------------------------------------------
# The gateway
# ---------------------------------------------------------------------------


@dataclass
class GatewayConfig:
    """Knobs of the gateway's payment and settlement behaviour."""

    session_cap: int = DEFAULT_SESSION_CAP
    session_idle: float = 10.0
    batch_size: int = 8
    batch_interval: float = 5.0
    max_timeout_seconds: int = 300


class Gateway:
    """The HTTP gateway; build with `Gateway(...)`, mount with `make_app()`, stop with `close()`."""

    def __init__(
        self,
        *,
        chain: Any,
        facilitator: Any,
        tee: TeeKeys,
        pay_to: str,
        responder: LocalResponder | UpstreamResponder,
        config: GatewayConfig | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.chain = chain
        self.facilitator = facilitator
        self.tee = tee
        self.pay_to = pay_to
        self.responder = responder
        self.config = config or GatewayConfig()
        self.faults = faults or Faults()
        self.base_url = ""
        """Set by the server once bound, e.g. `http://127.0.0.1:8402`."""
        self.sessions: dict[str, Session] = {}
        self._by_key: OrderedDict[str, str] = OrderedDict()
        self._by_payer_nonce: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._by_digest: OrderedDict[str, str] = OrderedDict()
        self.records: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """Closed sessions' settlement records, by session id."""
        self.leaves: OrderedDict[str, LeafRecord] = OrderedDict()
        """Batch leaves by request hash (the newest call wins)."""
        self.individual: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """Individual settlements by request hash, once mined."""
        self._pending: list[LeafRecord] = []
        self._pending_since: float | None = None
        self._batch_lock = asyncio.Lock()
        self._flush_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[Any] | None = None
        self._closing = False
        self.requirement = self._requirement()

    # -- lifecycle ---------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application with every route (and the facilitator's at the root)."""
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._errors])
        r = app.router
        r.add_post("/v1/chat/completions", self.handle_inference)
        r.add_post("/v1/completions", self.handle_inference)
        r.add_get("/v1/models", self.handle_models)
        r.add_get("/health", self.handle_health)
        r.add_get("/signing-key", self.handle_signing_key)
        r.add_get("/devnet", self.handle_devnet)
        r.add_get("/devnet/faults", self.handle_faults)
        r.add_post("/devnet/faults", self.handle_faults)
        r.add_post("/rpc", self.handle_rpc)
        r.add_get("/v1/payments", self.handle_payment_lookup)
        r.add_get("/v1/payments/{session_id}", self.handle_payment)
        r.add_get("/v1/settlements/{request_hash}", self.handle_settlement)
        self.facilitator.add_routes(app)
        app.on_startup.append(self._on_startup)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def close(self) -> None:
        """Settle every open session and post the pending batch, then stop the reaper."""
        self._closing = True
        if self._reaper:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for _ in range(100):  # let in-flight answers finish charging (≤ 5 s)
            if not any(s.in_flight for s in self.sessions.values()):
                break
            await asyncio.sleep(0.05)
        open_sessions = [s for s in self.sessions.values() if s.status == "open"]
        await asyncio.gather(*(self.settle_session(s) for s in open_sessions))
        await self.flush_batch()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if isinstance(self.responder, UpstreamResponder):
            await self.responder.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reap_forever(self) -> None:
        interval = max(
            0.05, min(0.25, self.config.session_idle / 4, self.config.batch_interval / 4)
        )
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reap()
            except Exception:  # the reaper must survive anything one settlement does
                log.exception("reaper pass failed")

    async def reap(self) -> None:
        """Settle idle or exhausted sessions; post the batch when its interval has passed."""
        now = time.monotonic()
        for s in list(self.sessions.values()):
            if s.status != "open" or s.in_flight:
                continue
            expiring = bool(s.deadline) and time.time() + DEADLINE_MARGIN >= s.deadline
            if s.accumulated >= s.cap or expiring or now - s.last_used >= self.config.session_idle:
                s.status = "settling"
                self._spawn(self.settle_session(s))
        since = self._pending_since
        if self._pending and since is not None and now - since >= self.config.batch_interval:
            self._kick_flush()

    # -- middleware and small routes ----------------------------------------

    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Callable[..., Any]
    ) -> web.StreamResponse:
        """Every error is JSON `{"error": ...}`; nothing escapes as a traceback page."""
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except BadRequest as exc:
            return _error(exc.status, exc.message)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _error(exc.status, exc.reason or "error", headers=None)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return _error(500, "internal devnet error (see the devnet log)")

    async def handle_health(self, request: web.Request) -> web.Response:
        """Liveness, as the live gateway's `/health`."""
        return web.json_response({"status": "ok", "tee_id": self.tee.tee_id})

    async def handle_models(self, request: web.Request) -> web.Response:
        """The catalogue, OpenAI-style, with prices."""
        data = [
            {
                "id": info.name,
                "object": "model",
                "owned_by": info.provider,
                "full_id": mid,
                "display_name": info.display_name,
                **dataclasses.asdict(PRICES[mid]),
            }
            for mid, info in CATALOGUE.items()
        ]
        return web.json_response({"object": "list", "data": data})

    async def handle_signing_key(self, request: web.Request) -> web.Response:
        """The TEE's public signing key, as the live `/signing-key`."""
        return web.json_response(
            {
                "public_key": self.tee.public_key_pem,
                "tee_id": self.tee.tee_id,
                "wallet_address": self.pay_to,
                "timestamp": int(time.time()),
                "enclave_info": {"type": "og-chat devnet", "attested": False},
                "measurements": None,
            }
        )

    def devnet_document(self) -> dict[str, Any]:
        """Everything a client needs to use this devnet (`GET /devnet`)."""
        a = self.chain.addresses
        return {
            "chain_id": self.chain.chain_id,
            "network": f"eip155:{self.chain.chain_id}",
            "rpc_url": self.base_url + "/rpc",
            "gateway_url": self.base_url,
            "contracts": {
                "opg": a.opg,
                "permit2": a.permit2,
                "upto_proxy": a.upto_proxy,
                "exact_permit2_proxy": a.exact_permit2_proxy,
                "tee_registry": a.tee_registry,
                "settlement": a.settlement,
            },
            "facilitator_address": self.facilitator.address,
            "pay_to": self.pay_to,
            "tee_id": self.tee.tee_id,
            "token": {"name": "OpenGradient", "version": "1", "decimals": 18, "symbol": "OPG"},
            "session": {
                "cap": str(self.config.session_cap),
                "idle_seconds": self.config.session_idle,
            },
            "settlement": {
                "batch_size": self.config.batch_size,
                "batch_interval_seconds": self.config.batch_interval,
            },
            "accounts": [
                {"address": acct.address, "private_key": acct.private_key}
                for acct in self.chain.accounts
            ],
            "prices": {mid: dataclasses.asdict(p) for mid, p in PRICES.items()},
            "token_prices": TOKEN_PRICES,
            "faults": self.faults.as_dict(),
        }

    async def handle_devnet(self, request: web.Request) -> web.Response:
        """`GET /devnet`."""
        return web.json_response(self.devnet_document())

    async def handle_faults(self, request: web.Request) -> web.Response:
        """`GET` shows the fault switches; `POST` a JSON object to change some."""
        if request.method == "POST":
            body = await self._json_body(request)
            if not isinstance(body, dict):
                raise BadRequest(400, "send a JSON object of fault switches")
            try:
                self.faults.update(body)
            except ValueError as exc:
                raise BadRequest(400, str(exc)) from None
        return web.json_response(self.faults.as_dict())

    async def handle_rpc(self, request: web.Request) -> web.Response:
        """JSON-RPC 2.0 (single or batch), answered by the chain."""
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
            )
        if isinstance(body, list):
            if not body:
                return web.json_response(
                    {
                        "jsonrpc": "2.0",
                        "id": None,
                        "error": {"code": -32600, "message": "empty batch"},
                    }
                )
            return web.json_response([await self._rpc_one(item) for item in body])
        return web.json_response(await self._rpc_one(body))

    async def _rpc_one(self, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict) or not isinstance(item.get("method"), str):
            return {
                "jsonrpc": "2.0",
                "id": item.get("id") if isinstance(item, dict) else None,
                "error": {"code": -32600, "message": "Invalid Request"},
            }
        rid = item.get("id")
        params = item.get("params") or []
        if not isinstance(params, list):
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {"code": -32602, "message": "params must be a list"},
            }
        try:
            result = await self.chain.jsonrpc.call_async(item["method"], params)
        except Exception as exc:
            return {"jsonrpc": "2.0", "id": rid, "error": _rpc_error(exc)}
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    async def handle_payment(self, request: web.Request) -> web.Response:
        """`GET /v1/payments/{session_id}`: the session's settlement (or its open state)."""
        sid = request.match_info["session_id"]
        return self._payment_response(sid)

    async def handle_payment_lookup(self, request: web.Request) -> web.Response:
        """`GET /v1/payments?payer=..&nonce=..` or `?digest=..`: a payment by its authorization."""
        q = request.query
        sid: str | None = None
        if q.get("digest"):
            sid = self._by_digest.get(q["digest"].lower())
        elif q.get("payer") and q.get("nonce"):
            try:
                nonce = _parse_uint(q["nonce"])
            except ValueError:
                raise BadRequest(400, "nonce must be a decimal or 0x-hex integer") from None
            sid = self._by_payer_nonce.get((q["payer"].lower(), nonce))
        else:
            raise BadRequest(400, "give ?payer=&nonce= or ?digest=")
        if sid is None:
            return _error(404, "no payment with that authorization")
        return self._payment_response(sid)

    def _payment_response(self, sid: str) -> web.Response:
        if sid in self.records:
            return web.json_response(self.records[sid])
        session = self.sessions.get(sid)
        if session is None:
            return _error(404, f"no session {sid}")
        return web.json_response(session.summary())

    async def handle_settlement(self, request: web.Request) -> web.Response:
        """`GET /v1/settlements/{request_hash}`: the batch leaf, proof and posted root."""
        key = request.match_info["request_hash"].lower().removeprefix("0x")
        record = self.leaves.get(key)
        if record is not None:
            return web.json_response(record.as_json())
        if key in self.individual:
            return web.json_response(self.individual[key])
        return _error(404, f"no batch- or individually-settled call with request hash {key}")

    # -- payment -------------------------------------------------------------

    def _requirement(self) -> PaymentRequirements:
        from og_chat.sdk.signing import checksum

        return PaymentRequirements(
            scheme="upto",
            network=f"eip155:{self.chain.chain_id}",
            asset=checksum(self.chain.addresses.opg),
            amount=str(self.config.session_cap),
            payTo=checksum(self.pay_to),
            maxTimeoutSeconds=self.config.max_timeout_seconds,
            extra={
                "name": "OpenGradient",
                "version": "1",
                "assetTransferMethod": "permit2",
                "facilitatorAddress": checksum(self.facilitator.address),
            },
        )

    def _payment_required(self, request: web.Request, error: str) -> web.Response:
        description = (
            "Chat completion" if request.path.endswith("chat/completions") else "Completion"
        )
        required = PaymentRequired(
            x402Version=2,
            error=error,
            resource=ResourceInfo(
                url=self.base_url + request.path,
                description=description,
                mimeType="application/json",
            ),
            accepts=[self.requirement],
            extensions=_EXTENSIONS,
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

    def _matches(self, accepted: PaymentRequirements | None) -> str | None:
        """None when `accepted` is our requirement (x402-evm.md §2 rules), else why not."""
        if accepted is None:
            return "payload has no 'accepted' requirement (x402 v2 expected)"
        ours = self.requirement
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

    async def _open_session(
        self, request: web.Request, header: str
    ) -> tuple[Session | None, web.Response | None]:
        """Decode, match, verify a fresh payment and open its session (or say why not)."""
        try:
            payload = decode_payment_signature(header)
        except MalformedPaymentHeader as exc:
            raise BadRequest(400, str(exc)) from None
        if payload.x402_version != 2:
            return None, self._payment_required(request, "x402 v2 PAYMENT-SIGNATURE expected")
        key = hashlib.sha256(header.encode()).hexdigest()
        if key in self._by_key:
            return None, self._payment_required(
                request, "payment already used: this authorization opened a session before"
            )
        mismatch = self._matches(payload.accepted)
        if mismatch:
            return None, self._payment_required(request, mismatch)
        try:
            auth = payload.payload["permit2Authorization"]
            payer = str(auth["from"])
            nonce = _parse_uint(auth["nonce"])
            deadline = int(auth["deadline"])
        except (KeyError, TypeError, ValueError):
            raise BadRequest(
                400, "PAYMENT-SIGNATURE payload lacks permit2Authorization.from/nonce"
            ) from None
        if (payer.lower(), nonce) in self._by_payer_nonce:
            return None, self._payment_required(request, "permit2_nonce_already_used")
        try:
            verdict = await self.facilitator.verify(payload, self.requirement)
        except Exception as exc:
            log.exception("facilitator verify failed")
            return None, _error(502, f"facilitator verify failed: {exc}")
        if not verdict.is_valid:
            reason = verdict.invalid_reason or "invalid_payment"
            if getattr(verdict, "invalid_message", None):
                reason = f"{reason}: {verdict.invalid_message}"
            return None, self._payment_required(request, reason)
        if key in self._by_key or (payer.lower(), nonce) in self._by_payer_nonce:
            return None, self._payment_required(request, "payment already used")  # raced
        digest = _digest(payload, self.requirement)
        now = time.monotonic()
        session = Session(
            id=str(uuid.uuid4()),
            key=key,
            payload=payload,
            requirements=payload.accepted or self.requirement,
            payer=payer,
            nonce=str(nonce),
            digest=digest,
            cap=self.requirement.amount_int,
            route=(request.method, request.path),
            created=now,
            last_used=now,
            deadline=deadline,
        )
        self.sessions[session.id] = session
        _remember(self._by_key, key, session.id)
        _remember(self._by_payer_nonce, (payer.lower(), nonce), session.id)
        _remember(self._by_digest, digest.lower(), session.id)
        return session, None

    async def settle_session(self, session: Session) -> dict[str, Any]:
        """Settle the session's accumulated cost on-chain in one go, record it, close it."""
        session.status = "settling"
        amount = min(session.accumulated, session.cap)
        requirements = session.requirements.model_copy(update={"amount": str(amount)})
        record: dict[str, Any] = {
            "session_id": session.id,
            "payer": session.payer,
            "nonce": session.nonce,
            "authorization_digest": session.digest,
            "amount": str(amount),
            "cap": str(session.cap),
            "calls": session.calls,
            "route": f"{session.route[0]} {session.route[1]}",
            "network": session.requirements.network,
            "tx_hash": None,
            "settled_at": None,
        }
        if hasattr(self.facilitator, "refuse_settlement"):
            self.facilitator.refuse_settlement = self.faults.refuse_settlement
        try:
            if self.faults.refuse_settlement and not hasattr(self.facilitator, "refuse_settlement"):
                raise RuntimeError("settlement refused (devnet fault)")
            result = await self.facilitator.settle(session.payload, requirements)
            if result.success:
                record.update(status="settled", tx_hash=result.transaction or None)
            else:
                reason = result.error_reason or "settlement_failed"
                if result.error_message:
                    reason = f"{reason}: {result.error_message}"
                record.update(status="failed", error=reason)
        except Exception as exc:
            log.warning("settling session %s failed: %s", session.id, exc)
            record.update(status="failed", error=str(exc))
        record["settled_at"] = int(time.time())
        session.status = record["status"]
        self.sessions.pop(session.id, None)
        _remember(self.records, session.id, record)
        return record

    # -- inference -----------------------------------------------------------

    async def _json_body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BadRequest(400, "request body is not valid JSON") from None

    def _parse(
        self, request: web.Request, body: Any
    ) -> tuple[GenerationRequest, dict[str, Any], str]:
        """Validate the body; `(generation request, canonical request, echoed model)`."""
        if not isinstance(body, dict):
            raise BadRequest(400, "request body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            raise BadRequest(400, "'model' is required and must be a string, e.g. \"gpt-4.1-mini\"")
        info = find_model(model)
        if info is None:
            raise BadRequest(
                400,
                f"unknown model {model!r}: send a bare name such as 'claude-haiku-4-5' or "
                "'anthropic/claude-haiku-4-5'; list them with GET /v1/models or `og-chat models`",
            )
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0
        ):
            raise BadRequest(400, "'max_tokens' must be a non-negative integer or null")
        temperature = body.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool) or not isinstance(temperature, int | float)
        ):
            raise BadRequest(400, "'temperature' must be a number")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise BadRequest(400, "'stream' must be true or false")
        stop = body.get("stop")
        if stop is None or stop == "" or stop == []:
            stops: list[str] = []
        elif isinstance(stop, str):
            stops = [stop]
        elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
            stops = list(stop)
        else:
            raise BadRequest(400, "'stop' must be a string or a list of strings")
        if request.path.endswith("/chat/completions"):
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                raise BadRequest(
                    400, "'messages' must be a non-empty list of {role, content} objects"
                )
            for i, m in enumerate(messages):
                if not isinstance(m, dict):
                    raise BadRequest(400, f"messages[{i}] must be an object")
                if m.get("role") not in (
                    "system",
                    "developer",
                    "user",
                    "assistant",
                    "tool",
                    "function",
                ):
                    raise BadRequest(
                        400, f"messages[{i}].role {m.get('role')!r} is not a known role"
                    )
                content = m.get("content")
                if content is not None and not isinstance(content, str | list):
                    raise BadRequest(
                        400, f"messages[{i}].content must be a string, a list of parts or null"
                    )
            tools = body.get("tools") or []
            if not isinstance(tools, list) or not all(
                isinstance(t, dict)
                and isinstance(t.get("function"), dict)
                and isinstance(t["function"].get("name"), str)
                for t in tools
            ):
                raise BadRequest(
                    400, "'tools' must be a list of {type: 'function', function: {name, ...}}"
                )
            try:
                canonical = canonical_chat_request(body)
            except CanonicalRequestError as exc:
                raise BadRequest(400, str(exc)) from None
        else:
            prompt = body.get("prompt")
            if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
                prompt = "\n".join(prompt)
            if not isinstance(prompt, str):
                raise BadRequest(400, "'prompt' must be a string")
            messages = [{"role": "user", "content": prompt}]
            tools = []
            canonical = canonical_completion_request(body)
        gen = GenerationRequest(
            model_id=info.id,
            model=model,
            provider=info.provider,
            display_name=info.display_name,
            messages=messages,
            tools=tools,
            max_tokens=max_tokens,
            stop=stops,
            temperature=float(temperature or 0.0),
            stream=stream,
        )
        return gen, canonical, model

    def _estimate(self, gen: GenerationRequest) -> int:
        from .responder import count_prompt_tokens

        price = PRICES[gen.model_id]
        completion = gen.max_tokens if gen.max_tokens is not None else 256
        return price.cost(count_prompt_tokens(gen.messages), completion)

    async def handle_inference(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/chat/completions`, `/v1/completions`: challenge, pay, answer, sign, charge."""
        body = await self._json_body(request)
        gen, canonical, model = self._parse(request, body)
        mode = settlement_mode(request.headers.get(SETTLEMENT_TYPE))

        session: Session | None = None
        signature = request.headers.get(PAYMENT_SIGNATURE)
        if signature:
            session, refusal = await self._open_session(request, signature)
            if refusal is not None:
                return refusal
        elif request.headers.get(UPTO_SESSION):
            sid = request.headers[UPTO_SESSION].strip()
            candidate = self.sessions.get(sid)
            estimate = self._estimate(gen)
            if (
                candidate is None
                or candidate.status != "open"
                or candidate.route != (request.method, request.path)
                or candidate.accumulated + candidate.reserved + estimate > candidate.cap
                or time.time() + DEADLINE_MARGIN >= candidate.deadline
            ):
                return _error(402, SESSION_EXPIRED, headers={"Cache-Control": "no-store"})
            session = candidate
        else:
            return self._payment_required(request, "PAYMENT-SIGNATURE header is required")
        assert session is not None

        reserve = self._estimate(gen)
        session.reserved += reserve
        session.in_flight += 1
        session.last_used = time.monotonic()
        try:
            if self.faults.status_5xx:
                return _error(
                    self.faults.status_5xx, "service temporarily unavailable (devnet fault)"
                )
            if self.faults.first_byte_delay:
                await asyncio.sleep(self.faults.first_byte_delay)
            if gen.stream:
                return await self._stream(request, gen, canonical, model, session, mode)
            return await self._complete(request, gen, canonical, model, session, mode)
        finally:
            session.reserved -= reserve
            session.in_flight -= 1
            session.last_used = time.monotonic()
            if (
                session.status == "open"
                and session.accumulated >= session.cap
                and not session.in_flight
            ):
                session.status = "settling"
                self._spawn(self.settle_session(session))

    def _charge(self, session: Session, gen: GenerationRequest, finish: Finish) -> int:
        cost = PRICES[gen.model_id].cost(finish.prompt_tokens, finish.completion_tokens)
        cost = min(cost, session.cap - session.accumulated)
        session.accumulated += cost
        session.calls += 1
        return cost

    def _session_headers(self, session: Session) -> dict[str, str]:
        return {UPTO_SESSION: session.id, "Cache-Control": "private"}

    async def _complete(
        self,
        request: web.Request,
        gen: GenerationRequest,
        canonical: dict[str, Any],
        model: str,
        session: Session,
        mode: str,
    ) -> web.StreamResponse:
        pieces: list[str] = []
        calls: list[dict[str, Any]] | None = None
        finish: Finish | None = None
        try:
            async for event in self.responder.respond(gen):
                if isinstance(event, Text):
                    pieces.append(event.text)
                    drop = self.faults.drop_after_tokens
                    if drop is not None and len(pieces) >= drop:
                        return _drop(request)
                elif isinstance(event, ToolCalls):
                    calls = event.calls
                elif isinstance(event, Finish):
                    finish = event
        except UpstreamError as exc:
            return _error(502, str(exc))
        assert finish is not None
        content = "".join(pieces)
        signed = self.tee.sign(canonical, tee_output_text(content, calls), int(time.time()))
        headers = self._session_headers(session)
        headers.update(await self._settle_data(mode, signed))
        usage = {
            "prompt_tokens": finish.prompt_tokens,
            "completion_tokens": finish.completion_tokens,
            "total_tokens": finish.prompt_tokens + finish.completion_tokens,
        }
        if request.path.endswith("/chat/completions"):
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if calls:
                message["tool_calls"] = calls
            body: dict[str, Any] = {
                "id": f"chatcmpl-{uuid.uuid4()}",
                "object": "chat.completion",
                "created": signed.timestamp,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish.reason}],
            }
        else:
            body = {
                "id": f"cmpl-{uuid.uuid4()}",
                "object": "text_completion",
                "created": signed.timestamp,
                "model": model,
                "choices": [{"text": content, "index": 0, "finish_reason": finish.reason}],
                "completion": content,
            }
        body["usage"] = usage
        body.update(signed.fields())
        self._charge(session, gen, finish)
        return web.json_response(body, headers=headers)

    async def _stream(
        self,
        request: web.Request,
        gen: GenerationRequest,
        canonical: dict[str, Any],
        model: str,
        session: Session,
        mode: str,
    ) -> web.StreamResponse:
        events = self.responder.respond(gen)
        try:  # the first event before any header, so an upstream failure can still be a 502
            first = await events.__anext__()
        except UpstreamError as exc:
            return _error(502, str(exc))
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "Connection": "keep-alive",
                UPTO_SESSION: session.id,
            }
        )
        await resp.prepare(request)
        batch = isinstance(self.responder, LocalResponder) and self.responder.tokens_per_second <= 0
        out: list[bytes] = []

        async def emit(data: dict[str, Any] | str, *, flush: bool = False) -> None:
            line = data if isinstance(data, str) else json.dumps(data)
            out.append(f"data: {line}\n\n".encode())
            if flush or not batch or len(out) >= 64:
                await resp.write(b"".join(out))
                out.clear()

        pieces: list[str] = []
        calls: list[dict[str, Any]] | None = None
        finish: Finish | None = None

        async def chain_events() -> Any:
            yield first
            async for ev in events:
                yield ev

        try:
            async for event in chain_events():
                if isinstance(event, Text):
                    pieces.append(event.text)
                    await emit(
                        {
                            "choices": [
                                {
                                    "delta": {"content": event.text, "role": "assistant"},
                                    "index": 0,
                                    "finish_reason": None,
                                }
                            ],
                            "model": model,
                        }
                    )
                    drop = self.faults.drop_after_tokens
                    if drop is not None and len(pieces) >= drop:
                        if out:
                            await resp.write(b"".join(out))
                        return _drop(request, resp)
                    if self.faults.malformed_sse and len(pieces) >= 3:
                        await emit(_GARBAGE_SSE, flush=True)
                        await emit({"error": "Stream processing failed"}, flush=True)
                        return resp
                elif isinstance(event, ToolCalls):
                    calls = event.calls
                    for i, call in enumerate(calls):
                        await emit(
                            {
                                "choices": [
                                    {
                                        "delta": {
                                            "role": "assistant",
                                            "tool_calls": [{"index": i, **call}],
                                        },
                                        "index": 0,
                                        "finish_reason": None,
                                    }
                                ],
                                "model": model,
                            }
                        )
                elif isinstance(event, Finish):
                    finish = event
        except UpstreamError as exc:
            log.warning("upstream failed mid-stream: %s", exc)
            await emit({"error": "Stream processing failed"}, flush=True)
            return resp
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        if self.faults.malformed_sse:  # short answers: still misbehave at the end
            await emit(_GARBAGE_SSE, flush=True)
            await emit({"error": "Stream processing failed"}, flush=True)
            return resp
        assert finish is not None
        signed = self.tee.sign(canonical, tee_output_text("".join(pieces), calls), int(time.time()))
        final: dict[str, Any] = {
            "choices": [{"delta": {}, "index": 0, "finish_reason": finish.reason}],
            "model": model,
            **signed.fields(),
            "usage": {
                "prompt_tokens": finish.prompt_tokens,
                "completion_tokens": finish.completion_tokens,
                "total_tokens": finish.prompt_tokens + finish.completion_tokens,
            },
        }
        data_headers = await self._settle_data(mode, signed)
        if mode == "individual":
            final["data_settlement_success"] = (
                data_headers.get("X-Settlement-Status") == "submitted"
            )
            final["data_settlement_transaction_hash"] = data_headers.get("X-Settlement-Tx-Hash")
            final["data_settlement_blob_id"] = None
            final["settlement_job_id"] = data_headers.get("X-Settlement-Job-ID")
            final["settlement_queue_nonce"] = data_headers.get("X-Settlement-Queue-Nonce")
        self._charge(session, gen, finish)
        await emit(final)
        await emit("[DONE]", flush=True)
        await resp.write_eof()
        return resp

    # -- data settlement ---------------------------------------------------------

    async def _settle_data(self, mode: str, signed: Any) -> dict[str, str]:
        """Settle one call's metadata per `mode`; the `X-Settlement-*` headers to send."""
        if mode == "private":
            return {}
        if mode == "batch":
            leaf = merkle.leaf_hash(
                tee_id=signed.tee_id,
                request_hash=signed.request_hash,
                output_hash=signed.output_hash,
                tee_signature=signed.signature,
                tee_timestamp=signed.timestamp,
            )
            record = LeafRecord(leaf=leaf, request_hash=signed.request_hash)
            _remember(self.leaves, signed.request_hash, record)
            self._pending.append(record)
            if self._pending_since is None:
                self._pending_since = time.monotonic()
            if len(self._pending) >= self.config.batch_size:
                self._kick_flush()
            return {}

        job = str(uuid.uuid4())
        headers = {
            "X-Settlement-Type": "individual",
            "X-Settlement-Job-ID": job,
            "X-Settlement-Queue": "devnet",
            "X-Settlement-Signer-Address": self.chain.operator.address,
            "X-TEE-ID": signed.tee_id,
            "X-TEE-Timestamp": str(signed.timestamp),
            "X-TEE-Request-Hash": signed.request_hash,
            "X-TEE-Output-Hash": signed.output_hash,
        }
        try:
            tx_hash = await self._submit_individual(signed)
            headers["X-Settlement-Status"] = "submitted"
            headers["X-Settlement-Tx-Hash"] = tx_hash
            self._spawn(self._confirm_individual(signed.request_hash, tx_hash))
        except Exception as exc:
            log.warning("individual settlement failed: %s", exc)
            headers["X-Settlement-Status"] = "failed"
        return headers

    async def _submit_individual(self, signed: Any) -> str:
        """Broadcast `settleIndividual` for one call; its tx hash, before it is mined.

        The answer should not wait for a block (up to ~1 s when the py-evm clock is
        paced), so the transaction is signed and sent on the chain thread and only its
        hash is awaited; `_confirm_individual` records the outcome.
        """
        import base64

        return await self.chain.operator.submit_individual(
            tee_id=signed.tee_id,
            request_hash=signed.request_hash,
            output_hash=signed.output_hash,
            signature=base64.b64decode(signed.signature),
            timestamp=signed.timestamp,
        )

    async def _confirm_individual(self, request_hash: str, tx_hash: str) -> None:
        """Record whether an individual settlement was mined successfully."""
        record = {"mode": "individual", "request_hash": request_hash, "tx_hash": tx_hash}
        try:
            tx = await self.chain.wait_for_tx(tx_hash)
            record.update(
                status="mined" if tx.status == 1 else "failed", block_number=tx.block_number
            )
        except Exception as exc:
            record.update(status="failed", error=str(exc))
        _remember(self.individual, request_hash, record)

    def _kick_flush(self) -> None:
        """Start a batch post unless one is already running (it picks up what piles up)."""
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self.flush_batch())
            self._tasks.add(self._flush_task)
            self._flush_task.add_done_callback(self._tasks.discard)

    async def flush_batch(self) -> None:
        """Post the Merkle root of every pending leaf (again while a full batch piles up)."""
        async with self._batch_lock:
            while self._pending:
                await self._post_batch()
                if len(self._pending) < self.config.batch_size:
                    break

    async def _post_batch(self) -> None:
        """Post one root over all pending leaves and give each leaf its proof."""
        if self._pending:
            batch, self._pending = self._pending, []
            self._pending_since = time.monotonic() if self._pending else None
            levels = merkle.build_levels([r.leaf for r in batch])
            root = levels[-1][0]
            for i, r in enumerate(batch):
                r.index, r.root, r.proof = i, root, merkle.proof_for(levels, i)
            try:
                tx = await self.chain.operator.post_batch_root(root, len(batch))
            except Exception as exc:
                log.warning("posting batch root failed: %s", exc)
                for r in batch:
                    r.status, r.error = "failed", str(exc)
                return
            for r in batch:
                r.tx_hash, r.block_number = tx.tx_hash, tx.block_number
                r.status = "posted" if tx.status == 1 else "failed"


_GARBAGE_SSE = (
    'not json at all"}\n\ngarbage line without a field\n\n: a comment\n\nevent: ping\n\n'
    'data:{"choices": [{"delta": '
)
_EXTENSIONS: dict[str, Any] = {
    "erc20ApprovalGasSponsoring": {
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
"""As the live gateway declares (og-sdk-wire.md §5.3); the devnet facilitator does not sponsor."""


def _drop(request: web.Request, resp: web.StreamResponse | None = None) -> web.StreamResponse:
    """Cut the connection mid-answer, as a network failure would."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return resp if resp is not None else web.Response(status=500)


def _remember(store: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > _KEEP_RECORDS:
        store.popitem(last=False)


def _parse_uint(value: Any) -> int:
    text = str(value).strip()
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def _digest(payload: PaymentPayload, requirement: PaymentRequirements) -> str:
    """EIP-712 digest of the authorization: the payment's id until its settlement tx exists."""
    from og_chat.sdk.signing import typed_data_digest, typed_data_for_payload

    try:
        return typed_data_digest(typed_data_for_payload(payload, requirement))
    except Exception:
        return (
            "0x" + hashlib.sha256(json.dumps(payload.wire(), sort_keys=True).encode()).hexdigest()
        )


def _rpc_error(exc: Exception) -> dict[str, Any]:
    as_rpc = getattr(exc, "rpc", None)
    if callable(as_rpc):
        try:
            err = as_rpc()
            if isinstance(err, dict):
                return err
        except Exception:  # fall through to the generic mapping
            pass
    reason = getattr(exc, "reason", None)
    if reason is not None:
        return {"code": 3, "message": f"execution reverted: {reason}", "data": str(reason)}
    if isinstance(exc, NotImplementedError | KeyError | AttributeError):
        return {"code": -32601, "message": f"method not supported by the devnet chain: {exc}"}
    if isinstance(exc, ValueError | TypeError):
        return {"code": -32602, "message": f"invalid params: {exc}"}
    return {"code": -32000, "message": str(exc) or type(exc).__name__}
