"""The receipt log: one append-only JSONL file that never loses an acknowledged receipt.

Every paid call leaves a receipt; later facts about it (settled, proof attached) are
appended as events for the same id, never by rewriting. The file holds one record
per line:

    {"type":"receipt","v":1,"receipt":{...Receipt.to_dict()...}}
    {"type":"event","v":1,"id":"<id>","at":<unix time>,"fields":{"payment_status":"settled"}}

Durability and concurrency:

- An append is one ``os.write`` of a whole line on an ``O_APPEND`` descriptor followed
  by ``fdatasync``; `ReceiptStore.append` returns only after that, so a returned
  append survives a crash.
- Appenders hold an exclusive ``flock`` on ``receipts.jsonl.lock`` while they write,
  so lines from several processes never interleave, and the repair below never
  races an append.
- A crash can leave a torn last line. Loading skips it and reports it; the next
  append first moves the fragment to ``receipts.jsonl.torn-<UTC time>`` and cuts it
  off, so a new line is never glued onto it.
- Unreadable lines anywhere else mean the file was damaged. Loading then keeps the
  whole original as ``receipts.jsonl.corrupt-<UTC time>`` (never deleted), writes
  the good lines into a fresh ``receipts.jsonl`` and returns a visible warning.

Loading is plain ``json.loads`` per line and builds `Receipt` objects without
running ``__init__`` (100,000 receipts load in well under half a second); loads
are incremental, so a store that is asked again only parses what was appended.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import gc
import io
import json
import marshal
import os
import sys
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from og_chat.sdk.errors import OGError
from og_chat.sdk.types import Receipt

from .atomic import fsync_dir, write_atomic
from .paths import FILE_MODE, RECEIPTS_FILE, data_dir, ensure_private_dir
from .query import ReceiptQuery

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: O_APPEND alone keeps lines whole
    fcntl = None  # type: ignore[assignment]

RECORD_VERSION = 1
"""Version of the line envelope (``v``); a reader skips lines from a newer version."""

_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Receipt))
_FIELD_SET = frozenset(_FIELDS)
_FIELD_NAMES = {name: sys.intern(name) for name in _FIELDS}
_REPEATING = (
    "model",
    "provider",
    "network",
    "endpoint",
    "settlement_mode",
    "conversation_id",
    "signature_status",
    "scheme",
    "asset",
    "pay_to",
    "payer",
    "upto_session",
    "payment_status",
    "finish_reason",
    "price_opg",
    "charged_opg",
    "authorization_cap",
    "signature_detail",
    "error",
)
"""Fields whose values recur across receipts (shared in the snapshot)."""
_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(Receipt) if f.default is not dataclasses.MISSING
}
_REQUIRED = frozenset(_FIELD_SET - _DEFAULTS.keys())
_EVENT_FIELDS = frozenset(_FIELD_SET - {"id", "schema", "created_at"})
"""Fields an event may change: everything but the identity and the time of the call."""
_TEXT_FIELDS = frozenset(
    {"model", "provider", "network", "endpoint", "settlement_mode", "payment_status"}
    | {"signature_status"}
)
"""Fields queries compare as text; a record with anything else there is damaged."""

_sync = getattr(os, "fdatasync", os.fsync)
"""fdatasync is enough for an append: it flushes the data and the new file size."""


class ReceiptError(OGError):
    """A receipt could not be found, written or read."""


class ReceiptNotFound(ReceiptError, LookupError):
    """No receipt has this id (or id prefix)."""


@dataclass(frozen=True, slots=True)
class ReceiptWarning:
    """Something loading noticed and worked around; shown to the user, never fatal."""

    kind: str
    """``torn`` (incomplete last line), ``quarantined`` (damaged file moved aside),
    ``skipped`` (line from a newer version), ``duplicate``, ``orphan_event``, ``repair_failed``."""
    message: str
    line: int | None = None
    path: Path | None = None
    """The quarantine file, for ``quarantined``."""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}"


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


def _encode(record: dict[str, Any]) -> bytes:
    return (
        json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
    ).encode("utf-8")


def _make_receipt(data: dict[str, Any]) -> Receipt:
    """Build a Receipt from a validated dict without the cost of ``__init__``."""
    receipt: Receipt = object.__new__(Receipt)
    if len(data) == len(_FIELDS) and data.keys() <= _FIELD_SET:
        receipt.__dict__ = data  # the usual case: written by this version
    else:
        values = dict(_DEFAULTS)
        values.update((k, v) for k, v in data.items() if k in _FIELD_SET)
        receipt.__dict__ = values
    return receipt


class _Bad(Exception):
    """A line that is not a record at all: the file is damaged."""


class _Fold:
    """Receipts folded from records, in append order, with what was noticed on the way."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.by_id: dict[str, Receipt] = {}
        self.warnings: list[ReceiptWarning] = []
        self.handed_out = False
        """Whether callers hold these Receipt objects (then they are not snapshotted)."""

    def add_line(self, raw: bytes, line: int) -> None:
        """Fold one complete line in; raises `_Bad` if it is not a record."""
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            if raw.strip():
                raise _Bad from None
            return  # blank lines carry nothing
        if type(record) is not dict:
            raise _Bad
        kind = record.get("type")
        version = record.get("v")
        if type(kind) is not str or type(version) is not int:
            raise _Bad
        if version > RECORD_VERSION or kind not in ("receipt", "event"):
            self.warnings.append(
                ReceiptWarning(
                    "skipped", f"{kind!r} record of version {version} is from a newer og-chat", line
                )
            )
            return
        if version < 1:
            raise _Bad
        if kind == "receipt":
            self._add_receipt(record.get("receipt"), line)
        else:
            self._add_event(record, line)

    def _add_receipt(self, data: object, line: int) -> None:
        if type(data) is not dict:
            raise _Bad
        rid = data.get("id")
        created = data.get("created_at")
        if (
            type(rid) is not str
            or not rid
            or type(created) not in (int, float)
            or not data.keys() >= _REQUIRED
            or any(type(data.get(k, "")) is not str for k in _TEXT_FIELDS)
        ):
            raise _Bad
        if rid in self.by_id:
            self.warnings.append(
                ReceiptWarning("duplicate", f"receipt {rid} appears again; kept the first", line)
            )
            return
        receipt = _make_receipt(data)
        self.receipts.append(receipt)
        self.by_id[rid] = receipt

    def _add_event(self, record: dict[str, Any], line: int) -> None:
        rid = record.get("id")
        fields = record.get("fields")
        if type(rid) is not str or type(fields) is not dict:
            raise _Bad
        receipt = self.by_id.get(rid)
        if receipt is None:
            self.warnings.append(
                ReceiptWarning("orphan_event", f"event for unknown receipt {rid}", line)
            )
            return
        values = receipt.__dict__
        for key, value in fields.items():
            if key in _EVENT_FIELDS and (key not in _TEXT_FIELDS or type(value) is str):
                values[key] = value


