"""Full-text search over every conversation and every receipt (`og-chat search`, the TUI).

The index (`search_index`) is brought up to date from the files before every search:
a session file whose stamp differs from the one the index read is read again, one
that is gone is forgotten, and the receipt log is re-read when it moved on without
the index (another process appended, or the log was repaired). So a search never
answers from an index that disagrees with the JSON files, and a missing or corrupt
index file costs one rebuild, not a wrong answer.

`Search.search` returns `MessageHit`s carrying (session id, message index), which is
what a search screen needs to open the conversation at the message.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .paths import data_dir
from .receipts import ReceiptStore
from .search_index import (
    DEFAULT_LIMIT,
    DEFAULT_MARKS,
    RECEIPTS_SOURCE,
    MessageHit,
    ReceiptHit,
    SearchIndex,
    file_stamp,
    match_expression,
)
from .sessions import SessionError, SessionStore

__all__ = ["DEFAULT_LIMIT", "MessageHit", "ReceiptHit", "Search", "SearchResults"]

"""Hits of each kind a search returns unless told otherwise."""
_ID_PREFIX = re.compile(r"^(0x)?[0-9a-fA-F]{4,}$")
"""A word that may be the start of a receipt id or a payment hash."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SearchResults:
    """What one search found: messages (best first), then receipts."""

    term: str
    messages: list[MessageHit]
    receipts: list[ReceiptHit]
    warnings: list[str] = field(default_factory=list)
    """Session files that could not be read (and so were not searched)."""


class Search:
    """Search the conversations and receipts of one data directory."""

    def __init__(self, root: Path | None = None) -> None:
        root = root if root is not None else data_dir()
        self.sessions = SessionStore(root)
        self.receipts = ReceiptStore(root)
        self.index: SearchIndex = self.sessions.search_index
        self.warnings: list[str] = []

    def close(self) -> None:
        """Release the index and the receipt log."""
        self.index.close()
        self.receipts.close()

    def sync(self, on_progress: Progress | None = None) -> int:
        """Re-read whatever changed since it was indexed; returns how many sources were read."""
        say = on_progress or (lambda _msg: None)
        self.warnings = []
        known = self.index.stamps()
        read = 0
        seen: set[str] = set()
        try:
            entries = list(os.scandir(self.sessions.directory))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            name = entry.name
            if not name.endswith(".json") or name.startswith("."):
                continue
            session_id = name[: -len(".json")]
            key = f"s:{session_id}"
            try:
                stamp = file_stamp(entry.stat())
            except OSError:
                continue
            seen.add(key)
            if known.get(key) == stamp:
                continue
            try:
                session = self.sessions.load(session_id)
            except SessionError as exc:
                self.warnings.append(f"{name}: {str(exc).splitlines()[0]}")
                self.index.drop_session(session_id)
                continue
            self.sessions.index(session, stamp)
            read += 1
            if read % 500 == 0:
                say(f"indexing conversations… {read}")
        for key in known:
            if key.startswith("s:") and key not in seen:
                self.index.drop_session(key[2:])
        try:
            stamp = file_stamp(os.stat(self.receipts.path), with_mtime=False)
        except FileNotFoundError:
            stamp = "none"
        if known.get(RECEIPTS_SOURCE) != stamp:
            say("indexing receipts…")
            self.index.put_receipts(self.receipts.load(), complete_stamp=stamp)
            read += 1
        return read

    def reindex(self, on_progress: Progress | None = None) -> int:
        """Throw the index away and build it again from the files."""
        self.index.discard()
        return self.sync(on_progress)

    def search(
        self,
        term: str,
        *,
        limit: int = DEFAULT_LIMIT,
        marks: tuple[str, str] = DEFAULT_MARKS,
        on_progress: Progress | None = None,
    ) -> SearchResults:
        """Messages and receipts matching every word of `term` (`word*` matches a prefix).

        A receipt also matches when `term` is the start of its id or payment hash.
        """
        match = match_expression(term)
        words = term.split()
        prefix = words[0] if len(words) == 1 and _ID_PREFIX.match(words[0]) else None
        for attempt in (1, 2):
            try:
                self.sync(on_progress)
                messages = self.index.find_messages(match, limit=limit, marks=marks)
                receipts = self.index.find_receipts(match, prefix, limit=limit, marks=marks)
                break
            except sqlite3.DatabaseError:
                if attempt == 2:
                    raise
                self.index.discard()  # damaged: rebuilt from the files, then asked again
        return SearchResults(term, messages, receipts, list(self.warnings))
