"""Small helpers for the fault tests: ask through the runtime, check what the store kept."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from og_chat.app.runtime import Runtime
from og_chat.sdk.types import Receipt, StreamChunk
from og_chat.store.receipts import ReceiptStore

MODEL = "openai/gpt-4.1-mini"


def prompt(text: str = "tell me about x402 payments") -> str:
    """A prompt of its own, so batch leaves and receipts are told apart."""
    return f"{text} ({uuid.uuid4().hex[:8]})"


@dataclass
class Answer:
    """What the user saw of one streamed answer."""

    text: str = ""
    final: StreamChunk | None = None
    chunks: list[StreamChunk] = field(default_factory=list)

    @property
    def receipt(self) -> Receipt:
        assert self.final is not None and self.final.receipt is not None
        return self.final.receipt


async def ask(runtime: Runtime, answer: Answer | None = None, **kw: Any) -> Answer:
    """Stream one answer through the runtime; `answer` fills in even if the stream breaks."""
    answer = answer if answer is not None else Answer()
    kw.setdefault("max_tokens", 200)
    text = kw.pop("prompt", None) or prompt()
    async for chunk in runtime.stream_chat(MODEL, [{"role": "user", "content": text}], **kw):
        answer.chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            answer.text += chunk.choices[0].delta.content
        if chunk.is_final:
            answer.final = chunk
    return answer


def stored(store: ReceiptStore) -> dict[str, Receipt]:
    """Every receipt in the store's file, by id, from a fresh load; the file must be clean."""
    fresh = ReceiptStore(store.directory)
    receipts = fresh.load()
    assert not fresh.warnings, fresh.warnings
    return {r.id: r for r in receipts}
