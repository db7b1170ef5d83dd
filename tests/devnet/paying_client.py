"""A small paying x402 client and chain helpers for the devnet tests.

`Payer` pays a 402 once, keeps `X-Upto-Session` per route and re-challenges
once on a stale session: the client protocol of og-sdk-wire.md §5.2, in forty
lines, so the gateway is tested without depending on the SDK's client.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from typing import Any

import httpx

from og_chat.devnet import Devnet
from og_chat.sdk.signing import sign_payment
from og_chat.sdk.x402 import (
    PaymentRequired,
    decode_payment_required,
    encode_payment_signature,
)

CHAT = "/v1/chat/completions"
ONE_OPG = 10**18


def chat_body(text: str = "hello devnet", **extra: Any) -> dict[str, Any]:
    """A request body exactly as the official client builds it (og-sdk-wire.md §4)."""
    body: dict[str, Any] = {
        "model": "gpt-4.1-mini",
        "messages": [{"role": "user", "content": text}],
        "max_tokens": 100,
        "temperature": 0.0,
    }
    body.update(extra)
    return body


async def rpc(client: httpx.AsyncClient, url: str, method: str, params: list[Any]) -> Any:
    """One JSON-RPC call through the devnet's `/rpc`; raises on a JSON-RPC error."""
    resp = await client.post(
        url + "/rpc", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    )
    data = resp.json()
    if "error" in data:
        raise RuntimeError(data["error"])
    return data["result"]


async def wait_receipt(
    client: httpx.AsyncClient, url: str, tx_hash: str, timeout: float = 10
) -> Any:
    """Poll `eth_getTransactionReceipt` through `/rpc` until the transaction is mined."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        receipt = await rpc(client, url, "eth_getTransactionReceipt", [tx_hash])
        if receipt:
            return receipt
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{tx_hash} not mined")
        await asyncio.sleep(0.05)


async def approve_permit2(
    devnet: Devnet, private_key: str, amount: int = 1000 * ONE_OPG, *, verify: Any = True
) -> str:
    """`OPG.approve(Permit2, amount)` signed locally and sent through `/rpc`, as a wallet would."""
    from eth_account import Account

    acct = Account.from_key(private_key)
    async with httpx.AsyncClient(verify=verify) as client:
        nonce = int(
            await rpc(client, devnet.url, "eth_getTransactionCount", [acct.address, "pending"]), 16
        )
        raw = signed_approval(devnet, private_key, nonce, amount)
        tx_hash = await rpc(client, devnet.url, "eth_sendRawTransaction", ["0x" + bytes(raw).hex()])
        for _ in range(200):
            receipt = await rpc(client, devnet.url, "eth_getTransactionReceipt", [tx_hash])
            if receipt:
                assert int(receipt["status"], 16) == 1
                return str(tx_hash)
            await asyncio.sleep(0.05)
    raise AssertionError("approve was not mined")


def signed_approval(
    devnet: Devnet, private_key: str, nonce: int = 0, amount: int = 1000 * ONE_OPG
) -> bytes:
    """A raw signed `OPG.approve(Permit2, amount)` transaction."""
    from eth_account import Account
    from eth_utils import keccak

    selector = keccak(text="approve(address,uint256)")[:4]
    data = (
        selector
        + bytes(12)
        + bytes.fromhex(devnet.chain.addresses.permit2[2:])
        + amount.to_bytes(32, "big")
    )
    tx = {
        "to": devnet.chain.addresses.opg,
        "data": "0x" + data.hex(),
        "value": 0,
        "gas": 100_000,
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "nonce": nonce,
        "chainId": devnet.chain_id,
        "type": 2,
    }
    return bytes(Account.sign_transaction(tx, private_key).raw_transaction)


@dataclass
class Payer:
    """A minimal x402 client: pays a 402 once, keeps sessions per route, re-challenges once."""

    devnet: Devnet
    private_key: str
    address: str
    sessions: dict[str, str] = field(default_factory=dict)
    signatures: int = 0
    last_required: PaymentRequired | None = None
    last_payment: Any = None

    async def post(
        self,
        client: httpx.AsyncClient,
        body: dict[str, Any],
        *,
        path: str = CHAT,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST, paying if asked; the final response (2xx or the error)."""
        url = self.devnet.url + path
        base = dict(headers or {})
        first = dict(base)
        if path in self.sessions:
            first["X-Upto-Session"] = self.sessions[path]
        resp = await client.post(url, json=body, headers=first)
        if (
            resp.status_code == 402
            and "payment-required" not in resp.headers
            and path in self.sessions
        ):
            del self.sessions[path]  # stale session: re-challenge once
            resp = await client.post(url, json=body, headers=base)
        if resp.status_code == 402 and "payment-required" in resp.headers:
            required = decode_payment_required(resp.headers["payment-required"])
            self.last_required = required
            signed = sign_payment(self.private_key, required, required.accepts[0])
            self.last_payment = signed
            self.signatures += 1
            paid = {**base, "PAYMENT-SIGNATURE": encode_payment_signature(signed.payload)}
            resp = await client.post(url, json=body, headers=paid)
        if resp.is_success and "x-upto-session" in resp.headers:
            self.sessions[path] = resp.headers["x-upto-session"]
        return resp


async def make_payer(
    devnet: Devnet, opg: int = 100 * ONE_OPG, approve: bool = True, *, verify: Any = True
) -> Payer:
    """A brand-new account, funded with `opg` and (optionally) approved for Permit2."""
    from eth_account import Account

    key = "0x" + os.urandom(32).hex()
    address = Account.from_key(key).address
    await devnet.chain.fund(address, opg)
    if approve:
        await approve_permit2(devnet, key, verify=verify)
    return Payer(devnet, key, address)


async def wait_settled(
    client: httpx.AsyncClient, devnet: Devnet, session_id: str, timeout: float = 10
) -> dict[str, Any]:
    """Poll `/v1/payments/{id}` until the session is settled or failed."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        doc = (await client.get(f"{devnet.url}/v1/payments/{session_id}")).json()
        if doc.get("status") in ("settled", "failed"):
            return dict(doc)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"session {session_id} not settled: {doc}")
        await asyncio.sleep(0.1)


def sse_events(text: str) -> list[Any]:
    """`data:` payloads of an SSE body, JSON-decoded except `[DONE]`."""
    out: list[Any] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        payload = block[len("data: ") :]
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out
