"""A table that formats only the rows on screen, for logs of 100,000 receipts.

`DataTable` builds every row up front (about 1.7 s for 20,000 rows); this
widget keeps a plain list and renders lines on demand (toolong's `LogLines`
pattern), so opening cost does not grow with the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from og_chat.app.sanitize import neutralize

from ..keymap import bindings

Row = TypeVar("Row")


def fit(text: str, width: int, right: bool = False) -> str:
    """Pad or cut `text` to exactly `width` cells (ellipsis when cut)."""
    if len(text) > width:
        return text[: max(width - 1, 0)] + "…" if width else ""
    return text.rjust(width) if right else text.ljust(width)


class VirtualTable(ScrollView, Generic[Row], can_focus=True):
    """Rows of any type, a header line, a row cursor; cells built by `format_row` when shown."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"vtable--header", "vtable--cursor", "vtable--odd"}

    DEFAULT_CSS = """
    VirtualTable { background: $surface; }
    VirtualTable > .vtable--header { text-style: bold; color: $secondary; background: $panel; }
    VirtualTable > .vtable--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
    }
    VirtualTable:blur > .vtable--cursor { background: $block-cursor-blurred-background; }
    VirtualTable > .vtable--odd { background: $boost; }
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings("table")

    class Selected(Message):
        """Enter on a row."""

        def __init__(self, row: Any) -> None:
            self.row = row
            super().__init__()

    cursor: reactive[int] = reactive(0, repaint=False)
    """Index of the highlighted row."""

    def __init__(
        self,
        columns: Sequence[tuple[str, int, bool]],
        format_row: Callable[[Row], Sequence[str]],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        """(label, width, right-aligned) per column."""
        self.format_row = format_row
        self.rows: list[Row] = []

    @property
    def _row_width(self) -> int:
        return sum(width + 1 for _, width, _ in self.columns)

    def set_rows(self, rows: list[Row], *, cursor: int | None = None) -> None:
        """Replace the rows (a list is kept, not copied); O(1) in the number of rows."""
        self.rows = rows
        self.virtual_size = Size(self._row_width, len(rows) + 1)
        self.set_reactive(VirtualTable.cursor, 0)
        self.cursor = max(0, min(len(rows) - 1, cursor if cursor is not None else len(rows) - 1))
        self._scroll_to_cursor()
        self.refresh()

    def refresh_row(self, index: int) -> None:
        """Repaint one row after its data changed."""
        self.refresh_line(index + 1 - int(self.scroll_y))

    @property
    def current(self) -> Row | None:
        """The highlighted row, if any."""
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def _line_text(self, cells: Sequence[str]) -> str:
        return " ".join(
            fit(neutralize(cell), width, right)
            for cell, (_, width, right) in zip(cells, self.columns, strict=False)
        )

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:  # the header stays put while the rows scroll under it
            header = base + self.get_component_rich_style("vtable--header")
            text = self._line_text([label for label, _, _ in self.columns])
            return Strip([Segment(text, header)]).crop_extend(scroll_x, scroll_x + width, header)
        index = scroll_y + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        text = self._line_text(self.format_row(self.rows[index]))
        style: Style = base
        if index == self.cursor:
            style = base + self.get_component_rich_style("vtable--cursor")
        elif index % 2:
            style = base + self.get_component_rich_style("vtable--odd")
        return Strip([Segment(text, style)]).crop_extend(scroll_x, scroll_x + width, style)

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        visible = max(self.size.height - 1, 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def action_cursor(self, step: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.size.height - 2, 1))

    def action_jump(self, index: int) -> None:
        if self.rows:
            self.cursor = index if index >= 0 else len(self.rows) - 1

    def action_select(self) -> None:
        if self.current is not None:
            self.post_message(self.Selected(self.current))

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain > 1:
                self.action_select()
            self.cursor = index
