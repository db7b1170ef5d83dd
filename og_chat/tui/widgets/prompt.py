"""The multi-line prompt: Enter sends, ctrl+j inserts a newline, up/down from an empty
prompt walk earlier prompts (all remappable)."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import TextArea

from ..keymap import bindings
from ..prompt_history import PromptHistory


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
        self.earlier_prompts: PromptHistory | None = None
        """Earlier prompts for up/down; the chat screen sets it (`history` is the undo's)."""

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

    def action_history(self, step: int) -> None:
        """Up (-1) / down (1): walk earlier prompts from the prompt's first / last line when it
        is empty or shows an unedited entry; otherwise move the cursor as a TextArea does."""
        history = self.earlier_prompts
        row = self.cursor_location[0]
        at_edge = row == 0 if step < 0 else row == self.document.line_count - 1
        text = None
        if history is not None and at_edge and history.can_walk(self.text):
            text = history.back(self.text) if step < 0 else history.forward(self.text)
        if text is None and step < 0:
            self.action_cursor_up()
        elif text is None:
            self.action_cursor_down()
        else:
            self.load_text(text)
            self.move_cursor(self.document.end)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.post_message(self.DraftChanged(self.text))
