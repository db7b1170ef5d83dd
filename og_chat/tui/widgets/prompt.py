"""The multi-line prompt: Enter sends, ctrl+j inserts a newline (both remappable)."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import TextArea

from ..keymap import bindings


class PromptArea(TextArea):
    """A TextArea whose bound keys (Enter by default) run actions instead of typing.

    TextArea inserts a newline for Enter before bindings are consulted, so keys
    bound on this widget are claimed first; that keeps the keymap authoritative.
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings("prompt")

    class Submitted(Message):
        """The user sent the prompt."""

        def __init__(self, prompt: PromptArea, text: str) -> None:
            self.prompt = prompt
            self.text = text
            super().__init__()

    class DraftChanged(Message):
        """The prompt text changed; the screen saves it as the draft (debounced)."""

        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, PromptArea.DraftChanged)

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(
            text,
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            compact=True,
            placeholder="Ask anything…  (Enter sends, ctrl+j newline)",
        )

    async def _on_key(self, event: events.Key) -> None:
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.node is self:
            event.prevent_default()  # let the binding run; don't insert the character
            return

    def action_submit(self) -> None:
        text = self.text
        if text.strip():
            self.post_message(self.Submitted(self, text))

    def action_newline(self) -> None:
        start, end = self.selection
        self.replace("\n", start, end)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.post_message(self.DraftChanged(self.text))
