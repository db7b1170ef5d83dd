"""Conversations on disk: one JSON file per session, replaced atomically on every save.

``sessions/<id>.json`` holds the whole conversation (schema version, title,
timestamps, settlement mode, messages with the model, tool calls, receipt id and
error/partial flags of each). A save writes a temporary file, fsyncs it and renames
it over the old one, so a crash leaves the previous version or the new one.

Listing 1,000 sessions must not parse 1,000 conversations: `SessionStore.list`
keeps a summary cache (``sessions/.index.json``) keyed by each file's inode, size
and mtime, and re-reads only files that changed. The cache is disposable; the
session files are the truth.

Drafts (the unsent text of the TUI prompt) live in ``drafts/`` and are atomic too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from og_chat.sdk.errors import OGError

from .atomic import fsync_dir, sweep_temp_files, write_atomic
from .paths import DRAFTS_DIR, SESSIONS_DIR, data_dir, ensure_private_dir
from .search_index import IndexedMessage, SearchError, SearchIndex, file_stamp

SESSION_SCHEMA = 1
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_INDEX = ".index.json"
NEW_TITLE = "New chat"
"""The title of a conversation before its first prompt names it."""
TITLE_CHARS = 48


def title_from(text: str, limit: int = TITLE_CHARS) -> str:
    """A session title from the first prompt: its first line, shortened."""
    line = text.strip().splitlines()[0] if text.strip() else NEW_TITLE
    return line if len(line) <= limit else line[: limit - 1] + "…"


class SessionError(OGError):
    """A session could not be read or written."""


class SessionNotFound(SessionError, LookupError):
    """No session has this id."""


class SessionCorrupt(SessionError):
    """A session file exists but cannot be read as a session."""


class Message(BaseModel):
    """One turn of a conversation."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    """None for an assistant turn that only calls tools."""
    model: str | None = None
    """The model that produced an assistant turn (full id)."""
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    receipt_id: str | None = None
    """The receipt of the paid call that produced this turn."""
    error: str | None = None
    """Why the call failed, when it did."""
    partial: bool = False
    """True when the stream stopped early and `content` is what arrived."""
    images: list[str] | None = None
    """The images an image model answered with, as `data:` URIs (saved with the session)."""
    superseded: bool = False
    """Replaced by a regenerated answer or an edited prompt: kept (it was paid for, and its
    receipt points here) and shown, but never sent to the model again."""
    created_at: float = Field(default_factory=time.time)

    def wire(self) -> dict[str, Any] | None:
        """This turn as the model receives it again; None for a failed or superseded turn."""
        if self.superseded:
            return None
        if self.role == "assistant" and self.error and not self.content and not self.tool_calls:
            return None
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        return out


class Session(BaseModel):
    """One conversation, as saved in ``sessions/<id>.json``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schema_version: int = Field(default=SESSION_SCHEMA, alias="schema")
    id: str = Field(pattern=_ID.pattern)
    title: str = NEW_TITLE
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    settlement_mode: str = "batch"
    model: str | None = None
    """The model last chosen in this conversation."""
    system_prompt: str | None = None
    """Sent first on every call of this conversation (not stored as a message)."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """None: the sdk's default temperature."""
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    """None: the config's `max_tokens`."""
    persona: str | None = None
    """The `[personas.NAME]` this conversation was started with, if any (shown, not re-applied)."""
    messages: list[Message] = Field(default_factory=list)

    @classmethod
    def new(cls, title: str = NEW_TITLE, **fields: Any) -> Session:
        """A fresh session with a sortable, file-name-safe id."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return cls(id=f"{stamp}-{secrets.token_hex(4)}", title=title, **fields)

    def to_json(self) -> str:
        """The file form: indented, schema first, messages last."""
        return self.model_dump_json(by_alias=True, indent=1)

    def wire_messages(self) -> list[dict[str, Any]]:
        """The history as the model receives it: every turn but failed and superseded ones.

        The system prompt is not among them: `Runtime.stream_chat(system_prompt=...)` sends it.
        """
        return [w for w in (m.wire() for m in self.messages) if w is not None]

    def add(self, message: Message) -> None:
        """Append a turn; the first user turn of an untitled conversation names it."""
        if message.role == "user" and self.title == NEW_TITLE and message.content:
            self.title = title_from(message.content)
        self.messages.append(message)


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What a session list shows, without the messages."""

    id: str
    title: str
    created_at: float
    updated_at: float
    message_count: int
    model: str | None
    settlement_mode: str


