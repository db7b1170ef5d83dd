"""The one seam between the TUI and `og_chat.app.runtime` / `og_chat.store`.

Every call the TUI makes into the runtime goes through `Backend`, and every
read or write of config, drafts and sessions through `LocalState`, so a change
in those APIs is a change in this file only. Heavy modules (web3, the devnet)
are imported inside `Backend.open()`, after the first frame is painted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from og_chat.sdk.types import Receipt, StreamChunk

    from .chat import ChatState

OPG_DECIMALS = 18


def opg(base_units: int | None) -> Decimal | None:
    """Base units (18 decimals) → OPG."""
    if base_units is None:
        return None
    return Decimal(base_units).scaleb(-OPG_DECIMALS)


def show_opg(amount: Decimal | str | int | None, places: int = 4) -> str:
    """An amount already in OPG (not base units: see `sdk.chain.format_opg`), short: `12.3456`."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(str(amount))
    if value and abs(value) < Decimal(1).scaleb(-places):
        return f"{value:.1e}"
    return f"{value:,.{places}f}"


def short_address(address: str | None) -> str:
    """`0xf39F…2266`: enough to recognise a wallet, short enough for a header."""
    if not address:
        return "—"
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


@dataclass(frozen=True, slots=True)
class WalletView:
    """Wallet balances as the UI shows them (never the key)."""

    address: str
    network: str
    opg: Decimal | None
    allowance: Decimal | None
    eth: Decimal | None


class Backend:
    """A Runtime opened lazily, with the calls the TUI needs."""

    def __init__(
        self,
        *,
        network: str | None = None,
        devnet_url: str | None = None,
        mode: str | None = None,
        config: Any = None,
    ) -> None:
        self._network = network
        self._devnet_url = devnet_url
        self._mode = mode
        self.config = config
        """The loaded Config; set by the App before `open()`."""
        self.runtime: Any = None
        self._key: Callable[[], str | None] = lambda: None

    def set_private_key(self, key: str | None) -> None:
        """A key unlocked from the keystore; held in a closure so no repr or screen shows it."""
        self._key = lambda: key

    @property
    def ready(self) -> bool:
        """True once `open()` has finished."""
        return self.runtime is not None

    async def open(self, on_progress: Callable[[str], None] | None = None) -> None:
        """Open the runtime: load the key or start the embedded devnet.

        The heavy imports (web3, eth-account, aiohttp, py-evm) run in a thread
        first, so the event loop keeps painting while they load.
        """
        await asyncio.to_thread(_preload)
        from og_chat.app.runtime import Runtime

        self.runtime = await Runtime.open(
            self.config,
            network=self._network,
            devnet_url=self._devnet_url,
            mode=self._mode,
            private_key=self._key(),
            on_progress=on_progress,
        )

    @property
    def network(self) -> str:
        return str(self.runtime.network) if self.runtime else (self._network or "devnet")

    @property
    def address(self) -> str:
        return str(self.runtime.address) if self.runtime else ""

    @property
    def devnet_url(self) -> str | None:
        """The devnet's base URL when on the devnet (embedded or given)."""
        if self.runtime is not None:
            url = self.runtime.devnet_url
            return str(url) if url else None
        return self._devnet_url

    @property
    def gateway(self) -> str:
        """A short description of where calls go, for the header."""
        if self.runtime is None:
            return ""
        if self.runtime.devnet is not None:
            return "embedded devnet"
        return self.devnet_url or "gateway"

    @property
    def receipts(self) -> Any:
        """The runtime's ReceiptStore."""
        return self.runtime.receipts

    def stream_chat(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        mode: str,
        tools: list[dict[str, Any]] | None = None,
        conversation_id: str | None = None,
        max_tokens: int = 1024,
    ) -> AsyncIterator[StreamChunk]:
        """Stream one paid call; the final chunk carries the stored receipt."""
        return self.runtime.stream_chat(  # type: ignore[no-any-return]
            model,
            messages,
            mode=mode,
            tools=tools,
            conversation_id=conversation_id,
            max_tokens=max_tokens,
        )

    async def wallet(self) -> WalletView:
        """Balances and allowance, converted to OPG."""
        status = await self.runtime.wallet()
        return WalletView(
            address=str(status.address),
            network=str(status.network),
            opg=opg(status.opg),
            allowance=opg(status.allowance),
            eth=opg(status.eth),
        )

    async def top_up(self, min_opg: Decimal, approve_opg: Decimal | None = None) -> str | None:
        """Approve Permit2 up to the given amounts; returns the tx hash if one was sent."""
        result = await self.runtime.top_up(min_opg, approve_opg)
        return None if result is None else str(result)

    def start_settlement_tracker(self, on_update: Callable[[str, dict[str, Any]], object]) -> None:
        """Have the runtime report pending payments as they settle."""
        self.runtime.start_settlement_tracker(on_update)

    async def verify_receipt(self, receipt: Receipt) -> list[tuple[str, bool, str]]:
        """Re-run every check on a stored receipt: (check, ok, detail)."""
        return list(await self.runtime.verify_receipt(receipt))

    async def close(self) -> None:
        """Stop the tracker, the devnet and the HTTP clients."""
        if self.runtime is not None:
            runtime, self.runtime = self.runtime, None
            await runtime.close()


