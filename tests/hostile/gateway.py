"""A hostile gateway: a server that wants the user's signature and their terminal.

It is a third party to the code under test (the real `og_chat.sdk.LLM`, the real CLI),
never a stand-in for our own code. It runs on 127.0.0.1 on an ephemeral port in its
own thread, and it writes down everything it is given: every payment signature (who
signed, for what), every raw transaction sent to its `/rpc` (recovered sender, target,
calldata), every request. What it says is set by `Plan`: a forged `/devnet` document,
402s that never end, answers with poisoned fields, SSE that trickles, bodies that do not
end, strings made of escape sequences, bidi overrides and zero-width characters.

The JSON-RPC side answers just enough for a client to build and send an `approve`
(chain id, balances, allowance, nonce, gas, receipts), so a test can count the
transactions a client *would* have sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from og_chat.sdk import signing, tee, x402
from og_chat.sdk.addresses import DEVNET_KEYS
from og_chat.sdk.eth import keccak

OPG = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PAY_TO = "0x000000000000000000000000000000000000dEaD"
FACILITATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
AMOUNT = 10**17
"""What every 402 asks for: 0.1 OPG."""
HOSTILE_TEXT = (
    "ok \x1b[2J\x1b]0;pwned\x07 \u202eevil\u202c zero\u200bwidth \u2066iso\u2069 "
    "bom\ufeff tag\U000e0041 \x9b31m"
)
"""A string made to drive a terminal or to hide what it says."""
INVISIBLE = ["\x1b", "\x07", "\u202e", "\u202c", "\u200b", "\u2066", "\u2069", "\ufeff",
             "\U000e0041", "\x9b"]  # fmt: skip
"""What must never reach a terminal from `HOSTILE_TEXT`."""


def _rsa() -> tuple[bytes, str, str]:
    """(private PEM, public PEM, TEE id): the id is what the key hashes to, as a registry's
    would be, so only the lack of a registry entry tells this key from a registered one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, pem.decode(), tee.tee_id_for(der)


_TEE_KEY = _rsa()
TEE_ID = _TEE_KEY[2]


@dataclass
class Plan:
    """What the hostile gateway does. The default is a plausible devnet that plays fair."""

    chain_id: int = 1_337_001
    """The chain its `/devnet` document names (59144 is Linea, 8453 Base...)."""
    document: dict[str, Any] = field(default_factory=dict)
    """Overrides merged into the `/devnet` document."""
    requirement: dict[str, Any] = field(default_factory=dict)
    """Overrides merged into the requirement every 402 offers."""
    raw_payment_required: str | None = None
    """Send this exact PAYMENT-REQUIRED header value."""
    refuse_every_payment: bool = False
    """Take the signature, answer 402 again: a gateway that collects authorizations."""
    answer: Callable[[dict[str, Any]], bytes] | None = None
    """The body of a paid non-streamed answer, from the request body (default: a fair one)."""
    events: Callable[[dict[str, Any]], list[bytes]] | None = None
    """The SSE lines of a paid streamed answer (default: a fair stream)."""
    trickle: float | None = None
    """Seconds between bytes of a streamed answer, forever (a stream that never ends)."""
    drip: float | None = None
    """Seconds between complete content events, forever (busy, but never done)."""
    endless_body: bool = False
    """A non-streamed answer whose body never ends (64 KB chunks until the client stops)."""
    slow_body: float | None = None
    """A non-streamed answer sent a byte every this many seconds, forever."""
    fields: dict[str, Any] = field(default_factory=dict)
    """Overrides merged into the answer's TEE fields (`tee_timestamp: 1e400`, ...)."""
    status: int | None = None
    error_body: bytes = b""
    """With `status`: answer every paid request with it and this body."""
    payment_response: dict[str, Any] | None = None
    """Send this PAYMENT-RESPONSE (a settlement that names whatever it likes)."""
    allowance: int = 0
    """What `allowance(owner, Permit2)` answers before any transaction was sent."""
    on_payment: Callable[[x402.PaymentPayload], None] | None = None
    """Called with each payment as it arrives (before the answer)."""