class SessionStore:
    """The sessions (and prompt drafts) of one data directory."""

    def __init__(self, directory: Path | None = None) -> None:
        root = directory if directory is not None else data_dir()
        self.directory = root / SESSIONS_DIR
        self.drafts_directory = root / DRAFTS_DIR
        self.warnings: list[str] = []
        """Session files the last `list` could not read (they are left in place)."""
        self.search_index = SearchIndex(root)
        """The full-text index every save updates (`og_chat.store.search` reads it)."""

    def path_for(self, session_id: str) -> Path:
        """The file of ``session_id``; ids are checked so no path can escape the folder."""
        if not _ID.match(session_id):
            raise SessionNotFound(
                f"{session_id!r} is not a session id", hint="list them with `og-chat sessions`"
            )
        return self.directory / f"{session_id}.json"

    def save(self, session: Session, *, touch: bool = True) -> None:
        """Write the session atomically; ``touch`` sets ``updated_at`` to now."""
        if touch:
            session.updated_at = time.time()
        path = self.path_for(session.id)
        try:
            ensure_private_dir(self.directory)
            write_atomic(path, session.to_json().encode("utf-8"))
        except OSError as exc:
            raise SessionError(
                f"could not save session {session.id}: {exc.strerror or exc}",
                hint="check free disk space and the permissions of the data directory",
            ) from None
        try:
            self.index(session, file_stamp(path.stat()))
        except (OSError, sqlite3.Error, SearchError):
            # The file is saved; an index that missed it re-reads it at the next search.
            self.search_index.close()

    def index(self, session: Session, stamp: str | None) -> None:
        """Bring the search index up to date with `session`, read from its file at `stamp`."""
        rows = [
            IndexedMessage(i, m.role, m.model, m.content)
            for i, m in enumerate(session.messages)
            if m.content
        ]
        self.search_index.put_session(session.id, session.title, session.updated_at, rows, stamp)

    def latest(self) -> Session:
        """The most recently updated conversation (`og-chat ask -c`)."""
        summaries = self.list()
        if not summaries:
            raise SessionNotFound(
                "there is no conversation to continue yet",
                hint='start one with `og-chat ask "..."` or `og-chat`',
            )
        return self.load(summaries[0].id)

    def load(self, session_id: str) -> Session:
        """Read one session; raises SessionNotFound or SessionCorrupt."""
        path = self.path_for(session_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise SessionNotFound(
                f"no session {session_id!r}", hint="list them with `og-chat sessions`"
            ) from None
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {exc.strerror}") from None
        return _parse(raw, path)

    def delete(self, session_id: str) -> None:
        """Remove a session file (and its draft)."""
        path = self.path_for(session_id)
        try:
            path.unlink()
        except FileNotFoundError:
            raise SessionNotFound(f"no session {session_id!r}") from None
        fsync_dir(self.directory)
        with contextlib.suppress(OSError, sqlite3.Error, SearchError):
            self.search_index.drop_session(session_id)
        self.save_draft("", session_id)

    def rename(self, session_id: str, title: str) -> Session:
        """Give a session a new title; returns the saved session."""
        session = self.load(session_id)
        session.title = title.strip() or session.title
        self.save(session, touch=False)
        return session

    def list(self) -> list[SessionSummary]:
        """Every readable session, most recently updated first.

        Files that cannot be read are skipped and named in `warnings`.
        """
        self.warnings = []
        try:
            entries = [
                e
                for e in os.scandir(self.directory)
                if e.name.endswith(".json") and not e.name.startswith(".")
            ]
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.warnings.append(f"cannot list {self.directory}: {exc.strerror}")
            return []
        index = self._read_index()
        fresh: dict[str, dict[str, Any]] = {}
        out: list[SessionSummary] = []
        for entry in entries:
            try:
                st = entry.stat()
            except OSError:
                continue
            stamp = [st.st_ino, st.st_size, st.st_mtime_ns]
            cached = index.get(entry.name)
            if cached is not None and cached.get("stamp") == stamp:
                summary = _summary_from(cached)
                if summary is not None:
                    fresh[entry.name] = cached
                    out.append(summary)
                    continue
            try:
                session = _parse(Path(entry.path).read_bytes(), Path(entry.path))
            except (SessionError, OSError) as exc:
                self.warnings.append(f"{entry.name}: {str(exc).splitlines()[0]}")
                continue
            summary = SessionSummary(
                id=session.id,
                title=session.title,
                created_at=session.created_at,
                updated_at=session.updated_at,
                message_count=len(session.messages),
                model=session.model,
                settlement_mode=session.settlement_mode,
            )
            fresh[entry.name] = {"stamp": stamp, **_summary_dict(summary)}
            out.append(summary)
        if fresh != index:
            with contextlib.suppress(OSError):
                write_atomic(self.directory / _INDEX, json.dumps(fresh).encode("utf-8"))
            sweep_temp_files(self.directory)
        out.sort(key=lambda s: (s.updated_at, s.id), reverse=True)
        return out

    def _read_index(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((self.directory / _INDEX).read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict)}

    def export_json(self, session_id: str) -> str:
        """The session as indented JSON, as stored."""
        return self.load(session_id).model_dump_json(by_alias=True, indent=2)

    def export_markdown(self, session_id: str) -> str:
        """The conversation as Markdown, with the model and receipt of each answer."""
        session = self.load(session_id)
        created = datetime.fromtimestamp(session.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"# {session.title}",
            "",
            f"*{created} · settlement: {session.settlement_mode} · session {session.id}*",
            "",
        ]
        names = {"user": "You", "assistant": "Assistant", "system": "System", "tool": "Tool"}
        for message in session.messages:
            meta = [
                m
                for m in (message.model, message.receipt_id and f"receipt {message.receipt_id}")
                if m
            ]
            if message.tool_call_id:
                meta.append(f"result of {message.tool_call_id}")
            heading = f"## {names[message.role]}"
            lines.append(f"{heading} ({', '.join(meta)})" if meta else heading)
            lines.append("")
            if message.content:
                lines.extend([message.content, ""])
            for call in message.tool_calls or []:
                lines.extend(["```json", json.dumps(call, indent=2, ensure_ascii=False), "```", ""])
            if message.partial:
                lines.extend(["> *answer interrupted; this is the part that arrived*", ""])
            if message.superseded:
                lines.extend(["> *superseded: regenerated or edited, not sent again*", ""])
            if message.error:
                lines.extend([f"> **error:** {message.error}", ""])
        return "\n".join(lines).rstrip() + "\n"

    # -- drafts ----------------------------------------------------------------

    def _draft_path(self, session_id: str | None) -> Path:
        name = "new" if session_id is None else self.path_for(session_id).stem
        return self.drafts_directory / f"{name}.txt"

    def save_draft(self, text: str, session_id: str | None = None) -> None:
        """Keep the prompt's unsent text; empty text removes the draft."""
        path = self._draft_path(session_id)
        if not text:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return
        ensure_private_dir(self.drafts_directory)
        write_atomic(path, text.encode("utf-8"))

    def load_draft(self, session_id: str | None = None) -> str:
        """The saved draft, or "" when there is none (or it is unreadable)."""
        try:
            return self._draft_path(session_id).read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return ""


def _parse(raw: bytes, path: Path) -> Session:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise SessionCorrupt(
            f"{path} is not valid JSON", hint="the file is left untouched; restore it or delete it"
        ) from None
    if isinstance(data, dict):
        version = data.get("schema")
        if isinstance(version, int) and version > SESSION_SCHEMA:
            raise SessionError(
                f"{path} was written by a newer og-chat (schema {version})",
                hint="upgrade og-chat to open it",
            )
    try:
        return Session.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise SessionCorrupt(
            f"{path} is not a session: {where}: {first['msg']}",
            hint="the file is left untouched; restore it or delete it",
        ) from None


def _summary_dict(summary: SessionSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "title": summary.title,
        "created_at": summary.created_at,
        "updated_at": summary.updated_at,
        "message_count": summary.message_count,
        "model": summary.model,
        "settlement_mode": summary.settlement_mode,
    }


def _summary_from(cached: dict[str, Any]) -> SessionSummary | None:
    """A summary from the index, or None if the entry is not well-formed."""
    try:
        summary = SessionSummary(
            id=cached["id"],
            title=cached["title"],
            created_at=cached["created_at"],
            updated_at=cached["updated_at"],
            message_count=cached["message_count"],
            model=cached["model"],
            settlement_mode=cached["settlement_mode"],
        )
    except (KeyError, TypeError):
        return None
    numbers = (summary.created_at, summary.updated_at, summary.message_count)
    if not all(type(n) in (int, float) for n in numbers):
        return None
    if not isinstance(summary.id, str) or not isinstance(summary.title, str):
        return None
    return summary
