"""The receipt log: one append-only JSONL file that never loses an acknowledged receipt.

Every paid call leaves a receipt; later facts about it (settled, proof attached) are
appended as events for the same id, never by rewriting. The line format and the fold
of lines into receipts are in `receipt_records`; the snapshot that makes a cold start
fast in `receipt_snapshot`; export and import files in `receipt_files`. This module
is the store: appending, loading, repairing, looking up.

Durability and concurrency:

- An append is one ``os.write`` of a whole line on an ``O_APPEND`` descriptor followed
  by ``fdatasync``; `ReceiptStore.append` returns only after that, so a returned
  append survives a crash.
- A paid call's receipt is written *ahead* of its signature (`write_ahead`, the sdk's
  `ReceiptSink`): the line is written before signing and its fdatasync runs in a
  background thread while the client signs; the client sends nothing until that
  sync returned. The final receipt (`complete`) is then an event carrying every
  field, for the same id: written before `complete` returns (a crash of the process
  keeps it), fdatasync'd in the same thread afterwards, off the call's path.
- Appenders hold an exclusive ``flock`` on ``receipts.jsonl.lock`` while they write,
  so lines from several processes never interleave, and the repair below never
  races an append.
- A crash can leave a torn last line. Loading skips it and reports it; the next
  append first moves the fragment to ``receipts.jsonl.torn-<UTC time>`` and cuts it
  off, so a new line is never glued onto it.
- Unreadable lines anywhere else mean the file was damaged. Loading then keeps the
  whole original as ``receipts.jsonl.corrupt-<UTC time>`` (never deleted), writes
  the good lines into a fresh ``receipts.jsonl`` and returns a visible warning.

Loading reads the snapshot, then runs plain ``json.loads`` on the lines after it;
loads are incremental, so a store that is asked again only parses what was appended.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from og_chat.sdk.errors import OGError, ReceiptStoreUnavailable
from og_chat.sdk.sink import Durable
from og_chat.sdk.types import Receipt

from .atomic import fsync_dir, write_atomic
from .paths import FILE_MODE, RECEIPTS_FILE, data_dir, ensure_private_dir
from .query import ReceiptQuery
from .receipt_files import export_csv, export_json
from .receipt_records import (
    EVENT_FIELDS,
    RECORD_VERSION,
    BadLine,
    Fold,
    ReceiptWarning,
    encode_record,
    gc_paused,
)
from .receipt_snapshot import SNAPSHOT_AFTER_LINES, Snapshot
from .search_index import SearchError, SearchIndex, file_stamp

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: O_APPEND alone keeps lines whole
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "RECORD_VERSION",
    "ReceiptError",
    "ReceiptNotFound",
    "ReceiptStore",
    "ReceiptWarning",
    "ReceiptWriteError",
    "export_csv",
    "export_json",
]

_sync = getattr(os, "fdatasync", os.fsync)
"""fdatasync is enough for an append: it flushes the data and the new file size."""


class ReceiptError(OGError):
    """A receipt could not be found, written or read."""


class ReceiptNotFound(ReceiptError, LookupError):
    """No receipt has this id (or id prefix)."""


class ReceiptWriteError(ReceiptError, ReceiptStoreUnavailable):
    """The receipt log could not be written (read-only, disk full, file too large)."""

    def __init__(self, path: Path, reason: str) -> None:
        ReceiptStoreUnavailable.__init__(self, str(path), reason)


SYNC_HANDOFF_SECONDS = 0.01
"""Longest wait for the sync thread to start (it takes microseconds unless the machine is busy)."""
_FINAL_FIELDS = tuple(sorted(EVENT_FIELDS))
"""What `complete` records about a receipt written ahead: every field an event may set."""


def _receipt_line(receipt: Receipt) -> bytes:
    # The fields are plain JSON values: the instance dict serves (`to_dict` deep-copies).
    return encode_record({"type": "receipt", "v": RECORD_VERSION, "receipt": receipt.__dict__})


def _event_line(receipt_id: str, fields: dict[str, Any]) -> bytes:
    record = {"type": "event", "v": RECORD_VERSION, "id": receipt_id, "at": time.time()}
    return encode_record({**record, "fields": fields})


def _sync_copy(fd: int) -> None:
    """fdatasync a duplicated descriptor, then close it."""
    try:
        _sync(fd)
    finally:
        os.close(fd)


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _side_path(path: Path, kind: str) -> Path:
    """A not-yet-existing ``<path>.<kind>-<UTC time>`` to move data aside to."""
    stamp = _utc_stamp()
    candidate = path.with_name(f"{path.name}.{kind}-{stamp}")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{kind}-{stamp}-{n}")
        n += 1
    return candidate


class ReceiptStore:
    """The receipt log of one data directory.

    One instance can be shared by the UI and the SDK callback; it caches what it has
    parsed and only reads appended bytes on the next `load`.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else data_dir()
        self.path = self.directory / RECEIPTS_FILE
        self.lock_path = self.directory / f"{RECEIPTS_FILE}.lock"
        self.snapshot_path = self.directory / f"{RECEIPTS_FILE}.snapshot"
        self.warnings: list[ReceiptWarning] = []
        """What the last `load` noticed: torn lines, quarantined files, skipped records."""
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._fd_ino: int | None = None
        self._lock_fd: int | None = None
        # incremental load state: (inode, bytes consumed, next line number, fold)
        self._cache: tuple[int, int, int, Fold] | None = None
        self._ahead: dict[str, str] = {}
        """Ids written ahead by this store (their final receipt is an event), each with the
        log's stamp before its pending line: the completion tells the search index both."""
        self._syncer: ThreadPoolExecutor | None = None
        self._late_failures: list[OSError] = []
        """fdatasyncs of completions that failed in the sync thread (raised by the next write)."""
        self.search_index = SearchIndex(self.directory)
        """The full-text index each append updates (`og_chat.store.search` reads it)."""

    # -- writing ---------------------------------------------------------------

    def append(self, receipt: Receipt) -> None:
        """Add a receipt; when this returns the line is on disk (fdatasync'd)."""
        moved = self._write(_receipt_line(receipt))
        self._index(receipt, moved)

    def _index(self, receipt: Receipt | None, moved: tuple[str, str]) -> None:
        """Tell the search index what this append added (it re-reads the log if this fails)."""
        with contextlib.suppress(OSError, sqlite3.Error, SearchError):
            self.search_index.advance_receipts(receipt, *moved)

    def write_ahead(self, receipt: Receipt) -> Durable:
        """Append a pending receipt before its payment is signed (the sdk's `ReceiptSink`).

        The line is written now (a read-only or full disk raises `ReceiptWriteError`
        here, and the client signs nothing); its fdatasync runs in a thread while the client signs, and the returned `Durable` waits for the
        fdatasync (raising the same error if it failed). The search index hears of it only at
        `complete`: a pending receipt has no answer to find yet.
        """
        self._raise_late_failure()
        moved, fd = self._write_unsynced(_receipt_line(receipt))
        self._ahead[receipt.id] = moved[0]
        started, synced = threading.Event(), threading.Event()
        failed: list[OSError] = []

        def sync() -> None:
            started.set()
            try:
                _sync_copy(fd)  # fdatasync lets go of the GIL: the client signs meanwhile
            except OSError as exc:
                failed.append(exc)
            finally:
                synced.set()

        self._in_background(sync)
        # Hand the GIL over until the thread is inside fdatasync: otherwise it would wait
        # for the signing (pure Python, holding the GIL) to finish before even starting.
        started.wait(SYNC_HANDOFF_SECONDS)

        def durable() -> None:
            synced.wait()
            if failed:
                raise ReceiptWriteError(self.path, failed[0].strerror or str(failed[0]))

        return durable

    def complete(self, receipt: Receipt) -> None:
        """The final receipt of a call (`ReceiptSink`): an event for one written ahead, else
        a receipt line (durable when this returns).

        For a receipt written ahead, the event line is in the file when this returns (a
        crash of this process loses nothing), and its fdatasync and search-index entry run
        in the sync thread, off the call's path: the pending line, already on disk, is the
        record that the payment was made. Only a power loss within that fdatasync can lose
        the answer's fields, never the payment. A failed fdatasync is raised by the next
        `write_ahead` (so nothing more is signed) and by `close`.
        """
        before = self._ahead.pop(receipt.id, None)
        if before is None:
            self.append(receipt)
            return
        values = receipt.__dict__
        line = _event_line(receipt.id, {k: values[k] for k in _FINAL_FIELDS})
        (_, after), fd = self._write_unsynced(line)
        moved = before, after  # both lines at once (another append between: the index re-reads)

        def sync() -> None:
            try:
                _sync_copy(fd)
            except OSError as exc:
                self._late_failures.append(exc)
                return
            self._index(receipt, moved)

        self._in_background(sync)

    def _in_background(self, work: Callable[[], None]) -> None:
        """Run `work` in the one sync thread: syncs and index entries keep the log's order."""
        if self._syncer is None:
            self._syncer = ThreadPoolExecutor(1, thread_name_prefix="og-receipt-sync")
        self._syncer.submit(work)

    def _raise_late_failure(self) -> None:
        if self._late_failures:
            exc = self._late_failures.pop(0)
            raise ReceiptWriteError(self.path, exc.strerror or str(exc))

    def append_event(self, receipt_id: str, **fields: Any) -> None:
        """Record later facts about a receipt (e.g. ``payment_status="settled"``).

        Only Receipt fields other than ``id`` and ``schema`` may be given; loading
        applies events in order, so the last one wins.
        """
        unknown = sorted(set(fields) - EVENT_FIELDS)
        if unknown:
            raise ReceiptError(
                f"cannot record {', '.join(unknown)} on receipt {receipt_id}",
                hint=f"events may set: {', '.join(sorted(EVENT_FIELDS))}",
            )
        if not fields:
            return
        moved = self._write(_event_line(receipt_id, fields))
        searchable = {k: fields[k] for k in ("model", "payment_hash", "output_text") if k in fields}
        if not searchable:
            self._index(None, moved)
            return
        cached = self._cache[3].by_id.get(receipt_id) if self._cache is not None else None
        if cached is not None:  # else the index sees the log moved on and re-reads it
            self._index(dataclasses.replace(cached, **searchable), moved)

    def close(self) -> None:
        """Release the file descriptors (the store reopens them when needed)."""
        if self._syncer is not None:
            self._syncer.shutdown(wait=True)
            self._syncer = None
        with self._thread_lock:
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    os.close(fd)
            self._fd = self._fd_ino = self._lock_fd = None
        self.search_index.close()
        self._raise_late_failure()  # a completion that never reached the disk is said

    def __enter__(self) -> ReceiptStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, line: bytes) -> tuple[str, str]:
        """Append one line and fdatasync it: the log's stamps before and after (for the
        search index)."""
        moved, fd = self._write_unsynced(line)
        try:
            _sync_copy(fd)
        except OSError as exc:
            raise ReceiptWriteError(self.path, exc.strerror or str(exc)) from None
        return moved

    def _write_unsynced(self, line: bytes) -> tuple[tuple[str, str], int]:
        """Append one line under the writers' lock: the log's stamps before and after, and a
        duplicate of the descriptor for the caller to fdatasync and close (`_sync_copy`)."""
        try:
            with self._thread_lock, self._locked(exclusive=True):
                fd = self._append_fd()
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    self._set_aside_torn_tail(fd, size)
                view = memoryview(line)
                while view:  # a short write is only possible on a fatal signal or full disk
                    view = view[os.write(fd, view) :]
                st = os.fstat(fd)
                return (f"{st.st_ino}:{size}", file_stamp(st, with_mtime=False)), os.dup(fd)
        except OSError as exc:
            raise ReceiptWriteError(self.path, exc.strerror or str(exc)) from None

    def _append_fd(self) -> int:
        """The append descriptor, reopened if a repair replaced the file."""
        try:
            current = os.stat(self.path).st_ino
        except FileNotFoundError:
            current = None
        if self._fd is not None and current == self._fd_ino:
            return self._fd
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        ensure_private_dir(self.directory)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE)
        if current is None:
            os.fchmod(fd, FILE_MODE)
            os.fsync(fd)
            fsync_dir(self.directory)  # make the new file's name durable
        self._fd, self._fd_ino = fd, os.fstat(fd).st_ino
        return fd

    def _set_aside_torn_tail(self, fd: int, size: int) -> None:
        """Move an incomplete last line (a crashed writer's) aside, then cut it off."""
        fragment = b""
        cut = 0
        pos = size
        while pos > 0:  # read backwards: the log may be large, the fragment is short
            step = min(pos, 1 << 16)
            pos -= step
            chunk = os.pread(fd, step, pos)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                cut = pos + newline + 1
                fragment = chunk[newline + 1 :] + fragment
                break
            fragment = chunk + fragment
        write_atomic(_side_path(self.path, "torn"), fragment)
        os.ftruncate(fd, cut)
        os.fsync(fd)

    @contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        if self._lock_fd is None:
            ensure_private_dir(self.directory)
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    # -- reading ---------------------------------------------------------------

    def load(self) -> list[Receipt]:
        """All receipts in append order, with their events folded in.

        Never raises for damaged content: problems land in `warnings`. A damaged
        file is quarantined and repaired as described in the module docstring.
        """
        with self._thread_lock:
            fold, torn = self._read()
            if fold is None:  # damaged: repair under the writers' lock, then read again
                with self._locked(exclusive=True):
                    fold, torn = self._read()
                    repair_warning = self._repair() if fold is None else None
                    if repair_warning is not None:
                        fold, torn = self._read(allow_damage=True)
                assert fold is not None
                warnings = list(fold.warnings)
                if repair_warning is not None:
                    warnings.insert(0, repair_warning)
            else:
                warnings = list(fold.warnings)
            if torn is not None:
                warnings.append(torn)
            self.warnings = warnings
            fold.handed_out = True
            return list(fold.receipts)

    def _read(self, *, allow_damage: bool = False) -> tuple[Fold | None, ReceiptWarning | None]:
        """Parse new bytes into the cached fold; ``None`` means the file is damaged."""
        try:
            with open(self.path, "rb") as f:
                stat = os.fstat(f.fileno())
                cache = self._cache
                if cache is not None and cache[0] == stat.st_ino and cache[1] <= stat.st_size:
                    ino, offset, line_no, fold = cache
                else:
                    ino, offset, line_no, fold = stat.st_ino, 0, 1, Fold()
                    snap = Snapshot.read(self.snapshot_path, f.fileno(), stat)
                    if snap is not None:
                        offset, line_no, fold = snap
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            self._cache = None
            return Fold(), None
        except OSError as exc:
            fold = Fold()
            fold.warnings.append(
                ReceiptWarning("repair_failed", f"cannot read {self.path}: {exc.strerror}")
            )
            return fold, None
        end = data.rfind(b"\n") + 1
        complete, tail = data[:end], data[end:]
        lines = complete.split(b"\n")
        lines.pop()  # the empty string after the final newline
        damaged: list[int] = []
        with gc_paused():  # the collector would rescan every new dict many times over
            for n, raw in enumerate(lines, line_no):
                try:
                    fold.add_line(raw, n)
                except BadLine:
                    damaged.append(n)
        if damaged and not allow_damage:
            self._cache = None  # partially folded; start clean after the repair
            return None, None
        for n in damaged:
            fold.warnings.append(ReceiptWarning("skipped", "unreadable line left in place", n))
        offset += end
        line_no += len(lines)
        self._cache = (ino, offset, line_no, fold)
        due = max(SNAPSHOT_AFTER_LINES, len(fold.receipts) // 20)
        if not fold.handed_out and not damaged and len(lines) >= due:
            with contextlib.suppress(OSError), open(self.path, "rb") as f:
                if os.fstat(f.fileno()).st_ino == ino:
                    Snapshot.write(self.snapshot_path, f.fileno(), ino, offset, line_no, fold)
        torn = None
        if tail:
            torn = ReceiptWarning(
                "torn",
                f"incomplete last line ({len(tail)} bytes) skipped: an append was interrupted",
                line_no,
            )
        return fold, torn

    def _repair(self) -> ReceiptWarning:
        """Keep the damaged file whole as a quarantine copy; rewrite the good lines.

        Called with the exclusive lock held, so no append can land in between. The
        live file is replaced in one atomic rename after its copy exists, so at no
        moment is any receipt only in memory.
        """
        quarantine = _side_path(self.path, "corrupt")
        try:
            data = self.path.read_bytes()
            good: list[bytes] = []
            bad = 0
            probe = Fold()
            lines = data.split(b"\n")
            tail = lines.pop()  # a torn fragment (or b"") stays only in the quarantine copy
            for n, raw in enumerate(lines, 1):
                try:
                    probe.add_line(raw, n)
                except BadLine:
                    bad += 1
                    continue
                if raw.strip():
                    good.append(raw + b"\n")
            try:
                os.link(self.path, quarantine)  # the original bytes, untouched
            except OSError:
                write_atomic(quarantine, data)
            fsync_dir(self.directory)
            write_atomic(self.path, b"".join(good))
        except OSError as exc:
            return ReceiptWarning(
                "repair_failed",
                f"{self.path} has damaged lines and could not be repaired ({exc.strerror}); "
                "they were skipped",
            )
        finally:
            self._cache = None
        torn_note = f" and a {len(tail)}-byte incomplete last line" if tail else ""
        return ReceiptWarning(
            "quarantined",
            f"{bad} damaged line(s){torn_note} in {self.path.name}: the original file is kept as "
            f"{quarantine.name} and the {len(good)} good line(s) were kept",
            path=quarantine,
        )

    # -- queries ---------------------------------------------------------------

    def get(self, receipt_id: str) -> Receipt:
        """The receipt with this id or unique id prefix."""
        receipts = self.load()
        wanted = receipt_id.strip()
        for receipt in receipts:
            if receipt.id == wanted:
                return receipt
        matches = [r for r in receipts if wanted and r.id.startswith(wanted)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise ReceiptNotFound(
                f"receipt prefix {wanted!r} matches {len(matches)} receipts",
                hint="give more characters of the id",
            )
        raise ReceiptNotFound(
            f"no receipt {wanted!r} in {self.path}", hint="list them with `og-chat receipts`"
        )

    def filter(self, query: ReceiptQuery) -> list[Receipt]:
        """The receipts `query` matches, in append order (see `store.query.ReceiptQuery`)."""
        return query.apply(self.load())
