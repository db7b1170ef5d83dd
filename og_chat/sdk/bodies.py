"""Reading a response body with a cap and a deadline: a hostile server sends neither
an endless body nor one that trickles forever.

httpx's timeout applies to each read; a server sending a byte a second never hits
it. `aread_capped` bounds the whole read by size and by wall time, and leaves the
body on the response as `aread` would (so `response.content` works afterwards).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from .errors import GatewayError
from .eth import parse_amount

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest non-streamed answer read (configurable: `LLM(max_body_bytes=...)`)."""
MAX_CHALLENGE_BYTES = 1024 * 1024
"""Largest 402 or error body read (a challenge is a few KB)."""


def too_large(url: str, cap: int) -> GatewayError:
    """The error for a body above `cap` bytes."""
    return GatewayError(0, f"the answer is larger than {cap} bytes; not read further", url=url)


class _Capped:
    """The parts of one body, refused past `cap` bytes; left on the response when whole."""

    def __init__(self, response: httpx.Response, cap: int) -> None:
        self.response, self.cap = response, cap
        self.url = str(response.request.url) if response._request is not None else ""
        self.parts = bytearray()

    def add(self, part: bytes) -> None:
        self.parts += part
        if len(self.parts) > self.cap:
            raise too_large(self.url, self.cap)

    def whole(self) -> bytes:
        data = bytes(self.parts)
        self.response._content = data  # as `aread` leaves it: `response.content` works
        return data


async def aread_capped(response: httpx.Response, cap: int, deadline: float | None = None) -> bytes:
    """The whole body, at most `cap` bytes, read before `deadline` (`time.monotonic()`).

    GatewayError above the cap; TimeoutError past the deadline (the caller turns
    it into its own typed error).
    """
    body = _Capped(response, cap)
    try:
        declared = parse_amount(response.headers.get("content-length", ""))
    except ValueError:
        declared = 0  # absent or unreadable: the count decides
    if declared > cap:
        raise too_large(body.url, cap)
    remaining = None if deadline is None else deadline - time.monotonic()
    async with asyncio.timeout(remaining):
        async for part in response.aiter_bytes():
            body.add(part)
    return body.whole()


def read_capped(response: httpx.Response, cap: int) -> bytes:
    """`aread_capped` for a synchronous client (no deadline: httpx's timeouts apply)."""
    body = _Capped(response, cap)
    for part in response.iter_bytes():
        body.add(part)
    return body.whole()
