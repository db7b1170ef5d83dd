"""The search screen (ctrl+f): every conversation's messages and every receipt, as you type.

The store answers (`og_chat.store.search`, an FTS5 index kept in step with the JSON
files); this screen asks it off the event loop a moment after the last keystroke, and
shows each hit's title, model and snippet. Snippets are text from models and users:
they are neutralized before painting, and the matched words are styled only after
that, found by two private-use marks the store puts around them. Enter on a message
opens its conversation scrolled to it; on a receipt, the receipt's detail.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from og_chat.app.sanitize import neutralize
from og_chat.sdk.errors import OGError

from ..host import HostScreen
from ..keymap import bindings
from ..widgets.conversation import error_message
from ..widgets.key_footer import KeyFooter
from ..widgets.option_box import OptionBox
from ..widgets.receipts_panel import model_label
from ..workers import background
from .receipts import open_receipt_store

if TYPE_CHECKING:  # pydantic: loaded after the first frame (deferred.py)
    from og_chat.store.search import SearchResults
    from og_chat.store.search_index import MessageHit, ReceiptHit

MARKS = ("\ue000", "\ue001")
"""Around each matched word of a snippet: private-use characters that `neutralize` leaves
alone and that no answer is expected to carry (one that does only gets styled oddly)."""
LIMIT = 50
"""Hits of each kind shown."""
DEBOUNCE = 0.15
"""Seconds after the last keystroke before searching."""
HOW_TO = "type a word · word* matches a prefix · Enter opens"
"""The summary line while nothing is typed."""


def marked_snippet(snippet: str) -> Content:
    """A snippet on one line, neutralized, its matched words highlighted."""
    text = " ".join(neutralize(snippet).split())
    parts: list[str | tuple[str, str]] = []
    for i, piece in enumerate(text.split(MARKS[0])):
        matched, _, rest = piece.partition(MARKS[1]) if i else ("", "", piece)
        if matched:
            parts.append((matched, "bold $accent"))
        if rest:
            parts.append(rest.replace(MARKS[1], ""))
    return Content.assemble(*parts)


def message_option(hit: MessageHit) -> Option:
    """A message hit: the conversation's title, who wrote it, and the snippet."""
    who = "you" if hit.role == "user" else model_label(hit.model or "") or hit.role
    head = Content.assemble(
        (neutralize(hit.title or "New chat"), "bold"), (f"  · {neutralize(who)}", "dim")
    )
    return Option(
        Content("\n").join([head, marked_snippet(hit.snippet)]),
        id=f"m:{hit.message_index}:{hit.session_id}",
    )


def receipt_option(hit: ReceiptHit) -> Option:
    """A receipt hit: its id, model and time, and the snippet of its answer."""
    when = datetime.fromtimestamp(hit.created_at).strftime("%Y-%m-%d %H:%M")
    head = Content.assemble(
        ("receipt ", "dim"),
        (neutralize(hit.receipt_id[:18]), "bold"),
        (f"  · {neutralize(model_label(hit.model))} · {when}", "dim"),
    )
    return Option(Content("\n").join([head, marked_snippet(hit.snippet)]), id=f"r:{hit.receipt_id}")


class SearchScreen(HostScreen):
    """A search box over the results; Enter opens what is highlighted."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("search")

    def __init__(self) -> None:
        super().__init__()
        self._timer: Timer | None = None
        self.results: SearchResults | None = None
        """What the list shows (the last search that finished for the current text)."""

    def compose(self) -> ComposeResult:
        yield OptionBox(
            "search",
            "Search",
            placeholder="search every conversation and receipt…",
            summary=HOW_TO,
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#search-input").focus()

    @property
    def term(self) -> str:
        return self.query_one("#search-input", Input).value.strip()

    @on(Input.Changed, "#search-input")
    def _typed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self._search_now)

    def _search_now(self) -> None:
        if self.term:
            self.search(self.term)
        else:
            self.query_one("#search-list", OptionList).clear_options()
            self._summary(HOW_TO)

    @background("Searching", group="search", exclusive=True, thread=True)
    def search(self, term: str) -> None:
        """Ask the store (sqlite, and re-reading changed files) off the event loop."""
        try:
            results = self.app.local.search(term, limit=LIMIT, marks=MARKS)
        except (OGError, sqlite3.Error) as error:
            self.app.call_from_thread(self._summary, f"search failed: {error_message(error)}")
            return
        self.app.call_from_thread(self._show, results)

    def _show(self, results: SearchResults) -> None:
        if results.term != self.term:
            return  # typed on since: the newer search will answer
        self.results = results
        options: list[Option] = []
        if results.messages:
            options.append(Option(Content(f"Messages ({len(results.messages)})"), disabled=True))
            options += [message_option(hit) for hit in results.messages]
        if results.receipts:
            options.append(Option(Content(f"Receipts ({len(results.receipts)})"), disabled=True))
            options += [receipt_option(hit) for hit in results.receipts]
        found = self.query_one("#search-list", OptionList)
        found.set_options(options)
        if options:
            found.highlighted = 1
        count = len(results.messages) + len(results.receipts)
        skipped = f" · {len(results.warnings)} unreadable files skipped" if results.warnings else ""
        self._summary(f"{count} found for “{results.term}”{skipped} · Enter opens")

    def _summary(self, text: str) -> None:
        self.query_one("#search-summary", Static).update(Content(neutralize(text)))

    def action_focus_results(self) -> None:
        self.query_one("#search-list").focus()

    @on(Input.Submitted, "#search-input")
    async def _open_highlighted(self) -> None:
        found = self.query_one("#search-list", OptionList)
        if found.highlighted is not None:
            await self.open(found.get_option_at_index(found.highlighted).id)

    @on(OptionList.OptionSelected, "#search-list")
    async def _selected(self, event: OptionList.OptionSelected) -> None:
        await self.open(event.option.id)

    async def open(self, option_id: str | None) -> None:
        """A message: its conversation, at it (this screen closes). A receipt: its detail."""
        kind, _, rest = (option_id or "").partition(":")
        try:
            if kind == "m":
                index, _, session_id = rest.partition(":")
                chat = self.app.local.load_session(session_id)
                self.app.pop_screen()
                await self.app.resume(chat, at=int(index))
            elif kind == "r":
                self.app.open_receipt_detail(open_receipt_store(self.app).get(rest))
        except OGError as error:  # deleted or damaged since it was indexed
            self.notify(neutralize(error_message(error)), title="cannot open it", severity="error")
