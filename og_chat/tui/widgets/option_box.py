"""A bordered box of a text line over a list over a summary line: the search and sessions screens.

Both screens are this shape (type to search or filter, pick from the list, read the count
underneath); the layout and its style live here once, and each screen fills the list.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static


class OptionBox(Vertical):
    """`#NAME-input` over `#NAME-list` over a one-line `#NAME-summary`, in a round border
    titled `title` (the box itself is `#NAME-box`)."""

    DEFAULT_CSS = """
    OptionBox { border: round $primary; border-title-color: $primary; margin: 1 4; }
    OptionBox > Input, OptionBox > Input:focus {
        border: none; height: 1; background: $surface; padding: 0 1;
    }
    OptionBox > OptionList, OptionBox > OptionList:focus {
        height: 1fr; border: none; background: transparent;
    }
    OptionBox > Static { height: 1; color: $foreground-muted; padding: 0 1; }
    """

    def __init__(self, name: str, title: str, *, placeholder: str, summary: str = "") -> None:
        super().__init__(id=f"{name}-box")
        self.border_title = title
        self._name = name
        self._placeholder = placeholder
        self._summary = summary

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self._placeholder, id=f"{self._name}-input")
        yield OptionList(id=f"{self._name}-list")
        yield Static(self._summary, id=f"{self._name}-summary")
