"""Pick a code block of the last answer to copy or save."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from og_chat.app.sanitize import neutralize

from ..host import HostModal
from ..keymap import bindings
from ..widgets.key_footer import KeyFooter


def _preview(block: str, index: int) -> Content:
    lines = block.strip("\n").splitlines() or [""]
    head = neutralize(lines[0])[:70]
    more = f"  (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return Content.assemble((f"{index + 1}. ", "bold"), head, (more, "dim"))


class CodeBlocksScreen(HostModal):
    """Copy (OSC 52) or save a code block; saving works on every terminal."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("code")

    def __init__(self, blocks: list[str]) -> None:
        super().__init__()
        self.blocks = blocks

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                Content("Enter copies the block · w saves it to a file"), classes="field-label"
            )
            yield OptionList(
                *(Option(_preview(b, i), id=str(i)) for i, b in enumerate(self.blocks))
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = "Code blocks"
        option_list = self.query_one(OptionList)
        option_list.highlighted = len(self.blocks) - 1
        option_list.focus()

    def _highlighted(self) -> str:
        index = self.query_one(OptionList).highlighted or 0
        return self.blocks[index]

    @on(OptionList.OptionSelected)
    def _copy(self) -> None:
        self.app.copy_text(self._highlighted(), what="the code block")
        self.dismiss()

    def action_save(self) -> None:
        path = self.app.write_export("code", ".txt", self._highlighted())
        self.notify(f"Saved to {path}", timeout=6)
        self.dismiss()
