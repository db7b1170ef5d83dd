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
    """One conversation: OpenAI-shaped messages plus the model and settings it used.

    The settings are the conversation's own (the settings panel, a persona, a saved
    session); None means "not set here": the config's `max_tokens`, the sdk's temperature,
    no system prompt, the App's settlement mode.
    """

    id: str = field(default_factory=new_conversation_id)
    title: str = "New chat"
    model: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    receipt_ids: list[str] = field(default_factory=list)
    mode: str | None = None
    """The settlement mode it was saved with; the App's `mode` follows it on resume."""
    system_prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    persona: str | None = None
    """The `[personas.NAME]` it was started with (shown; its values are already applied)."""

    def wire_messages(self) -> list[dict[str, Any]]:
        """The messages as the model receives them: superseded turns and bookkeeping left out."""
        return [
            {k: v for k, v in m.items() if k in _WIRE_KEYS}
            for m in self.messages
            if not m.get("superseded")
        ]

    def add(self, message: dict[str, Any]) -> None:
        """Append a message, stamped with when it was added (kept across saves: a save writes
        the stamp, never a new one); the first user message names the conversation."""
        if message.get("role") == "user" and self.title == "New chat":
            self.title = title_from(str(message.get("content") or ""))
        message.setdefault("created_at", time.time())
        self.messages.append(message)

    def last_prompt_index(self) -> int | None:
        """The index of the last user prompt still in play (not superseded), if any."""
        for index in range(len(self.messages) - 1, -1, -1):
            message = self.messages[index]
            if message.get("role") == "user" and not message.get("superseded"):
                return index
        return None

    def supersede_from(self, index: int) -> None:
        """Mark every message from `index` on as superseded: kept and shown, never sent again."""
        for message in self.messages[index:]:
            message["superseded"] = True

    def prompts(self) -> list[str]:
        """What the user sent in this conversation, newest first (the prompt's history)."""
        return [
            str(m.get("content") or "")
            for m in reversed(self.messages)
            if m.get("role") == "user" and m.get("content")
        ]