SNAPSHOT_AFTER_LINES = 1000
"""Rewrite the snapshot when a cold load parsed at least this many lines (and 5% of
the receipts): parsing a few thousand lines costs less than rewriting a big snapshot."""
_SNAPSHOT_MAGIC = b"og-chat receipts snapshot\n"
_SNAPSHOT_KEY = (tuple(sys.version_info[:2]), marshal.version, RECORD_VERSION, _FIELDS)
_SAMPLES = 64
_SAMPLE_SIZE = 4096


def _fingerprint(fd: int, offset: int) -> int:
    """CRC of 64 blocks spread over the first ``offset`` bytes, and of the bytes just before it.

    Reading 256 KB instead of the whole log keeps a cold start fast; any edit that
    changes the length of a line shifts every later block and is caught. What it can
    miss is a same-length rewrite inside an unsampled stretch of an old line, which
    an append-only log does not do.
    """
    crc = 0
    for k in range(_SAMPLES):
        crc = zlib.crc32(os.pread(fd, _SAMPLE_SIZE, offset * k // _SAMPLES), crc)
    start = max(0, offset - _SAMPLE_SIZE)
    return zlib.crc32(os.pread(fd, offset - start, start), crc)


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Snapshot:
    """A derived, disposable copy of the folded receipts, so a cold start skips JSON.

    ``json.loads`` of 100,000 full receipts takes over a second on a small machine;
    ``marshal`` reads the same data in a quarter of that. The JSONL file stays the
    only truth: the snapshot records which prefix of it (inode, byte offset and a
    sampled fingerprint, see `_fingerprint`) it covers and a CRC of itself, and is
    ignored unless all of that matches. Only lines after the offset are parsed as JSON.
    Deleting it is always safe.
    """

    @staticmethod
    def read(path: Path, fd: int, stat: os.stat_result) -> tuple[int, int, _Fold] | None:
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        head = len(_SNAPSHOT_MAGIC)
        if not blob.startswith(_SNAPSHOT_MAGIC) or len(blob) < head + 8:
            return None
        if zlib.crc32(memoryview(blob)[head + 4 :]) != int.from_bytes(blob[head : head + 4], "big"):
            return None
        meta_len = int.from_bytes(blob[head + 4 : head + 8], "big")
        body = head + 8 + meta_len
        try:
            with _gc_paused():
                key, ino, offset, line_no, fingerprint = marshal.loads(blob[head + 8 : body])
                if key != _SNAPSHOT_KEY or ino != stat.st_ino or not 0 < offset <= stat.st_size:
                    return None
                if _fingerprint(fd, offset) != fingerprint:
                    return None
                dicts, warnings = marshal.loads(memoryview(blob)[body:])  # no 100 MB copy
                fold = _Fold()
                receipts = fold.receipts
                for values in dicts:
                    receipt: Receipt = object.__new__(Receipt)
                    receipt.__dict__ = values
                    receipts.append(receipt)
                fold.by_id = {r.id: r for r in receipts}
                fold.warnings = [ReceiptWarning(k, m, n) for k, m, n in warnings]
        except (ValueError, TypeError, EOFError, OSError):
            return None
        return offset, line_no, fold

    @staticmethod
    def write(path: Path, fd: int, ino: int, offset: int, line_no: int, fold: _Fold) -> None:
        try:
            fingerprint = _fingerprint(fd, offset)
        except OSError:
            return
        meta = marshal.dumps((_SNAPSHOT_KEY, ino, offset, line_no, fingerprint))
        # marshal writes an object seen before as a back-reference, so share the keys
        # and the values that repeat from call to call: the snapshot is half the size
        # and loads twice as fast.
        names = _FIELD_NAMES
        shared: dict[str, str] = {}
        share = shared.setdefault
        dicts: list[dict[str, Any]] = []
        with _gc_paused():
            for receipt in fold.receipts:
                values = {names[k]: v for k, v in receipt.__dict__.items()}
                for name in _REPEATING:
                    value = values[name]
                    if type(value) is str:
                        values[name] = share(value, value)
                dicts.append(values)
        payload = marshal.dumps((dicts, [(w.kind, w.message, w.line) for w in fold.warnings]))
        rest = len(meta).to_bytes(4, "big") + meta + payload
        blob = _SNAPSHOT_MAGIC + zlib.crc32(rest).to_bytes(4, "big") + rest
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            try:
                os.write(fd, blob)
            finally:
                os.close(fd)
            os.replace(tmp, path)  # no fsync: a torn snapshot fails its CRC and is rebuilt
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                os.unlink(tmp)


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
        self._cache: tuple[int, int, int, _Fold] | None = None

    # -- writing ---------------------------------------------------------------

    def append(self, receipt: Receipt) -> None:
        """Add a receipt; when this returns the line is on disk (fdatasync'd)."""
        self._write(_encode({"type": "receipt", "v": RECORD_VERSION, "receipt": receipt.to_dict()}))

    def append_event(self, receipt_id: str, **fields: Any) -> None:
        """Record later facts about a receipt (e.g. ``payment_status="settled"``).

        Only Receipt fields other than ``id`` and ``schema`` may be given; loading
        applies events in order, so the last one wins.
        """
        unknown = sorted(set(fields) - _EVENT_FIELDS)
        if unknown:
            raise ReceiptError(
                f"cannot record {', '.join(unknown)} on receipt {receipt_id}",
                hint=f"events may set: {', '.join(sorted(_EVENT_FIELDS))}",
            )
        if not fields:
            return
        record = {
            "type": "event",
            "v": RECORD_VERSION,
            "id": receipt_id,
            "at": time.time(),
            "fields": fields,
        }
        self._write(_encode(record))

    def close(self) -> None:
        """Release the file descriptors (the store reopens them when needed)."""
        with self._thread_lock:
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    os.close(fd)
            self._fd = self._fd_ino = self._lock_fd = None

    def __enter__(self) -> ReceiptStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, line: bytes) -> None:
        try:
            with self._thread_lock, self._locked(exclusive=True):
                fd = self._append_fd()
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    self._set_aside_torn_tail(fd, size)
                view = memoryview(line)
                while view:  # a short write is only possible on a fatal signal or full disk
                    view = view[os.write(fd, view) :]
                _sync(fd)
        except OSError as exc:
            raise ReceiptError(
                f"could not write to {self.path}: {exc.strerror or exc}",
                hint="check free disk space and the permissions of the data directory",
            ) from None

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

    def _read(self, *, allow_damage: bool = False) -> tuple[_Fold | None, ReceiptWarning | None]:
        """Parse new bytes into the cached fold; ``None`` means the file is damaged."""
        try:
            with open(self.path, "rb") as f:
                stat = os.fstat(f.fileno())
                cache = self._cache
                if cache is not None and cache[0] == stat.st_ino and cache[1] <= stat.st_size:
                    ino, offset, line_no, fold = cache
                else:
                    ino, offset, line_no, fold = stat.st_ino, 0, 1, _Fold()
                    snap = _Snapshot.read(self.snapshot_path, f.fileno(), stat)
                    if snap is not None:
                        offset, line_no, fold = snap
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            self._cache = None
            return _Fold(), None
        except OSError as exc:
            fold = _Fold()
            fold.warnings.append(
                ReceiptWarning("repair_failed", f"cannot read {self.path}: {exc.strerror}")
            )
            return fold, None
        end = data.rfind(b"\n") + 1
        complete, tail = data[:end], data[end:]
        lines = complete.split(b"\n")
        lines.pop()  # the empty string after the final newline
        damaged: list[int] = []
        with _gc_paused():  # the collector would rescan every new dict many times over
            for n, raw in enumerate(lines, line_no):
                try:
                    fold.add_line(raw, n)
                except _Bad:
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
                    _Snapshot.write(self.snapshot_path, f.fileno(), ino, offset, line_no, fold)
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
            probe = _Fold()
            lines = data.split(b"\n")
            tail = lines.pop()  # a torn fragment (or b"") stays only in the quarantine copy
            for n, raw in enumerate(lines, 1):
                try:
                    probe.add_line(raw, n)
                except _Bad:
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


def export_json(receipts: Iterable[Receipt]) -> str:
    """Receipts as a pretty JSON array, for sharing or archiving."""
    return json.dumps([r.to_dict() for r in receipts], indent=2, ensure_ascii=False, default=str)


def export_csv(receipts: Iterable[Receipt]) -> str:
    """Receipts as CSV, one column per Receipt field; lists are JSON-encoded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_FIELDS)
    for r in receipts:
        row = []
        for name in _FIELDS:
            value = getattr(r, name, None)
            if value is None:
                row.append("")
            elif isinstance(value, list | dict):
                row.append(json.dumps(value, default=str))
            else:
                row.append(str(value))
        writer.writerow(row)
    return buffer.getvalue()
