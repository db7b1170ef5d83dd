"""A streamed answer: SSE bytes to chunks, and the text, tool calls, usage and TEE fields.

`sse_chunks` turns the body into `StreamChunk`s (holding back the final one
until it is known to be the last); `StreamAssembler` folds every event into
the whole answer, which the final chunk and the receipt are built from.

Linear in the answer's length: text and tool-call arguments are kept as lists
of pieces and joined once when asked for (`str +=` on an attribute copies the
whole answer every time). Bounded in time: `sse_chunks` ends a stream that goes
quiet for longer than its idle limit, or that runs past the call's deadline,
however slowly a server trickles bytes to keep each read alive.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from typing import Any

from .answer_fields import (
    TEE_FIELDS,
    MalformedAnswer,
    blob_id,
    check_choices,
    check_fields,
    settlement_tx,
    usage_counts,
)
from .errors import GatewayError, StreamInterrupted
from .outputs import StreamChoice, StreamChunk, StreamDelta, StreamUsage
from .sse import DONE, SSEParser

__all__ = ["TEE_FIELDS", "StreamAssembler", "sse_chunks"]


class StreamAssembler:
    """Everything a stream has said so far: text, tool-call fragments, final fields.

    The one assembler of streamed answers: the client folds every SSE event in
    with `add`; the TUI and the devnet use `merge_tool_calls`/`tool_calls` for
    tool-call deltas (OpenAI's rule: the first name sticks, arguments concatenate).
    """

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._text: str | None = ""
        self.model = "unknown"
        self.finish_reason: str | None = None
        self.usage: StreamUsage | None = None
        self.meta: dict[str, Any] = {}
        self.done = False
        self.final_seen = False
        self._calls: dict[int, dict[str, Any]] = {}

    @property
    def text(self) -> str:
        """The answer's text so far (joined once per change, not once per piece)."""
        if self._text is None:
            self._text = "".join(self._pieces)
            self._pieces = [self._text]
        return self._text

    def add(self, event: dict[str, Any]) -> list[StreamChunk]:
        """Fold one SSE event in; return the chunk to yield.

        StreamInterrupted for an error event; GatewayError (status 200) for an event
        whose fields are not what the protocol sends (`answer_fields`).
        """
        if "error" in event and not event.get("choices"):
            err = event["error"]
            reason = err.get("message") if isinstance(err, dict) else str(err)
            raise StreamInterrupted(f"the gateway reported: {reason}"[:500], partial_text=self.text)
        try:
            check_fields(event)
            raw_choices = check_choices(event.get("choices"), required=False)
            counts = usage_counts(event.get("usage"))
        except MalformedAnswer as exc:
            raise GatewayError(200, f"malformed answer event: {exc.reason}") from None
        if isinstance(event.get("model"), str):
            self.model = event["model"]
        choices: list[StreamChoice] = []
        for raw in raw_choices:
            delta = raw.get("delta") or raw.get("message") or {}
            if not isinstance(delta, dict):
                delta = {}
            content = delta.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            if content is not None and not isinstance(content, str):
                content = str(content)
            if content:
                self._pieces.append(content)
                self._text = None
            calls = delta.get("tool_calls")
            if isinstance(calls, list):
                self.merge_tool_calls(calls)
            finish = raw.get("finish_reason")
            if finish:
                self.finish_reason = str(finish)
            choices.append(
                StreamChoice(
                    delta=StreamDelta(
                        content=content,
                        role=delta.get("role") if isinstance(delta.get("role"), str) else None,
                        tool_calls=calls if isinstance(calls, list) else None,
                    ),
                    index=_index(raw.get("index")),
                    finish_reason=str(finish) if finish else None,
                )
            )
        if counts is not None:
            self.usage = StreamUsage(*counts)
        for name in (
            *TEE_FIELDS, "tee_id", "data_settlement_transaction_hash", "data_settlement_blob_id",
            "images", "call_id",
        ):  # fmt: skip
            if event.get(name) is not None:
                self.meta[name] = event[name]
        is_final = any(c.finish_reason for c in choices) or "usage" in event
        self.final_seen = self.final_seen or is_final
        return [
            StreamChunk(
                choices=choices or [StreamChoice()],
                model=self.model,
                usage=self.usage if is_final else None,
                is_final=is_final,
            )
        ]

    def finish(self, final: StreamChunk, headers: Mapping[str, str]) -> StreamChunk:
        """Complete the final chunk from the whole stream: finish reason, tool calls, usage,
        the TEE fields and the data settlement (from the events, else the headers)."""
        final.is_final = True
        if not final.choices:
            final.choices = [StreamChoice()]
        choice = final.choices[0]
        choice.finish_reason = choice.finish_reason or self.finish_reason
        tool_calls = self.tool_calls()
        if tool_calls:
            choice.delta.tool_calls = tool_calls
        final.usage = self.usage
        meta = self.meta
        for name in TEE_FIELDS:
            setattr(final, name, meta.get(name))
        final.data_settlement_transaction_hash = settlement_tx(meta, headers)
        final.data_settlement_blob_id = blob_id(meta, headers)
        final.images = meta.get("images")
        return final

    def merge_tool_calls(self, calls: list[Any]) -> None:
        """Fold tool-call deltas in, by `index` (position in the list when it is missing)."""
        for position, call in enumerate(calls):
            if not isinstance(call, dict):
                continue
            index = call.get("index")
            if not isinstance(index, int):
                index = position
            slot = self._calls.setdefault(
                index, {"id": None, "type": "function", "name": "", "arguments": []}
            )
            if call.get("id"):
                slot["id"] = call["id"]
            if call.get("type"):
                slot["type"] = call["type"]
            fn = call.get("function") or {}
            if isinstance(fn, dict):
                if fn.get("name"):
                    slot["name"] = fn["name"] if not slot["name"] else slot["name"]
                args = fn.get("arguments")
                if isinstance(args, str):
                    slot["arguments"].append(args)
                elif args is not None:
                    slot["arguments"].append(json.dumps(args))

    def tool_calls(self) -> list[dict[str, Any]] | None:
        """The complete tool calls, arguments as JSON strings."""
        if not self._calls:
            return None
        return [
            {
                "id": slot["id"] or f"call_{index}",
                "type": slot["type"],
                "function": {"name": slot["name"], "arguments": "".join(slot["arguments"]) or "{}"},
            }
            for index, slot in sorted(self._calls.items())
        ]


async def sse_chunks(
    body: AsyncIterator[bytes],
    acc: StreamAssembler,
    *,
    idle: float | None = None,
    deadline: float | None = None,
) -> AsyncGenerator[StreamChunk, None]:
    """The chunks of an SSE body, folded into `acc` as they come.

    A final-looking chunk is held back until we know it is the last: a finish
    chunk followed by a usage chunk are both yielded, and only the very last one
    is `is_final`. The stream ends with exactly one final chunk (a bare one when
    `[DONE]` came first), or raises StreamInterrupted with the text so far: when
    it breaks, when no event comes for `idle` seconds, or at `deadline`
    (`time.monotonic()`), however the server paces its bytes.
    """
    import httpx  # loaded by the caller's client already; not on the TUI's first-frame path

    parser = SSEParser()
    held: StreamChunk | None = None
    last_event = time.monotonic()

    def handle(events: Iterator[Any]) -> Iterator[StreamChunk]:
        nonlocal held, last_event
        for event in events:
            last_event = time.monotonic()
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

    def budget() -> float | None:
        """Seconds the next read may take before the idle limit or the deadline ends it."""
        now = time.monotonic()
        limits = [t for t in (
            None if idle is None else last_event + idle - now,
            None if deadline is None else deadline - now,
        ) if t is not None]  # fmt: skip
        return max(0.0, min(limits)) if limits else None

    reads = aiter(body)
    try:
        while True:
            try:
                async with asyncio.timeout(budget()):
                    raw = await anext(reads)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise StreamInterrupted(
                    _why_stopped(idle, deadline), partial_text=acc.text
                ) from None
            for chunk in handle(parser.feed(raw)):
                yield chunk
            if acc.done:
                break
            if budget() == 0.0:
                raise StreamInterrupted(_why_stopped(idle, deadline), partial_text=acc.text)
        if not acc.done:
            for chunk in handle(parser.close()):
                yield chunk
    except httpx.HTTPError as exc:
        raise StreamInterrupted(f"connection lost: {exc}", partial_text=acc.text) from None
    if not acc.done and not acc.final_seen:
        raise StreamInterrupted("the stream ended before its final event", partial_text=acc.text)
    final = held or StreamChunk(model=acc.model)
    final.is_final = True
    yield final


def _why_stopped(idle: float | None, deadline: float | None) -> str:
    if deadline is not None and time.monotonic() >= deadline:
        return "the answer ran past the call's deadline; the rest is not read"
    return f"no event for {idle:g} s; the stream is given up"


def _index(value: object) -> int:
    """A choice's `index`: a small non-negative int, else 0."""
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**16
        else 0
    )
