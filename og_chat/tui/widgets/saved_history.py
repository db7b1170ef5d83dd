"""A saved conversation as the widgets that show it, built only when their batch mounts.

`Conversation.show_history` mounts the last few and the rest as the user scrolls up (a
thousand widgets cost half a second to build), so each message becomes a builder here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from textual.widget import Widget

from .conversation import SUPERSEDED, AssistantMessage, Notice, ToolCallCard, UserMessage
from .inline_images import InlineImages
from .receipts_panel import model_label

Builder = Callable[[], Widget]


@dataclass
class SavedHistory:
    """The builders of one saved conversation's widgets, in order.

    `shown[index]` is filled with the first widget of message `index` once it is built, so
    a search result can scroll to it; `start_of(index)` is where that message begins.
    """

    builders: list[Builder] = field(default_factory=list)
    shown: dict[int, Widget] = field(default_factory=dict)
    _starts: dict[int, int] = field(default_factory=dict)

    def start_of(self, index: int) -> int | None:
        """The position in `builders` where message `index` starts (None: not shown)."""
        return self._starts.get(index)

    def _marked(self, build: Builder, superseded: bool, index: int | None) -> Builder:
        def make() -> Widget:
            widget = build()
            widget.set_class(superseded, SUPERSEDED)
            if index is not None:
                self.shown[index] = widget
            return widget

        return make


def saved_history(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    images: Callable[[list[str]], InlineImages],
) -> SavedHistory:
    """Builders for `messages` (a session's), answers labelled by their model (default
    `model`); `images` makes an answer's pictures."""
    results = {
        str(m.get("tool_call_id")): str(m.get("content") or "")
        for m in messages
        if m.get("role") == "tool"
    }
    history = SavedHistory()
    builders = history.builders
    for index, message in enumerate(messages):
        role, first = message.get("role"), len(builders)
        if role == "user":
            builders.append(partial(UserMessage, str(message.get("content") or "")))
        elif role == "assistant":
            if message.get("content") or message.get("images"):
                label = model_label(str(message.get("model") or model))
                text, uris = str(message.get("content") or ""), message.get("images")
                builders.append(partial(_answer, label, text, list(uris or ()), images))
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                result = results.get(str(call.get("id")))
                outcome = None if result is None else (result, '"error"' not in result)
                name, arguments = str(function.get("name")), function.get("arguments")
                builders.append(partial(ToolCallCard, name, arguments, outcome))
        superseded = bool(message.get("superseded"))
        for position in range(first, len(builders)):
            marked_index = index if position == first else None
            builders[position] = history._marked(builders[position], superseded, marked_index)
        if first < len(builders):
            history._starts[index] = first
        following = messages[index + 1] if index + 1 < len(messages) else {}
        if superseded and not following.get("superseded"):
            builders.append(partial(Notice, "superseded above: kept, not sent to the model again"))
    return history


def _answer(
    label: str, text: str, uris: list[str], images: Callable[[list[str]], InlineImages]
) -> AssistantMessage:
    return AssistantMessage(label, text, images(uris) if uris else None)
