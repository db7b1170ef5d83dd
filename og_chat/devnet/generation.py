"""What the gateway asks a responder for, and the events every responder answers with.

Both responders (writer.py's local writer, upstream.py's forwarder) produce the same
event stream — `Text` pieces, at most one `ToolCalls` or `Images`, then `Finish` with
the usage — so the gateway signs, charges and streams them identically.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class GenerationRequest:
    """What the gateway asks a responder for, already validated."""

    model_id: str
    """Full id `provider/model`."""
    model: str
    """The bare name, as sent on the wire and echoed in responses."""
    provider: str
    display_name: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    temperature: float = 0.0
    stream: bool = False


@dataclass
class Text:
    """A piece of answer text (one token)."""

    text: str


@dataclass
class ToolCalls:
    """Complete tool calls, `[{id, type, function:{name, arguments(JSON string)}}]`."""

    calls: list[dict[str, Any]]


@dataclass
class Images:
    """The images of an image model's answer, as `data:` URIs (og-sdk-wire.md §7)."""

    uris: list[str]


@dataclass
class Finish:
    """The end of an answer and what it used."""

    reason: str
    prompt_tokens: int
    completion_tokens: int


Event = Text | ToolCalls | Images | Finish

_TOKEN_RE = re.compile(r"\s*\S+")


def tokenize(text: str) -> list[str]:
    """Word-ish pieces (leading whitespace attached) that join back to `text`."""
    pieces = _TOKEN_RE.findall(text)
    consumed = sum(len(p) for p in pieces)
    if consumed < len(text):
        pieces.append(text[consumed:])
    return pieces


def message_text(content: Any) -> str:
    """The text of a message's content, whether a string or OpenAI content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return "" if content is None else str(content)


def count_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """≈ words of the messages (plus one per message for the role), at least 1."""
    words = 0
    for m in messages:
        words += 1 + len(message_text(m.get("content")).split())
    return max(1, words)


class Pacer:
    """Spaces tokens at `tokens_per_second` against a clock (0 = as fast as possible).

    Sleeping against a schedule rather than per token keeps the average rate
    exact even when the loop is late.
    """

    def __init__(self, tokens_per_second: float) -> None:
        self.interval = 1.0 / tokens_per_second if tokens_per_second > 0 else 0.0
        self._start: float | None = None
        self._count = 0

    async def tick(self) -> None:
        """Wait until the next token is due."""
        self._count += 1
        if self.interval <= 0:
            if self._count % 256 == 0:
                await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        due = self._start + self._count * self.interval
        delay = due - loop.time()
        if delay > 0.001:
            await asyncio.sleep(delay)


class UpstreamError(RuntimeError):
    """The upstream server failed or answered something unreadable (upstream.py raises it;
    here so the gateway can catch it without importing the forwarder)."""
