"""Server-sent events, parsed robustly and in linear time.

Accepts `data:` with or without the space, CRLF or LF, comments and other
fields, events with or without the blank separator line, `[DONE]` or plain
EOF. Undecodable payloads are skipped and counted; the parser never raises
anything but `StreamInterrupted` (for an event larger than the limit).

Linear on hostile input: the buffer is consumed by an offset (never re-sliced
per line), a terminator is searched for only in bytes not yet searched, an
event's size is a running total, and an event of many `data:` lines is joined
once, when it is dispatched. A 40,000-line event costs 40,000 appends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .errors import StreamInterrupted

DONE = object()
"""Marker yielded for `data: [DONE]`."""

MAX_EVENT_BYTES = 8 * 1024 * 1024
_COMPACT_AT = 64 * 1024
"""Consumed bytes are dropped from the buffer once there are this many (amortised O(1))."""


class SSEParser:
    """Incremental parser: feed bytes, get JSON objects (dicts) and `DONE`."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._start = 0
        """Where the unconsumed bytes begin."""
        self._searched = 0
        """Bytes from `_start` already known to hold no line terminator."""
        self._data: list[str] = []
        self._size = 0
        """Characters in `_data` (a running total, not a sum per line)."""
        self.skipped = 0
        """Payloads that were not JSON objects (kept for diagnostics)."""

    def feed(self, chunk: bytes) -> Iterator[Any]:
        """Consume bytes; yield every complete event."""
        buf = self._buffer
        buf += chunk
        while True:
            cut = self._line_end()
            if cut is None:
                break
            end, skip = cut
            raw = bytes(buf[self._start : end])
            self._start, self._searched = end + skip, 0
            yield from self._line(raw)
        if self._start >= _COMPACT_AT or self._start == len(buf):
            del buf[: self._start]
            self._start = 0
        if len(buf) - self._start > MAX_EVENT_BYTES:
            raise StreamInterrupted(f"an SSE line exceeded {MAX_EVENT_BYTES} bytes")

    def close(self) -> Iterator[Any]:
        """End of stream: flush a final unterminated line and any pending event."""
        if len(self._buffer) > self._start:
            raw = bytes(self._buffer[self._start :])
            self._buffer.clear()
            self._start = self._searched = 0
            yield from self._line(raw)
        yield from self._dispatch()

    def _line_end(self) -> tuple[int, int] | None:
        """Position and width of the next line terminator (\\r\\n, \\n or \\r), searching only
        bytes not searched before."""
        buf, begin = self._buffer, self._start + self._searched
        n = buf.find(b"\n", begin)
        r = buf.find(b"\r", begin, n if n != -1 else len(buf))
        if r == -1 and n == -1:
            self._searched = len(buf) - self._start
            return None
        if r != -1:
            if r + 1 == len(buf):
                self._searched = r - self._start  # a lone \r at the end may be half of \r\n
                return None
            return (r, 2) if buf[r + 1] == 0x0A else (r, 1)
        return n, 1

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
        if len(self._data) == 1 and _complete(self._data[0]):
            # A server that omits the blank line between events: the buffered line is
            # already a whole payload, so it is its own event. (Only a one-line event is
            # tested, so many-line events stay linear.)
            yield from self._dispatch()
        self._data.append(value)
        self._size += len(value) + 1
        if self._size > MAX_EVENT_BYTES:
            self._data.clear()
            self._size = 0
            raise StreamInterrupted(f"an SSE event exceeded {MAX_EVENT_BYTES} bytes")

    def _dispatch(self) -> Iterator[Any]:
        if not self._data:
            return
        payload = "\n".join(self._data).strip()
        self._data = []
        self._size = 0
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


def _complete(text: str) -> bool:
    text = text.strip()
    if text == "[DONE]":
        return True
    if not text.startswith("{") or not text.endswith("}"):
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True
