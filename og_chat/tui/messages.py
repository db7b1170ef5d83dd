"""Messages that carry backend events to the UI.

Workers and the settlement tracker post these to the App; screens listen for
the ones they paint. `post_message` is thread-safe, so a callback running on
the runtime's thread can post them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from og_chat.sdk.types import Receipt

from .backend import WalletView


class Latest(Message):
    """A state report only the newest of which matters: a queued one of the same class is
    dropped when another arrives, so a burst of updates paints once."""

    def can_replace(self, message: Message) -> bool:
        return type(message) is type(self)


@dataclass
class BackendProgress(Latest):
    """The runtime is starting; `text` says which step it is on."""

    text: str


@dataclass
class BackendReady(Message):
    """The runtime is open: a wallet, a network and a gateway to call."""

    network: str
    address: str
    gateway: str


@dataclass
class BackendFailed(Message):
    """The runtime could not open: `text` says why, `hint` what to do."""

    text: str
    hint: str = ""


@dataclass
class ReceiptAdded(Message):
    """A call finished and its receipt is in the store."""

    receipt: Receipt


@dataclass
class ReceiptUpdated(Message, bubble=False):
    """Later facts about a receipt arrived (usually: its payment settled).

    Posted to the App, which hands a copy to every screen in the stack. It does
    not bubble: a screen's copy bubbling back to the App was forwarded again,
    an endless loop that kept the event loop busy from the first settlement on.
    """

    receipt_id: str
    fields: dict[str, Any]


@dataclass
class WalletUpdated(Latest):
    """Fresh balances for the header and the wallet screen."""

    wallet: WalletView


@dataclass
class SettingsChanged(Message):
    """The config changed on the settings screen (theme, caps or keymap)."""
