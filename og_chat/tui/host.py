"""What screens need from the App: the `Host` protocol, and the screen bases that use it.

Screens know the App only through this protocol (`HostScreen` and `HostModal` type
`self.app` as `HostApp`: Textual's App plus `Host`), never through `OGChatApp` itself, so
the App can import every screen and no screen imports the App. The App satisfies `Host`
structurally; `app.py` checks it for mypy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from og_chat.sdk.types import Receipt

from .backend import Backend
from .chat import ChatState

if TYPE_CHECKING:
    from textual.app import App

    from .local import LocalState


class Host(Protocol):
    """The App as its screens use it: the runtime, local state, shared choices, navigation."""

    backend: Backend
    """The runtime seam; `backend.ready` until it has opened."""
    requested_network: str
    """The network asked for (flag or config) before the runtime says which one it opened."""
    model: str
    """The model the next call goes to (a reactive: screens `watch` it)."""
    mode: str
    """The settlement mode of the next call (a reactive: screens `watch` it)."""

    @property
    def local(self) -> LocalState:
        """Config, drafts and sessions on disk."""
        ...

    async def wait_for_backend(self) -> None:
        """Return once the runtime is open; raise ConfigurationError if it failed to."""
        ...

    def refresh_wallet(self, *, quiet: bool = False) -> Worker[None]:
        """Read balances again; every screen gets a `WalletUpdated`."""
        ...

    def save_draft(self, text: str) -> None:
        """Keep the prompt across restarts."""
        ...

    def save_session(self, chat: ChatState) -> None:
        """Persist the conversation with the current settlement mode."""
        ...

    def copy_text(self, text: str, *, what: str) -> None:
        """Copy to the terminal clipboard and say so."""
        ...

    def write_export(self, stem: str, suffix: str, text: str) -> Path:
        """Write text to a new file in the exports directory; returns its path."""
        ...

    def show_receipt(self, receipt: Receipt) -> None:
        """Add a new receipt to the chat's receipts panel (calls from compare land there too)."""
        ...

    def open_receipt_detail(self, receipt: Receipt) -> None:
        """Push the receipt detail screen."""
        ...

    async def resume(self, chat: ChatState, *, at: int | None = None) -> None:
        """Show a saved conversation on the main screen (scrolled to message `at`, if given)."""
        ...

    def conversation_renamed(self, session_id: str, title: str) -> None:
        """A saved conversation was renamed: if it is the one shown, it keeps the new name."""
        ...


if TYPE_CHECKING:

    class HostApp(App[None], Host):
        """Textual's App plus the Host protocol: the type a screen gives `self.app`."""


class HostScreen(Screen[None]):
    """A full screen of og-chat: `self.app` is the Host."""

    if TYPE_CHECKING:
        app: HostApp

    def running(self, group: str) -> bool:
        """True while a worker of `group` that this screen started still runs."""
        return any(w.group == group and w.is_running for w in self.workers)

    def stop_workers(self, group: str) -> bool:
        """Cancel `group`'s running workers; False when none ran (so a key such as Escape
        stops what runs first, and does its other job only when nothing does)."""
        if not self.running(group):
            return False
        self.workers.cancel_group(self, group)
        return True


class HostModal(ModalScreen[None]):
    """A modal screen of og-chat over the chat: `self.app` is the Host."""

    if TYPE_CHECKING:
        app: HostApp
