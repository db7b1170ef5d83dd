"""A small gateway that speaks the live protocol, with knobs for misbehaving.

It is a test double for the *gateway* (a third party), not for our code: the
client under test is the real `og_chat.sdk.LLM`. Payment signatures are really
recovered; TEE signatures are really RSA-PSS signed with the sdk's scheme.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from og_chat.sdk import signing, tee, x402

OPG = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PAY_TO = "0x9deEBB5D1b22e4a6e027977CeAd13893A7E4cC1a"
FACILITATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
CHAIN_ID = 31337


def _rsa_pem() -> tuple[bytes, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


_KEY = _rsa_pem()


@dataclass
class Knobs:
    """What the double does wrong (nothing, by default)."""

    requirement: dict[str, Any] = field(default_factory=dict)
    """Overrides merged into the advertised requirement (hostile 402s)."""
    raw_payment_required: str | None = None
    """Send this exact PAYMENT-REQUIRED header value."""
    v1: bool = False
    """Answer 402 with a v1 JSON body instead of the v2 header."""
    session_calls: int = 1000
    """Calls a session serves before it 'expires'."""
    refuse_paid: bool = False
    """402 again after a valid payment."""
    status: int | None = None
    """Answer every request with this status."""
    drop_after: int | None = None
    """Streaming: close the connection after this many content events."""
    tamper_signature: bool = False
    devnet_document: dict[str, Any] = field(default_factory=dict)
    """Overrides merged into the double's `/devnet` document (what the client builds its profile from)."""
    payment_response_tx: str | None = None
    """Send a PAYMENT-RESPONSE naming this settlement transaction."""


class GatewayDouble:
    """Runs on its own thread and loop at 127.0.0.1:<ephemeral>."""

    def __init__(self) -> None:
        self.knobs = Knobs()
        self.payments: list[x402.PaymentPayload] = []
        self.requests: list[dict[str, Any]] = []
        self.sessions: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.url = ""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/devnet", self._devnet)
        app.router.add_get("/signing-key", self._signing_key)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        async def down() -> None:
            if self._runner:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def requirement(self) -> dict[str, Any]:
        base = {
            "scheme": "upto",
            "network": f"eip155:{CHAIN_ID}",
            "asset": OPG,
            "amount": "100000000000000000",
            "payTo": PAY_TO,
            "maxTimeoutSeconds": 300,
            "extra": {"name": "OpenGradient", "version": "1", "assetTransferMethod": "permit2",
                      "facilitatorAddress": FACILITATOR},
        }  # fmt: skip
        base.update(self.knobs.requirement)
        return base

    async def _devnet(self, request: web.Request) -> web.Response:
        doc = {
            "chain_id": CHAIN_ID,
            "contracts": {"opg": OPG},
            "accounts": [],
            "rpc_url": self.url + "/rpc",
        }
        doc.update(self.knobs.devnet_document)
        return web.json_response(doc)

    async def _signing_key(self, request: web.Request) -> web.Response:
        return web.json_response({"public_key": _KEY[1], "tee_id": "0x" + "ab" * 32})

    def _challenge(self, error: str) -> web.Response:
        required = {"x402Version": 2, "error": error, "resource": {"url": self.url + "/v1/chat/completions"},
                    "accepts": [self.requirement()]}  # fmt: skip
        if self.knobs.v1:
            req = dict(self.requirement())
            req["maxAmountRequired"] = req.pop("amount")
            req["resource"] = self.url + "/v1/chat/completions"
            req["description"] = "Chat completion"
            return web.json_response(
                {"x402Version": 1, "error": error, "accepts": [req]}, status=402
            )
        header = self.knobs.raw_payment_required or x402.b64_json_encode(required)
        return web.json_response({}, status=402, headers={"PAYMENT-REQUIRED": header})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        if self.knobs.status:
            return web.json_response({"error": "upstream unavailable"}, status=self.knobs.status)
        session = request.headers.get("X-Upto-Session")
        signature = request.headers.get("PAYMENT-SIGNATURE") or request.headers.get("X-PAYMENT")
        if session:
            if session not in self.sessions or self.sessions[session] >= self.knobs.session_calls:
                self.sessions.pop(session, None)
                return web.json_response({"error": "Session expired or exhausted"}, status=402)
            self.sessions[session] += 1
        elif signature:
            payload = x402.decode_payment_signature(signature)
            req = x402.PaymentRequirements.model_validate(self.requirement())
            typed = signing.typed_data_for_payload(payload, req)
            auth = payload.payload.get("permit2Authorization") or payload.payload.get(
                "authorization"
            )
            if signing.recover_typed_data(typed, payload.payload["signature"]) != auth["from"]:
                return self._challenge("invalid_signature")
            self.payments.append(payload)
            if self.knobs.refuse_paid:
                return self._challenge("permit2_allowance_required")
            session = uuid.uuid4().hex
            self.sessions[session] = 1
        else:
            return self._challenge("PAYMENT-SIGNATURE header is required")
        text = "Hello from the double. " * 3
        req_hash = tee.request_hash(body)
        out_hash = tee.output_hash(text)
        ts = 1_780_000_000
        sig = tee.sign(_KEY[0], req_hash, out_hash, ts)
        if self.knobs.tamper_signature:
            sig = tee.sign(_KEY[0], req_hash, tee.output_hash("something else"), ts)
        fields = {"tee_signature": sig, "tee_request_hash": req_hash, "tee_output_hash": out_hash,
                  "tee_timestamp": ts, "tee_id": "0x" + "ab" * 32}  # fmt: skip
        usage = {"prompt_tokens": 4, "completion_tokens": 12, "total_tokens": 16}
        headers = {"X-Upto-Session": session}
        if self.knobs.payment_response_tx:
            headers["PAYMENT-RESPONSE"] = x402.b64_json_encode(
                {"success": True, "transaction": self.knobs.payment_response_tx,
                 "network": f"eip155:{CHAIN_ID}", "amount": "1234"}
            )  # fmt: skip
        if not body.get("stream"):
            return web.json_response(
                {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                 "usage": usage, **fields},
                headers=headers,
            )  # fmt: skip
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", **headers})
        await resp.prepare(request)
        words = text.split(" ")
        for i, word in enumerate(words):
            if self.knobs.drop_after is not None and i >= self.knobs.drop_after:
                request.transport.close()  # type: ignore[union-attr]
                return resp
            piece = word + (" " if i < len(words) - 1 else "")
            event = {"choices": [{"delta": {"content": piece, "role": "assistant"}, "index": 0, "finish_reason": None}],
                     "model": body["model"]}  # fmt: skip
            await resp.write(f"data: {json.dumps(event)}\n\n".encode())
        final = {"choices": [{"delta": {}, "index": 0, "finish_reason": "stop"}], "model": body["model"],
                 "usage": usage, **fields}  # fmt: skip
        await resp.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
        return resp
