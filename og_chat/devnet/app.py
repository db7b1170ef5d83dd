"""The gateway's aiohttp application: its routes, the error middleware, the small endpoints.

The live gateway's routes (`/v1/chat/completions`, `/v1/completions`, `/v1/models`,
`/health`, `/signing-key`), the facilitator's (`/supported`, `/verify`, `/settle`),
and the devnet's extras: `/devnet` (the network document), `/devnet/faults`,
`/rpc` (JSON-RPC to the chain), `/v1/payments` (settlement lookups) and
`/v1/settlements/{call_id}` (each call's on-chain record, with its Merkle proof in batch mode).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from og_chat.sdk.eth import parse_uint
from og_chat.sdk.models import CATALOGUE

from .gateway import Gateway
from .http_errors import BadRequest, error_response
from .validation import read_json

log = logging.getLogger("og_chat.devnet.gateway")

MAX_BODY_BYTES = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(gateway: Gateway) -> web.Application:
    """The aiohttp application with every route (and the facilitator's at the root)."""
    routes = _Routes(gateway)
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_errors])
    r = app.router
    r.add_post("/v1/chat/completions", gateway.inference.handle)
    r.add_post("/v1/completions", gateway.inference.handle)
    r.add_get("/v1/models", routes.models)
    r.add_get("/health", routes.health)
    r.add_get("/signing-key", routes.signing_key)
    r.add_get("/devnet", routes.devnet)
    r.add_get("/devnet/faults", routes.faults)
    r.add_post("/devnet/faults", routes.faults)
    r.add_post("/rpc", routes.rpc)
    r.add_get("/v1/payments", routes.payment_lookup)
    r.add_get("/v1/payments/{session_id}", routes.payment)
    r.add_get("/v1/settlements/{call_id}", routes.settlement)
    gateway.facilitator.add_routes(app)

    async def on_startup(_: web.Application) -> None:
        gateway.start_reaper()

    app.on_startup.append(on_startup)
    return app


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error is JSON `{"error": ...}`; nothing escapes as a traceback page."""
    try:
        return await handler(request)
    except BadRequest as exc:
        return error_response(exc.status, exc.message)
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason or "error")
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal devnet error (see the devnet log)")


class _Routes:
    """The endpoints besides inference, each a few lines over the gateway's parts."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def health(self, _: web.Request) -> web.Response:
        """Liveness, as the live gateway's `/health`."""
        return web.json_response({"status": "ok", "tee_id": self.gateway.tee.tee_id})

    async def models(self, _: web.Request) -> web.Response:
        """The catalogue, OpenAI-style, with prices."""
        prices = self.gateway.payments.prices
        data = [
            {
                "id": info.name,
                "object": "model",
                "owned_by": info.provider,
                "full_id": mid,
                "display_name": info.display_name,
                **prices[mid],
            }
            for mid, info in CATALOGUE.items()
        ]
        return web.json_response({"object": "list", "data": data})

    async def signing_key(self, _: web.Request) -> web.Response:
        """The TEE's public signing key, as the live `/signing-key`."""
        return web.json_response(
            {
                "public_key": self.gateway.tee.public_key_pem,
                "tee_id": self.gateway.tee.tee_id,
                "wallet_address": self.gateway.pay_to,
                "timestamp": int(time.time()),
                "enclave_info": {"type": "og-chat devnet", "attested": False},
                "measurements": None,
            }
        )

    async def devnet(self, _: web.Request) -> web.Response:
        """`GET /devnet`: the network document."""
        return web.json_response(self.gateway.devnet_document())

    async def faults(self, request: web.Request) -> web.Response:
        """`GET` shows the fault switches; `POST` a JSON object to change some."""
        faults = self.gateway.faults
        if request.method == "POST":
            body = await read_json(request)
            if not isinstance(body, dict):
                raise BadRequest(400, "send a JSON object of fault switches")
            try:
                faults.update(body)
            except ValueError as exc:
                raise BadRequest(400, str(exc)) from None
        return web.json_response(faults.as_dict())

    async def rpc(self, request: web.Request) -> web.Response:
        """JSON-RPC 2.0 (single, batch or notification), answered by the chain as anvil would."""
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError, RecursionError):
            return web.json_response(_rpc_failure(None, -32700, "Parse error"))
        answer = await self.gateway.chain.jsonrpc.response_async(body)
        if answer is None:  # notifications only: nothing to answer
            return web.Response(status=204)
        return web.json_response(answer)

    async def payment(self, request: web.Request) -> web.Response:
        """`GET /v1/payments/{session_id}`: the session's settlement (or its open state)."""
        return self._payment(request.match_info["session_id"])

    async def payment_lookup(self, request: web.Request) -> web.Response:
        """`GET /v1/payments?payer=..&nonce=..` or `?digest=..`: a payment by its authorization."""
        q = request.query
        book = self.gateway.book
        if q.get("digest"):
            sid = book.find(digest=q["digest"])
        elif q.get("payer") and q.get("nonce"):
            try:
                nonce = parse_uint(q["nonce"])
            except ValueError:
                raise BadRequest(400, "nonce must be a decimal or 0x-hex integer") from None
            sid = book.find(payer=q["payer"], nonce=nonce)
        else:
            raise BadRequest(400, "give ?payer=&nonce= or ?digest=")
        if sid is None:
            return error_response(404, "no payment with that authorization")
        return self._payment(sid)

    def _payment(self, session_id: str) -> web.Response:
        document = self.gateway.book.document(session_id)
        if document is None:
            return error_response(404, f"no session {session_id}")
        return web.json_response(document)

    async def settlement(self, request: web.Request) -> web.Response:
        """`GET /v1/settlements/{call_id}`: where the call's record is (batch: leaf, proof, root)."""
        key = request.match_info["call_id"]
        document = self.gateway.data.lookup(key)
        if document is None:
            return error_response(
                404, f"no call with id {key[:80]} (the X-OG-Call-Id of an answer)"
            )
        return web.json_response(document)


def _rpc_failure(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}
