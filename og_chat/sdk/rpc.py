"""The few JSON-RPC reads a paying client makes, over httpx, without web3.

Reading an allowance or the TEE registry needs one `eth_call` each; web3 (with the
eth_account it loads) costs over a second to import, which a one-shot `og-chat ask`
would pay on every run. These helpers speak JSON-RPC 2.0 directly and decode the
32-byte ABI words themselves; sending a transaction still goes through web3
(`chain.ChainClient`), which only an approval or a funding needs.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from typing import Any

from .errors import ChainError
from .eth import from_hex, keccak, parse_uint, word

RPC_TIMEOUT = 30.0


def selector(signature: str) -> bytes:
    """The 4-byte function selector of `name(type,...)`."""
    return keccak(signature.encode())[:4]


def call_data(signature: str, *args: int | str) -> str:
    """`0x` ‖ selector ‖ one word per static argument (ints and addresses)."""
    words = b"".join(word(a) for a in args)
    return "0x" + (selector(signature) + words).hex()


def request(
    url: str,
    method: str,
    params: list[Any],
    *,
    timeout: float = RPC_TIMEOUT,
    verify: bool | str = True,
) -> Any:
    """One JSON-RPC call; its `result`, or ChainError naming the method and the node's error.

    `verify` as requests takes it: True (the system's CAs) or a CA file pinning the RPC
    to one certificate (`NetworkProfile.rpc_verify`).
    """
    import httpx

    tls: bool | ssl.SSLContext = verify if isinstance(verify, bool) else _pinned(verify)
    return call_over(
        functools.partial(httpx.post, timeout=timeout, verify=tls), url, method, params
    )


def call_over(post: Callable[..., Any], url: str, method: str, params: list[Any]) -> Any:
    """One JSON-RPC call sent with `post` (`httpx.post`, or a kept `httpx.Client`'s); its
    `result`, or ChainError naming the method and the node's error: one reading of an answer
    for every JSON-RPC client here (`request`, `og_chat.app.records.ChainReader`)."""
    import httpx

    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    try:
        answer = post(url, json=body).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ChainError(f"{method} via {url} failed: {exc}") from None
    if not isinstance(answer, dict):
        raise ChainError(f"{method} via {url}: not a JSON-RPC answer")
    if answer.get("error") is not None:
        error = answer["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise ChainError(f"{method} via {url} failed: {str(message)[:300]}")
    return answer.get("result")


def _pinned(cafile: str) -> ssl.SSLContext:
    """An SSLContext trusting only the certificates in `cafile` (hostnames checked, as requests
    checks them)."""
    return ssl.create_default_context(cafile=cafile)


def quantity(value: Any) -> int:
    """A JSON-RPC quantity (`0x…`) as an int; ChainError when it is not one."""
    try:
        return parse_uint(value)
    except ValueError:
        raise ChainError(f"the node sent {str(value)[:80]!r} where a number belongs") from None


def eth_call(
    url: str, to: str, data: str, *, timeout: float = RPC_TIMEOUT, verify: bool | str = True
) -> bytes:
    """The return data of `eth_call` at the latest block."""
    params = [{"to": to, "data": data}, "latest"]
    result = request(url, "eth_call", params, timeout=timeout, verify=verify)
    try:
        return from_hex(str(result))
    except ValueError:
        raise ChainError(f"eth_call via {url} returned {str(result)[:80]!r}") from None


def uint_at(data: bytes, slot: int) -> int:
    """The `slot`-th 32-byte word of return data, as an unsigned int."""
    start = 32 * slot
    if len(data) < start + 32:
        raise ChainError(f"return data too short: {len(data)} bytes, word {slot} asked for")
    return int.from_bytes(data[start : start + 32], "big")


def dynamic_bytes(data: bytes, at: int) -> bytes:
    """ABI `bytes`/`string` whose length word starts at byte `at`."""
    if len(data) < at + 32:
        raise ChainError("return data too short for a bytes value")
    size = int.from_bytes(data[at : at + 32], "big")
    if len(data) < at + 32 + size:
        raise ChainError("a bytes value runs past the return data")
    return data[at + 32 : at + 32 + size]