def _preload() -> None:
    """Import what `Runtime.open` needs, off the event loop."""
    import importlib

    for name in (
        "og_chat.app.runtime",
        "og_chat.sdk.client",
        "og_chat.devnet.server",
        "og_chat.devnet.chain",
        "og_chat.devnet.facilitator",
        "og_chat.app.settlement",
    ):
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # Runtime.open reports a missing piece with its own message


class LocalState:
    """Config, drafts and sessions on disk (`og_chat.store`), as the TUI uses them.

    Cheap to build (no web3): the App reads it before the first frame for the
    theme, keymap, model and draft.
    """

    def __init__(self, config: Any = None) -> None:
        self.config = config
        self._sessions: Any = None

    @classmethod
    def load(cls) -> LocalState:
        """Read the config file (defaults when it does not exist)."""
        from og_chat.store.config import load_config

        return cls(load_config())

    def reload(self) -> None:
        """Re-read the config after the settings screen changed it."""
        from og_chat.store.config import load_config

        self.config = load_config()

    def _get(self, name: str, default: Any = None) -> Any:
        return getattr(self.config, name, default) if self.config is not None else default

    def _text(self, name: str) -> str | None:
        value = self._get(name)
        value = getattr(value, "value", value)  # enums hold their wire value
        return None if value is None else str(value)

    @property
    def network(self) -> str | None:
        return self._text("network")

    @property
    def model(self) -> str | None:
        return self._text("model")

    @property
    def mode(self) -> str | None:
        return self._text("settlement_mode")

    @property
    def theme(self) -> str | None:
        return self._text("theme")

    @property
    def keymap(self) -> dict[str, str]:
        return dict(self._get("keymap") or {})

    @property
    def config_path(self) -> Path:
        from og_chat.store.paths import config_path

        return config_path()

    @property
    def data_dir(self) -> Path:
        from og_chat.store.paths import data_dir

        return data_dir()

    @property
    def themes_dir(self) -> Path:
        """User themes live beside the config file."""
        return self.config_path.parent / "themes"

    def exports_dir(self) -> Path:
        """Where copied answers, code blocks and exports are written (0700)."""
        from og_chat.store.paths import data_dir, ensure_private_dir

        return ensure_private_dir(data_dir(create=True) / "exports")

    def _update_config(self, **changes: Any) -> None:
        """Merge `changes` (a dict value merges into that section) into the file and save it.

        The file is re-read without environment overrides so an override is
        never written into it; validation errors propagate with the key named.
        """
        from og_chat.store.config import Config, load_config, save_config

        data = load_config(environ={}).model_dump(mode="json", exclude_none=True)
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        save_config(Config.model_validate(data))
        self.reload()

    def set_theme(self, theme: str) -> None:
        """Persist the theme choice."""
        self._update_config(theme=theme)

    @property
    def sessions(self) -> Any:
        """The SessionStore of the data directory."""
        if self._sessions is None:
            from og_chat.store.sessions import SessionStore

            self._sessions = SessionStore()
        return self._sessions

    def load_draft(self) -> str:
        """The prompt the user was typing when og-chat last closed."""
        return str(self.sessions.load_draft() or "")

    def save_draft(self, text: str) -> None:
        self.sessions.save_draft(text)

    def save_session(self, chat: ChatState, mode: str = "batch") -> None:
        """Write the conversation as a store `Session` (atomic, 0600)."""
        from og_chat.store.sessions import Message, Session

        session = Session(
            id=chat.id,
            title=chat.title,
            created_at=chat.created_at,
            settlement_mode=mode,
            model=chat.model or None,
            messages=[Message.model_validate(m) for m in chat.messages],
        )
        self.sessions.save(session)

    # -- sessions (adapted to og_chat.store.sessions) ---------------------------

    def list_sessions(self) -> list[SessionSummary]:
        """Saved conversations, newest first."""
        out = [SessionSummary.of(item) for item in self.sessions.list()]
        return sorted(out, key=lambda s: s.updated_at, reverse=True)

    def load_session(self, session_id: str) -> ChatState:
        """A saved conversation as the TUI's ChatState."""
        from .chat import ChatState

        session = self.sessions.load(session_id)
        messages = [
            m.model_dump(exclude_none=True, exclude={"created_at"}) for m in session.messages
        ]
        return ChatState(
            id=session.id,
            title=session.title,
            model=session.model or "",
            messages=messages,
            created_at=session.created_at,
            receipt_ids=[str(m["receipt_id"]) for m in messages if m.get("receipt_id")],
        )

    def rename_session(self, session_id: str, title: str) -> None:
        self.sessions.rename(session_id, title)

    def delete_session(self, session_id: str) -> None:
        self.sessions.delete(session_id)

    def export_session_markdown(self, session_id: str) -> str:
        return str(self.sessions.export_markdown(session_id))

    # -- settings ---------------------------------------------------------------

    def paths(self) -> list[tuple[str, Path]]:
        """What lives where, for the settings screen."""
        from og_chat.store.paths import DRAFTS_DIR, RECEIPTS_FILE, SESSIONS_DIR

        data = self.data_dir
        return [
            ("config", self.config_path),
            ("themes", self.themes_dir),
            ("data", data),
            ("receipts", data / RECEIPTS_FILE),
            ("sessions", data / SESSIONS_DIR),
            ("drafts", data / DRAFTS_DIR),
            ("exports", data / "exports"),
        ]

    def spend_settings(self) -> list[tuple[str, Any]]:
        """Spend caps and top-up policy as dotted names and values."""
        out: list[tuple[str, Any]] = []
        for section in ("spend", "top_up"):
            value = self._get(section)
            if value is None:
                continue
            items = value.model_dump(mode="json") if hasattr(value, "model_dump") else vars(value)
            out.extend((f"{section}.{name}", item) for name, item in items.items())
        return out

    def set_setting(self, dotted: str, value: str) -> None:
        """Write one `section.name` value to the config file (validated by the store)."""
        section, _, name = dotted.partition(".")
        self._update_config(**{section: {name: value or None}})

    def set_keymap(self, binding_id: str, keys: str) -> None:
        """Remap one binding in the config's keymap."""
        keymap = self.keymap
        keymap[binding_id] = keys
        self._update_config(keymap=keymap)


def _getter(obj: Any) -> Callable[[str], Any]:
    if isinstance(obj, dict):
        return obj.get
    return lambda name: getattr(obj, name, None)


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One row of the sessions screen."""

    id: str
    title: str
    model: str
    updated_at: float
    messages: int

    @classmethod
    def of(cls, item: Any) -> SessionSummary:
        """Build from whatever the store lists (an object or a dict)."""
        get = _getter(item)
        messages = get("messages")
        count = get("message_count")
        return cls(
            id=str(get("id")),
            title=str(get("title") or "New chat"),
            model=str(get("model") or ""),
            updated_at=float(get("updated_at") or get("created_at") or 0.0),
            messages=int(count if count is not None else len(messages or [])),
        )
