"""The model picker folded to one line, for terminals too narrow for the model sidebar."""

from __future__ import annotations

from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from og_chat.sdk.models import CATALOGUE, PROVIDERS


class ModelBar(Widget):
    """`▾ Claude Haiku 4.5 · Anthropic   F2 change · F3 next provider`; a click opens the picker."""

    DEFAULT_CSS = """
    ModelBar { height: 1; padding: 0 1; background: $panel; color: $foreground; }
    ModelBar:hover { background: $panel-lighten-1; }
    """

    class Open(Message):
        """The user asked for the model picker (a click on the bar)."""

    model: reactive[str] = reactive("")
    """Full id of the model calls go to."""

    def __init__(self, model: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.set_reactive(ModelBar.model, model)

    def render(self) -> Content:
        info = CATALOGUE.get(self.model)
        name = info.display_name if info else self.model
        provider = PROVIDERS.get(info.provider, info.provider) if info else ""
        return Content.assemble(
            ("▾ ", "$accent"),
            (name, "bold"),
            (f" · {provider}" if provider else "", "$foreground-muted"),
            ("   F2 change · F3 next provider", "dim"),
        )

    def on_click(self) -> None:
        self.post_message(self.Open())
