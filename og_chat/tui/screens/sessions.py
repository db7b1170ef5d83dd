"""The sessions screen: resume, rename, delete and export saved conversations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from og_chat.app.sanitize import neutralize

from ..host import HostScreen
from ..keymap import bindings
from ..widgets.key_footer import KeyFooter
from ..widgets.option_box import OptionBox
from ..widgets.receipts_panel import model_label
from ..workers import background
from .dialogs import AskText, Confirm

if TYPE_CHECKING:  # pydantic: loaded after the first frame (deferred.py)
    from og_chat.store.sessions import SessionSummary


def _prompt(summary: SessionSummary) -> Content:
    when = datetime.fromtimestamp(summary.updated_at).strftime("%Y-%m-%d %H:%M")
    return Content.assemble(
        (neutralize(summary.title or "New chat"), "bold"),
        "\n",
        (f"{when} · {model_label(summary.model or '')} · {summary.message_count} messages", "dim"),
    )


class SessionsScreen(HostScreen):
    """Every saved conversation, newest first; filter by typing."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.summaries: list[SessionSummary] = []

    def compose(self) -> ComposeResult:
        yield OptionBox("sessions", "Conversations", placeholder="filter conversations…")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#sessions-list").focus()
        self.reload()

    def reload(self) -> None:
        """Re-read the list of sessions and redraw it."""
        self.summaries = self.app.local.list_sessions()
        self._fill()

    def _fill(self) -> None:
        words = self.query_one("#sessions-input", Input).value.lower().split()
        shown = [
            s
            for s in self.summaries
            if all(w in f"{s.title} {s.model or ''}".lower() for w in words)
        ]
        option_list = self.query_one("#sessions-list", OptionList)
        option_list.set_options(Option(_prompt(s), id=s.id) for s in shown)
        if shown:
            option_list.highlighted = 0
        self.query_one("#sessions-summary", Static).update(
            Content(
                f"{len(shown)} of {len(self.summaries)} conversations · Enter resumes · "
                "F2 rename · F8 delete · F5 export"
            )
        )

    @on(Input.Changed, "#sessions-input")
    def _filter(self) -> None:
        self._fill()

    @on(Input.Submitted, "#sessions-input")
    def _to_list(self) -> None:
        self.query_one("#sessions-list").focus()

    def _highlighted(self) -> str | None:
        option_list = self.query_one("#sessions-list", OptionList)
        if option_list.highlighted is None:
            return None
        return option_list.get_option_at_index(option_list.highlighted).id

    @on(OptionList.OptionSelected, "#sessions-list")
    async def _resume(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is None:
            return
        chat = self.app.local.load_session(event.option.id)
        self.app.pop_screen()
        await self.app.resume(chat)

    @background("Renaming")
    async def action_rename(self) -> None:
        session_id = self._highlighted()
        if session_id is None:
            return
        current = next((s.title for s in self.summaries if s.id == session_id), "")
        title = await self.app.push_screen_wait(AskText("Rename conversation", current))
        if title and title.strip():
            self.app.local.rename_session(session_id, title.strip())
            self.app.conversation_renamed(session_id, title.strip())
            self.reload()

    @background("Deleting")
    async def action_delete(self) -> None:
        session_id = self._highlighted()
        if session_id is None:
            return
        title = next((s.title for s in self.summaries if s.id == session_id), session_id)
        if await self.app.push_screen_wait(Confirm(f"Delete “{neutralize(title)}”?", "Delete")):
            self.app.local.delete_session(session_id)
            self.reload()

    def action_export(self) -> None:
        session_id = self._highlighted()
        if session_id is None:
            return
        text = self.app.local.export_session_markdown(session_id)
        path = self.app.write_export(f"conversation-{session_id}", ".md", text)
        self.notify(f"Saved to {path}", timeout=6)
