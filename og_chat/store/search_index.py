"""The full-text index of conversations and receipts: one sqlite3 FTS5 file beside the JSON.

``search.sqlite3`` in the data directory holds every message's text (``message_fts``)
and every receipt's model, id, payment hash and answer (``receipt_fts``), with what
each row points at (session id and message index, receipt id) in plain tables. It is
a cache, never the truth: the session files and the receipt log are. Each source
carries a *stamp* (a session file's inode, size and mtime; the receipt log's inode
and size), so `og_chat.store.search` can see what changed since it was indexed and
re-read only that. A file that is not a valid index of this version is deleted and
built again; an index that fails to update only makes the next search re-read more.

This module knows rows, not stores: the session store and the receipt store hand it
plain values (`IndexedMessage`, `Receipt`), which keeps it below both of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from og_chat.sdk.errors import OGError
from og_chat.sdk.types import Receipt

from .paths import FILE_MODE, ensure_private_dir

INDEX_FILE = "search.sqlite3"
INDEX_VERSION = "1"
"""Bumped whenever the schema changes: an index of another version is rebuilt."""
RECEIPTS_SOURCE = "receipts"
SNIPPET_TOKENS = 12
DEFAULT_LIMIT = 50
"""Hits of each kind a search returns unless told otherwise (the TUI, `og-chat search`)."""
"""Words of context a snippet shows around the match."""
DEFAULT_MARKS = ("«", "»")
"""What a snippet puts around each matched word."""
RANKED_AT_MOST = 2000
"""Matches a search ranks by relevance (the most recently indexed ones, when more match)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources(key TEXT PRIMARY KEY, stamp TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages(
    rowid INTEGER PRIMARY KEY, session_id TEXT NOT NULL, idx INTEGER NOT NULL,
    role TEXT NOT NULL, model TEXT, digest BLOB NOT NULL, UNIQUE(session_id, idx));
CREATE TABLE IF NOT EXISTS receipts(
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, model TEXT NOT NULL,
    payment_hash TEXT, created_at REAL NOT NULL, digest BLOB NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(
    body, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS receipt_fts USING fts5(
    id, model, payment_hash, body, tokenize = 'unicode61 remove_diacritics 2');
"""
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")


class SearchError(OGError):
    """The search index cannot be used (no FTS5 in this sqlite3, or a bad query)."""


@dataclass(frozen=True, slots=True)
class IndexedMessage:
    """One message as the index keeps it: where it is, who wrote it, its text."""

    index: int
    role: str
    model: str | None
    text: str


@dataclass(frozen=True, slots=True)
class MessageHit:
    """A message that matched: open session `session_id` at `message_index`."""

    session_id: str
    message_index: int
    role: str
    model: str | None
    title: str
    snippet: str
    """The matched words in context, marked; raw text from a model: sanitize before painting."""


@dataclass(frozen=True, slots=True)
class ReceiptHit:
    """A receipt that matched by model, id, payment hash or answer."""

    receipt_id: str
    model: str
    payment_hash: str | None
    created_at: float
    snippet: str


def match_expression(term: str) -> str:
    """An FTS5 query for what a person typed: every word must appear; `word*` is a prefix.

    Each word is quoted, so FTS5's own syntax (AND, NEAR, column filters, quotes)
    typed by accident can never make the query invalid.
    """
    words = term.split()
    if not words:
        raise SearchError("nothing to search for", hint='give a word: og-chat search "permit2"')
    parts = []
    for word in words:
        prefix = word.endswith("*") and len(word) > 1
        core = word.rstrip("*") if prefix else word
        quoted = '"' + core.replace('"', '""') + '"'
        parts.append(quoted + "*" if prefix else quoted)
    return " ".join(parts)


def indexed_text(text: str | None) -> str:
    """What of a message or answer is searchable: its words, without inline image data."""
    return _DATA_URI.sub("[image]", text or "")


def _digest(*parts: str | None) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(b"\x00" if part is None else part.encode("utf-8", "surrogatepass") + b"\x01")
    return h.digest()


_FTS_OF = {"messages": "message_fts", "receipts": "receipt_fts"}
"""Each table of rows and the FTS5 table holding their text under the same rowid."""


def _forget(db: sqlite3.Connection, table: str, rowid: int) -> None:
    """Delete one row and its text."""
    db.execute(f"DELETE FROM {_FTS_OF[table]} WHERE rowid=?", (rowid,))
    db.execute(f"DELETE FROM {table} WHERE rowid=?", (rowid,))


def _row(db: sqlite3.Connection, table: str, row_id: str) -> tuple[int, bytes] | None:
    """The rowid and digest of one indexed row, if it is indexed."""
    found = db.execute(f"SELECT rowid, digest FROM {table} WHERE id=?", (row_id,)).fetchone()
    return None if found is None else (found[0], found[1])


def _replaced(
    db: sqlite3.Connection, table: str, old: tuple[int, bytes], digest: bytes
) -> int | None:
    """The rowid of an indexed row whose content changed (now deleted, to be written again);
    None when it is unchanged (`digest` matches)."""
    rowid, known = old
    if known == digest:
        return None
    _forget(db, table, rowid)
    return rowid


def file_stamp(st: os.stat_result, *, with_mtime: bool = True) -> str:
    """What identifies one version of a file: inode, size (and mtime)."""
    if with_mtime:
        return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    return f"{st.st_ino}:{st.st_size}"


class SearchIndex:
    """The index file of one data directory; safe to share between threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / INDEX_FILE
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None

    # -- the connection ----------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        ensure_private_dir(self.root)
        if not self.path.exists():  # created 0600 first: sqlite would use the umask
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
        db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a lost tail is re-read, never corrupt
            version = None
            with contextlib.suppress(sqlite3.OperationalError):
                row = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
                version = row[0] if row else None
            if version is None:
                has_tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if has_tables:
                    raise sqlite3.DatabaseError("not an og-chat search index")
                db.executescript(_SCHEMA)
                db.execute("INSERT INTO meta VALUES('version', ?)", (INDEX_VERSION,))
                db.commit()
            elif version != INDEX_VERSION:
                raise sqlite3.DatabaseError(f"search index version {version}")
        except BaseException:
            db.close()
            raise
        return db

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        """The open connection, opened (or rebuilt empty when unusable) on first use."""
        with self._lock:
            if self._db is None:
                try:
                    self._db = self._open()
                except sqlite3.OperationalError as exc:
                    if "fts5" in str(exc):
                        raise SearchError(
                            "this Python's sqlite3 has no FTS5",
                            hint="use a Python built with a current SQLite",
                        ) from None
                    self.discard()
                    self._db = self._open()
                except sqlite3.DatabaseError:
                    self.discard()
                    self._db = self._open()
            yield self._db

    def discard(self) -> None:
        """Close and delete the index file (it is rebuilt from the JSON files on next use)."""
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")

    def close(self) -> None:
        """Release the connection."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- sources -----------------------------------------------------------------

    def stamps(self) -> dict[str, str]:
        """Every indexed source (`s:<session id>`, `receipts`) and the stamp it was read at."""
        with self._conn() as db:
            return dict(db.execute("SELECT key, stamp FROM sources").fetchall())

    # -- sessions ----------------------------------------------------------------

    def put_session(
        self,
        session_id: str,
        title: str,
        updated_at: float,
        messages: Sequence[IndexedMessage],
        stamp: str | None,
    ) -> None:
        """Make the session's rows match `messages`; only changed messages are rewritten."""
        with self._conn() as db, db:
            db.execute(
                "INSERT INTO sessions VALUES(?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "title=excluded.title, updated_at=excluded.updated_at",
                (session_id, title, updated_at),
            )
            known = {
                idx: (rowid, digest)
                for rowid, idx, digest in db.execute(
                    "SELECT rowid, idx, digest FROM messages WHERE session_id=?", (session_id,)
                )
            }
            for message in messages:
                text = indexed_text(message.text)
                digest = _digest(message.role, message.model, text)
                old = known.pop(message.index, None)
                if old is not None and _replaced(db, "messages", old, digest) is None:
                    continue
                cur = db.execute(
                    "INSERT INTO messages(session_id, idx, role, model, digest) "
                    "VALUES(?, ?, ?, ?, ?)",
                    (session_id, message.index, message.role, message.model, digest),
                )
                db.execute(
                    "INSERT INTO message_fts(rowid, body) VALUES(?, ?)", (cur.lastrowid, text)
                )
            for rowid, _ in known.values():  # messages the session no longer has
                _forget(db, "messages", rowid)
            self._set_stamp(db, f"s:{session_id}", stamp)

    def drop_session(self, session_id: str) -> None:
        """Forget a session (its file is gone)."""
        with self._conn() as db, db:
            rows = db.execute("SELECT rowid FROM messages WHERE session_id=?", (session_id,))
            db.executemany("DELETE FROM message_fts WHERE rowid=?", rows.fetchall())
            db.execute("DELETE FROM messages WHERE session_id=?", (session_id,))
            db.execute("DELETE FROM sessions WHERE id=?", (session_id,))
            db.execute("DELETE FROM sources WHERE key=?", (f"s:{session_id}",))

    # -- receipts ----------------------------------------------------------------

    def put_receipts(self, receipts: Iterable[Receipt], *, complete_stamp: str | None) -> None:
        """Add or update receipts. With `complete_stamp`, `receipts` is the whole log at that
        stamp: receipts not among them are removed and the stamp is recorded."""
        with self._conn() as db, db:
            # The whole table only when it is the whole log; one append looks up its own id.
            known = (
                {
                    rid: (rowid, digest)
                    for rowid, rid, digest in db.execute("SELECT rowid, id, digest FROM receipts")
                }
                if complete_stamp is not None
                else None
            )
            seen: set[str] = set()
            for r in receipts:
                seen.add(r.id)
                text = indexed_text(r.output_text)
                digest = _digest(r.model, r.payment_hash, text)
                old = known.get(r.id) if known is not None else _row(db, "receipts", r.id)
                if old is not None and _replaced(db, "receipts", old, digest) is None:
                    continue
                cur = db.execute(
                    "INSERT INTO receipts(id, model, payment_hash, created_at, digest) "
                    "VALUES(?, ?, ?, ?, ?)",
                    (r.id, r.model, r.payment_hash, float(r.created_at), digest),
                )
                db.execute(
                    "INSERT INTO receipt_fts(rowid, id, model, payment_hash, body) "
                    "VALUES(?, ?, ?, ?, ?)",
                    (cur.lastrowid, r.id, r.model, r.payment_hash or "", text),
                )
            if known is not None:
                for rid, (rowid, _) in known.items():
                    if rid not in seen:
                        _forget(db, "receipts", rowid)
                self._set_stamp(db, RECEIPTS_SOURCE, complete_stamp)

    def advance_receipts(self, receipt: Receipt | None, before: str, after: str) -> None:
        """After one append moved the log from stamp `before` to `after`: index `receipt` and,
        if the index had read the log up to `before`, record that it has now read `after`."""
        if receipt is not None:
            self.put_receipts([receipt], complete_stamp=None)
        with self._conn() as db, db:
            db.execute(
                "UPDATE sources SET stamp=? WHERE key=? AND stamp=?",
                (after, RECEIPTS_SOURCE, before),
            )

    @staticmethod
    def _set_stamp(db: sqlite3.Connection, key: str, stamp: str | None) -> None:
        if stamp is None:
            db.execute("DELETE FROM sources WHERE key=?", (key,))
        else:
            db.execute(
                "INSERT INTO sources VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET "
                "stamp=excluded.stamp",
                (key, stamp),
            )

    # -- queries -----------------------------------------------------------------

    def receipt_ids(self) -> list[str] | None:
        """Every indexed receipt id, newest first; None when the log was never read in."""
        with self._conn() as db:
            if db.execute("SELECT 1 FROM sources WHERE key=?", (RECEIPTS_SOURCE,)).fetchone():
                rows = db.execute("SELECT id FROM receipts ORDER BY created_at DESC")
                return [rid for (rid,) in rows]
        return None

    def find_messages(
        self, match: str, *, limit: int, marks: tuple[str, str] = DEFAULT_MARKS
    ) -> list[MessageHit]:
        """The best `limit` messages for an FTS5 `match` expression (`match_expression`).

        Ranked by bm25 among the `RANKED_AT_MOST` most recently indexed matches: a word
        found in 50,000 messages costs the same as one found in 2,000, and recent
        messages win among the very common words.
        """
        with self._conn() as db:
            floor = db.execute(
                "SELECT rowid FROM message_fts WHERE message_fts MATCH ? "
                "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                (match, RANKED_AT_MOST - 1),
            ).fetchone()
            best = db.execute(
                "SELECT rowid FROM message_fts WHERE message_fts MATCH ? AND rowid >= ? "
                "ORDER BY rank LIMIT ?",
                (match, floor[0] if floor else 0, limit),
            ).fetchall()
            hits = []
            for (rowid,) in best:  # snippets for the hits only, not for every match
                found = db.execute(
                    "SELECT m.session_id, m.idx, m.role, m.model, s.title, "
                    f"snippet(message_fts, 0, ?, ?, '…', {SNIPPET_TOKENS}) "
                    "FROM message_fts JOIN messages AS m ON m.rowid = message_fts.rowid "
                    "LEFT JOIN sessions AS s ON s.id = m.session_id "
                    "WHERE message_fts MATCH ? AND message_fts.rowid = ?",
                    (*marks, match, rowid),
                ).fetchone()
                if found is not None:
                    sid, idx, role, model, title, snip = found
                    hits.append(MessageHit(sid, idx, role, model, title or "", snip))
        return hits

    def find_receipts(
        self, match: str, prefix: str | None, *, limit: int, marks: tuple[str, str] = DEFAULT_MARKS
    ) -> list[ReceiptHit]:
        """Receipts matching `match`, plus those whose id or payment hash starts with `prefix`."""
        sql = (
            "SELECT r.id, r.model, r.payment_hash, r.created_at, "
            f"snippet(receipt_fts, 3, ?, ?, '…', {SNIPPET_TOKENS}) "
            "FROM receipt_fts JOIN receipts AS r ON r.rowid = receipt_fts.rowid "
            "WHERE receipt_fts MATCH ? ORDER BY rank LIMIT ?"
        )
        with self._conn() as db:
            rows = db.execute(sql, (*marks, match, limit)).fetchall()
            if prefix:
                like = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                rows += db.execute(
                    "SELECT id, model, payment_hash, created_at, '' FROM receipts "
                    "WHERE lower(id) LIKE ? ESCAPE '\\' OR lower(payment_hash) LIKE ? ESCAPE '\\' "
                    "ORDER BY created_at DESC LIMIT ?",
                    (like + "%", like + "%", limit),
                ).fetchall()
        hits: dict[str, ReceiptHit] = {}
        for rid, model, payment_hash, created_at, snip in rows:
            hits.setdefault(rid, ReceiptHit(rid, model, payment_hash, created_at, snip))
        return list(hits.values())[:limit]
