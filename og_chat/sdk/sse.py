"""Server-sent events, parsed robustly.

Accepts `data:` with or without the space, CRLF or LF, comments and other
fields, events with or without the blank separator line, `[DONE]` or plain
EOF. Undecodable payloads are skipped and counted; the parser never raises
anything but `StreamInterrupted` (for an event larger than the limit).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .errors import StreamInterrupted

DONE = object()
"""Marker yielded for `data: [DONE]`."""

MAX_EVENT_BYTES = 8 * 1024 * 1024


class SSEParser:
    """Incremental parser: feed bytes, get JSON objects (dicts) and `DONE`."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self.skipped = 0
        """Payloads that were not JSON objects (kept for diagnostics)."""

    def feed(self, chunk: bytes) -> Iterator[Any]:
        """Consume bytes; yield every complete event."""
        self._buffer += chunk
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                break
            end, skip = cut
            raw, self._buffer = self._buffer[:end], self._buffer[end + skip :]
            yield from self._line(raw)
        if len(self._buffer) > MAX_EVENT_BYTES:
            raise StreamInterrupted(f"an SSE line exceeded {MAX_EVENT_BYTES} bytes")

    def close(self) -> Iterator[Any]:
        """End of stream: flush a final unterminated line and any pending event."""
        if self._buffer:
            raw, self._buffer = self._buffer, b""
            yield from self._line(raw)
        yield from self._dispatch()

    def _line(self, raw: bytes) -> Iterator[Any]:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.skipped += 1
            return
        if not line.strip():
            yield from self._dispatch()
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if name.strip() != "data":
            return
        if value.startswith(" "):
            value = value[1:]
        value = value.rstrip("\r")
        if self._data and _complete(self._data):
            # A server that omits the blank line between events: the buffered
            # data is already a whole payload, so it is its own event.
            yield from self._dispatch()
        self._data.append(value)
        if sum(len(d) for d in self._data) > MAX_EVENT_BYTES:
            self._data.clear()
            raise StreamInterrupted(f"an SSE event exceeded {MAX_EVENT_BYTES} bytes")

    def _dispatch(self) -> Iterator[Any]:
        if not self._data:
            return
        payload = "\n".join(self._data).strip()
        self._data = []
        if payload == "[DONE]":
            yield DONE
            return
        try:
            obj = json.loads(payload)
        except (ValueError, RecursionError):
            self.skipped += 1
            return
        if isinstance(obj, dict):
            yield obj
        else:
            self.skipped += 1


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Position and width of the first line terminator (\\r\\n, \\n or \\r)."""
    n = buffer.find(b"\n")
    r = buffer.find(b"\r")
    if r == -1 and n == -1:
        return None
    if r != -1 and (n == -1 or r < n):
        if r + 1 == len(buffer):
            return None  # a lone \r at the end may be half of \r\n
        return (r, 2) if buffer[r + 1 : r + 2] == b"\n" else (r, 1)
    return n, 1


def _complete(data: list[str]) -> bool:
    text = "\n".join(data).strip()
    if text == "[DONE]":
        return True
    if not text.startswith("{"):
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True
