"""The conversation being shown: what is sent to the model and saved as a session."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def new_conversation_id() -> str:
    """A fresh, sortable-enough conversation id."""
    return f"c-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def title_from(text: str, limit: int = 48) -> str:
    """A session title from the first prompt: its first line, shortened."""
    line = text.strip().splitlines()[0] if text.strip() else "New chat"
    return line if len(line) <= limit else line[: limit - 1] + "…"


_WIRE_KEYS = ("role", "content", "tool_calls", "tool_call_id")


@dataclass
class ChatState:
    """One conversation: OpenAI-shaped messages plus the model and settings it used."""

    id: str = field(default_factory=new_conversation_id)
    title: str = "New chat"
    model: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    receipt_ids: list[str] = field(default_factory=list)

    def wire_messages(self) -> list[dict[str, Any]]:
        """The messages as the model receives them (our bookkeeping fields left out)."""
        return [{k: v for k, v in m.items() if k in _WIRE_KEYS} for m in self.messages]

    def add(self, message: dict[str, Any]) -> None:
        """Append a message, stamped with when it was added (kept across saves: a save writes
        the stamp, never a new one); the first user message names the conversation."""
        if message.get("role") == "user" and self.title == "New chat":
            self.title = title_from(str(message.get("content") or ""))
        message.setdefault("created_at", time.time())
        self.messages.append(message)