@dataclass
class Payment:
    """One authorization the gateway received."""

    payer: str
    nonce: str
    amount: int
    network: str | None


@dataclass
class Transaction:
    """One raw transaction sent to the gateway's RPC."""

    sender: str
    to: str | None
    data: str
    chain_id: int | None


class HostileGateway:
    """The server; `url` once started. `payments`, `transactions`, `requests` record all."""

    def __init__(self) -> None:
        self.plan = Plan()
        self.payments: list[Payment] = []
        self.transactions: list[Transaction] = []
        self.requests: list[dict[str, Any]] = []
        self._sessions: set[str] = set()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.url = ""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the hostile gateway did not start")

    def reset(self, plan: Plan | None = None) -> HostileGateway:
        """A new plan and empty records."""
        self.plan = plan or Plan()
        self.payments.clear()
        self.transactions.clear()
        self.requests.clear()
        self._sessions.clear()
        return self

    @property
    def signers(self) -> set[str]:
        """Every address that signed a payment or a transaction here (lower-case)."""
        return {p.payer.lower() for p in self.payments} | {
            t.sender.lower() for t in self.transactions
        }

    # -- server plumbing -------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/devnet", self._devnet)
        app.router.add_get("/signing-key", self._signing_key)
        app.router.add_post("/rpc", self._rpc)
        app.router.add_get("/v1/payments", self._no_record)
        app.router.add_get("/v1/settlements/{key}", self._no_record)
        self._runner = web.AppRunner(app, handle_signals=False)
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

    # -- the forged network --------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "chain_id": self.plan.chain_id,
            "network": f"eip155:{self.plan.chain_id}",
            "rpc_url": self.url + "/rpc",
            "gateway_url": self.url,
            "contracts": {"opg": OPG},
            "accounts": [{"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                          "private_key": DEVNET_KEYS[0]}],
            "prices": {},
        }  # fmt: skip
        doc.update(self.plan.document)
        return doc

    def requirement(self) -> dict[str, Any]:
        req = {
            "scheme": "upto", "network": f"eip155:{self.plan.chain_id}", "asset": OPG,
            "amount": str(AMOUNT), "payTo": PAY_TO, "maxTimeoutSeconds": 300,
            "extra": {"name": "OpenGradient", "version": "1", "assetTransferMethod": "permit2",
                      "facilitatorAddress": FACILITATOR},
        }  # fmt: skip
        req.update(self.plan.requirement)
        return req

    async def _devnet(self, request: web.Request) -> web.Response:
        return web.json_response(self.document())

    async def _signing_key(self, request: web.Request) -> web.Response:
        return web.json_response({"public_key": _TEE_KEY[1], "tee_id": TEE_ID})

    async def _no_record(self, request: web.Request) -> web.Response:
        return web.json_response({"error": "not found"}, status=404)

    # -- payments ------------------------------------------------------------------------

    def _challenge(self, error: str) -> web.Response:
        required = {"x402Version": 2, "error": error,
                    "resource": {"url": self.url + "/v1/chat/completions"},
                    "accepts": [self.requirement()]}  # fmt: skip
        header = self.plan.raw_payment_required or x402.b64_json_encode(required)
        return web.json_response({"error": error}, status=402, headers={"PAYMENT-REQUIRED": header})

    def _record(self, header: str) -> bool:
        """Record a payment; True when its signature recovers to its claimed payer."""
        payload = x402.decode_payment_signature(header)
        auth = payload.payload.get("permit2Authorization") or {}
        try:
            req = x402.PaymentRequirements.model_validate(self.requirement())
            typed = signing.typed_data_for_payload(payload, req)
            valid = signing.recover_typed_data(typed, payload.payload["signature"]) == auth["from"]
        except (KeyError, ValueError):
            valid = False
        network = payload.accepted.network if payload.accepted else None
        self.payments.append(
            Payment(str(auth.get("from", "")), str(auth.get("nonce", "")),
                    int((auth.get("permitted") or {}).get("amount") or 0), network)
        )  # fmt: skip
        if self.plan.on_payment is not None:
            self.plan.on_payment(payload)
        return valid

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        session = request.headers.get("X-Upto-Session")
        signature = request.headers.get("PAYMENT-SIGNATURE")
        if session and session in self._sessions:
            pass
        elif signature:
            if not self._record(signature) or self.plan.refuse_every_payment:
                return self._challenge("permit2_allowance_required")
            session = uuid.uuid4().hex
            self._sessions.add(session)
        else:
            return self._challenge("PAYMENT-SIGNATURE header is required")
        headers = {"X-Upto-Session": session}
        if self.plan.payment_response is not None:
            headers["PAYMENT-RESPONSE"] = x402.b64_json_encode(self.plan.payment_response)
        if self.plan.status is not None:
            return web.Response(body=self.plan.error_body, status=self.plan.status, headers=headers)
        if body.get("stream"):
            return await self._stream(request, body, headers)
        if self.plan.endless_body or self.plan.slow_body is not None:
            return await self._endless(request, headers)
        raw = self.plan.answer(body) if self.plan.answer else fair_answer(body, self.plan.fields)
        return web.Response(body=raw, content_type="application/json", headers=headers)

    async def _stream(
        self, request: web.Request, body: dict[str, Any], headers: dict[str, str]
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", **headers})
        await resp.prepare(request)
        try:
            if self.plan.trickle is not None:
                await resp.write(sse({"choices": [{"delta": {"content": "partial "}, "index": 0}]}))
                while True:  # one byte of a line that never ends, kept alive for ever
                    await asyncio.sleep(self.plan.trickle)
                    await resp.write(b"x")
            if self.plan.drip is not None:
                while True:  # an event every `drip` seconds, never a final one
                    await resp.write(
                        sse({"choices": [{"delta": {"content": "more "}, "index": 0}]})
                    )
                    await asyncio.sleep(self.plan.drip)
            lines = (
                self.plan.events(body) if self.plan.events else fair_events(body, self.plan.fields)
            )
            for line in lines:
                await resp.write(line)
        except (ConnectionResetError, RuntimeError):
            pass  # the client gave up: what a trickling server wants to know
        return resp

    async def _endless(self, request: web.Request, headers: dict[str, str]) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json", **headers})
        await resp.prepare(request)
        try:
            await resp.write(b'{"choices": [{"message": {"content": "')
            if self.plan.slow_body is not None:
                while True:
                    await asyncio.sleep(self.plan.slow_body)
                    await resp.write(b"a")
            chunk = b"a" * 65536
            for _ in range(4096):  # 256 MiB at most: the client must stop long before
                await resp.write(chunk)
        except (ConnectionResetError, RuntimeError):
            pass
        return resp

    # -- the RPC a server names ----------------------------------------------------------

    async def _rpc(self, request: web.Request) -> web.Response:
        msg = await request.json()
        if isinstance(msg, list):
            return web.json_response([self._rpc_one(m) for m in msg])
        return web.json_response(self._rpc_one(msg))

    def _rpc_one(self, msg: dict[str, Any]) -> dict[str, Any]:
        method, params = msg.get("method"), msg.get("params") or []
        result: Any
        if method == "eth_chainId":
            result = hex(self.plan.chain_id)
        elif method == "net_version":
            result = str(self.plan.chain_id)
        elif method == "eth_call":
            result = self._call(params[0])
        elif method == "eth_getBalance":
            result = hex(10**21)
        elif method in ("eth_getTransactionCount",):
            result = hex(len(self.transactions))
        elif method == "eth_gasPrice":
            result = hex(10**9)
        elif method == "eth_estimateGas":
            result = hex(60_000)
        elif method == "eth_blockNumber":
            result = hex(100)
        elif method == "eth_sendRawTransaction":
            result = self._send(params[0])
        elif method == "eth_getTransactionReceipt":
            result = {"transactionHash": params[0], "status": "0x1", "blockNumber": "0x64",
                      "blockHash": "0x" + "11" * 32, "logs": [], "gasUsed": "0x5208",
                      "cumulativeGasUsed": "0x5208", "transactionIndex": "0x0",
                      "from": "0x" + "00" * 20, "to": OPG, "contractAddress": None,
                      "logsBloom": "0x" + "00" * 256, "effectiveGasPrice": "0x3b9aca00",
                      "type": "0x0"}  # fmt: skip
        elif method == "eth_getBlockByNumber":
            result = {"number": "0x64", "baseFeePerGas": "0x3b9aca00", "timestamp": hex(int(time.time())),
                      "hash": "0x" + "22" * 32, "transactions": []}  # fmt: skip
        else:
            return {"jsonrpc": "2.0", "id": msg.get("id"),
                    "error": {"code": -32601, "message": f"{method} not here"}}  # fmt: skip
        return {"jsonrpc": "2.0", "id": msg.get("id"), "result": result}

    def _call(self, call: dict[str, Any]) -> str:
        data = str(call.get("data") or call.get("input") or "")
        if data.startswith("0xdd62ed3e"):  # allowance(owner, spender)
            value = 10**24 if self.transactions else self.plan.allowance
        elif data.startswith("0x70a08231"):  # balanceOf(owner)
            value = 10**21
        else:
            value = 0
        return "0x" + value.to_bytes(32, "big").hex()

    def _send(self, raw: str) -> str:
        """Record a raw legacy transaction (what og-chat sends: `gasPrice`, EIP-155)."""
        import rlp
        from eth_account import Account

        blob = bytes.fromhex(raw.removeprefix("0x"))
        sender = str(Account.recover_transaction(raw))
        fields = rlp.decode(blob)  # [nonce, gasPrice, gas, to, value, data, v, r, s]
        v = int.from_bytes(bytes(fields[6]), "big")
        chain = (v - 35) // 2 if v >= 35 else None
        self.transactions.append(
            Transaction(sender, "0x" + bytes(fields[3]).hex(), "0x" + bytes(fields[5]).hex(), chain)
        )
        return "0x" + keccak(blob).hex()


# -- answers -------------------------------------------------------------------------------


def tee_fields(body: dict[str, Any], text: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """TEE fields signed with the gateway's own key (it serves that key at `/signing-key`)."""
    req_hash, out_hash, ts = tee.request_hash(body), tee.output_hash(text), int(time.time())
    fields = {"tee_signature": tee.sign(_TEE_KEY[0], req_hash, out_hash, ts),
              "tee_request_hash": req_hash, "tee_output_hash": out_hash, "tee_timestamp": ts,
              "tee_id": TEE_ID}  # fmt: skip
    fields.update(overrides)
    return fields


def fair_answer(body: dict[str, Any], overrides: dict[str, Any], text: str = "Hello.") -> bytes:
    """A chat completion, self-signed; `overrides` replace any field at the top level."""
    data = {"id": "x", "object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}  # fmt: skip
    data.update(tee_fields(body, text, {}))
    data.update(overrides)
    return json.dumps(data).encode()


def sse(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def fair_events(
    body: dict[str, Any], overrides: dict[str, Any], text: str = "Hello."
) -> list[bytes]:
    """A streamed answer: one content event, then a final one carrying usage and the TEE
    fields (with `overrides` merged into it), then [DONE]."""
    final = {"choices": [{"delta": {}, "index": 0, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}  # fmt: skip
    final.update(tee_fields(body, text, {}))
    final.update(overrides)
    return [sse({"choices": [{"delta": {"content": text}, "index": 0}]}), sse(final),
            b"data: [DONE]\n\n"]  # fmt: skip


def pending_on_disk(home: Path, nonce: str) -> bool:
    """Whether the receipt log under OG_CHAT_HOME `home` already holds a receipt for `nonce`
    (what the gateway can check at the moment a signature reaches it)."""
    path = home / "data" / "receipts.jsonl"
    if not path.exists():
        return False
    for line in path.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("type") == "receipt" and record["receipt"].get("nonce") == nonce:
            return True
    return False
