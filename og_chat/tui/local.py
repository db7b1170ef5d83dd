"""Config, drafts and sessions on disk (`og_chat.store`), as the TUI uses them.

Every read or write of the config file, the prompt draft and saved conversations goes
through `LocalState`, so a change in the store's API is a change in this file only. The
config and session models are pydantic, slow to import next to a first paint: the App
loads this module in a thread after the first frame (see `deferred.py`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from og_chat.app import network
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.images import decode_image
from og_chat.sdk.network_choice import NetworkChoice
from og_chat.store.chat_settings import ChatSettings, Requested, resolve_settings
from og_chat.store.config import Config, Persona, load_config, save_config
from og_chat.store.image_files import ImageFileExists, save_images
from og_chat.store.paths import (
    DRAFTS_DIR,
    RECEIPTS_FILE,
    SESSIONS_DIR,
    config_path,
    data_dir,
    ensure_private_dir,
)
from og_chat.store.search import Search, SearchResults
from og_chat.store.sessions import Message, Session, SessionError, SessionStore, SessionSummary

from .chat import ChatState


class LocalState:
    """The loaded config plus the session store of the data directory."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._sessions: SessionStore | None = None
        self._search: Search | None = None

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
        """Write the conversation as a store `Session` (atomic, 0600), with its settings.

        The settings go through `ChatSettings.store_on`, as `og-chat ask` saves them, so a
        conversation started or continued from the CLI keeps its system prompt, temperature,
        max_tokens and persona when the TUI saves it.
        """
        session = Session(
            id=chat.id,
            title=chat.title,
            created_at=chat.created_at,
            messages=[Message.model_validate(m) for m in chat.messages],
        )
        ChatSettings(
            model=chat.model or self.config.model,
            settlement_mode=mode,
            max_tokens=chat.max_tokens or self.config.max_tokens,
            system_prompt=chat.system_prompt or None,
            temperature=chat.temperature,
            persona=chat.persona,
        ).store_on(session)
        self.sessions.save(session)

    # -- personas ---------------------------------------------------------------

    @property
    def personas(self) -> dict[str, Persona]:
        """The config's `[personas.NAME]` tables, by name."""
        return dict(self.config.personas)

    def with_persona(self, chat: ChatState, name: str, mode: str) -> ChatState:
        """`chat` started with persona `name`: its values over the chat's model and `mode`.

        The store's one rule decides (`resolve_settings`: the persona, then what the
        conversation has, then the config), exactly as `og-chat ask --persona` does.
        """
        current = Session(id="persona-choice", model=chat.model or None, settlement_mode=mode)
        settings = resolve_settings(self.config, Requested(), name, current)
        chat.model = settings.model
        chat.mode = settings.settlement_mode
        chat.system_prompt = settings.system_prompt
        chat.temperature = settings.temperature
        chat.max_tokens = settings.max_tokens
        chat.persona = name
        return chat

    def read_chat_numbers(
        self, temperature: str, max_tokens: str
    ) -> tuple[float | None, int | None]:
        """Temperature and max_tokens as typed in the settings panel ("": not set), checked
        by the bounds a saved conversation has; a ConfigurationError names the field."""
        typed = {
            "temperature": temperature.strip() or None,
            "max_tokens": max_tokens.strip() or None,
        }
        try:
            checked = Session.model_validate({"id": "settings-check", **typed})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]).replace("_", " ")
            raise ConfigurationError(
                f"{field}: {first['msg']}", hint="leave it empty for the default"
            ) from None
        return checked.temperature, checked.max_tokens

    # -- search, history, images --------------------------------------------------

    def search(self, term: str, *, limit: int, marks: tuple[str, str]) -> SearchResults:
        """Messages and receipts matching `term`, the matches in `marks` (the index is
        brought up to date with the files first)."""
        if self._search is None:
            self._search = Search(data_dir())
        return self._search.search(term, limit=limit, marks=marks)

    def older_prompts(self, exclude: str, conversations: int = 30) -> list[str]:
        """The prompts of the latest saved conversations but `exclude`, newest first."""
        prompts: list[str] = []
        for summary in self.list_sessions()[: conversations + 1]:
            if summary.id == exclude:
                continue
            try:
                session = self.sessions.load(summary.id)
            except SessionError:
                continue
            prompts += [
                m.content for m in reversed(session.messages) if m.role == "user" and m.content
            ]
        return prompts

    def save_images(self, uris: list[str]) -> list[Path]:
        """Write an answer's images to new files in the exports directory (0600)."""
        extension = decode_image(uris[0]).extension
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for attempt in range(1, 100):
            suffix = "" if attempt == 1 else f"-{attempt}"
            try:
                return save_images(uris, self.exports_dir() / f"image-{stamp}{suffix}{extension}")
            except ImageFileExists:
                continue
        raise ImageFileExists(f"image-{stamp}{extension} and 98 more names are taken")

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
            mode=session.settlement_mode,
            system_prompt=session.system_prompt,
            temperature=session.temperature,
            max_tokens=session.max_tokens,
            persona=session.persona,
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
