"""Config, drafts and sessions on disk (`og_chat.store`), as the TUI uses them.

Every read or write of the config file, the prompt draft and saved conversations goes
through `LocalState`, so a change in the store's API is a change in this file only. The
config and session models are pydantic, slow to import next to a first paint: the App
loads this module in a thread after the first frame (see `deferred.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from og_chat.app import network
from og_chat.sdk.networks import NetworkChoice
from og_chat.store.config import Config, load_config, save_config
from og_chat.store.paths import (
    DRAFTS_DIR,
    RECEIPTS_FILE,
    SESSIONS_DIR,
    config_path,
    data_dir,
    ensure_private_dir,
)
from og_chat.store.sessions import Message, Session, SessionStore, SessionSummary

from .chat import ChatState


class LocalState:
    """The loaded config plus the session store of the data directory."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._sessions: SessionStore | None = None

    @classmethod
    def load(cls) -> LocalState:
        """Read the config file (defaults when it does not exist)."""
        return cls(load_config())

    def reload(self) -> None:
        """Re-read the config after the settings screen changed it."""
        self.config = load_config()

    def network_choice(
        self, flag_network: str | None, flag_devnet_url: str | None
    ) -> NetworkChoice:
        """The network the flags, the environment and this config pick: the one rule the SDK
        and the CLI use too (`og_chat.app.network.choose`)."""
        return network.choose(flag_network, flag_devnet_url, self.config)

    @property
    def keymap(self) -> dict[str, str]:
        return dict(self.config.keymap)

    @property
    def config_path(self) -> Path:
        return config_path()

    @property
    def data_dir(self) -> Path:
        return data_dir()

    @property
    def themes_dir(self) -> Path:
        """User themes live beside the config file."""
        return self.config_path.parent / "themes"

    def exports_dir(self) -> Path:
        """Where copied answers, code blocks and exports are written (0700)."""
        return ensure_private_dir(data_dir(create=True) / "exports")

    def _update_config(self, **changes: Any) -> None:
        """Merge `changes` (a dict value merges into that section) into the file and save it.

        The file is re-read without environment overrides so an override is
        never written into it; validation errors propagate with the key named.
        """
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
    def sessions(self) -> SessionStore:
        """The SessionStore of the data directory."""
        if self._sessions is None:
            self._sessions = SessionStore()
        return self._sessions

    def load_draft(self) -> str:
        """The prompt the user was typing when og-chat last closed."""
        return self.sessions.load_draft()

    def save_draft(self, text: str) -> None:
        self.sessions.save_draft(text)

    def save_session(self, chat: ChatState, mode: str) -> None:
        """Write the conversation as a store `Session` (atomic, 0600)."""
        session = Session(
            id=chat.id,
            title=chat.title,
            created_at=chat.created_at,
            settlement_mode=mode,
            model=chat.model or None,
            messages=[Message.model_validate(m) for m in chat.messages],
        )
        self.sessions.save(session)

    # -- sessions ---------------------------------------------------------------

    def list_sessions(self) -> list[SessionSummary]:
        """Saved conversations, most recently updated first."""
        return self.sessions.list()

    def load_session(self, session_id: str) -> ChatState:
        """A saved conversation as the TUI's ChatState."""
        session = self.sessions.load(session_id)
        messages = [m.model_dump(exclude_none=True) for m in session.messages]
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
        return self.sessions.export_markdown(session_id)

    # -- settings ---------------------------------------------------------------

    def paths(self) -> list[tuple[str, Path]]:
        """What lives where, for the settings screen."""
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
        sections = {"spend": self.config.spend, "top_up": self.config.top_up}
        return [
            (f"{section}.{name}", value)
            for section, model in sections.items()
            for name, value in model.model_dump(mode="json").items()
        ]

    def set_setting(self, dotted: str, value: str) -> None:
        """Write one `section.name` value to the config file (validated by the store)."""
        section, _, name = dotted.partition(".")
        self._update_config(**{section: {name: value or None}})

    def set_keymap(self, binding_id: str, keys: str) -> None:
        """Remap one binding in the config's keymap."""
        keymap = self.keymap
        keymap[binding_id] = keys
        self._update_config(keymap=keymap)
