"""The receipt log's snapshot: the folded receipts in ``marshal`` form, for a fast cold start.

It is derived and disposable (`Snapshot` explains when it is trusted); the JSONL
log stays the only truth.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import zlib
from pathlib import Path
from typing import Any

from og_chat.sdk.types import Receipt

from .paths import FILE_MODE
from .receipt_records import (
    FIELD_NAMES,
    FIELDS,
    RECORD_VERSION,
    REPEATING,
    Fold,
    ReceiptWarning,
    gc_paused,
)

SNAPSHOT_AFTER_LINES = 1000
"""Rewrite the snapshot when a cold load parsed at least this many lines (and 5% of
the receipts): parsing a few thousand lines costs less than rewriting a big snapshot."""
_SNAPSHOT_MAGIC = b"og-chat receipts snapshot\n"
_SNAPSHOT_KEY = (tuple(sys.version_info[:2]), marshal.version, RECORD_VERSION, FIELDS)
_SAMPLES = 64
_SAMPLE_SIZE = 4096


def log_fingerprint(fd: int, offset: int) -> int:
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


class Snapshot:
    """A derived, disposable copy of the folded receipts, so a cold start skips JSON.

    ``json.loads`` of 100,000 full receipts takes over a second on a small machine;
    ``marshal`` reads the same data in a quarter of that. The JSONL file stays the
    only truth: the snapshot records which prefix of it (inode, byte offset and a
    sampled fingerprint, see `log_fingerprint`) it covers and a CRC of itself, and is
    ignored unless all of that matches. Only lines after the offset are parsed as JSON.
    Deleting it is always safe.
    """

    @staticmethod
    def read(path: Path, fd: int, stat: os.stat_result) -> tuple[int, int, Fold] | None:
        """`(offset, next line number, fold)` of the log open as `fd`; None when unusable."""
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
            with gc_paused():
                key, ino, offset, line_no, fingerprint = marshal.loads(blob[head + 8 : body])
                if key != _SNAPSHOT_KEY or ino != stat.st_ino or not 0 < offset <= stat.st_size:
                    return None
                if log_fingerprint(fd, offset) != fingerprint:
                    return None
                dicts, warnings = marshal.loads(memoryview(blob)[body:])  # no 100 MB copy
                fold = Fold()
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
    def write(path: Path, fd: int, ino: int, offset: int, line_no: int, fold: Fold) -> None:
        """Replace the snapshot with `fold`, which covers the log's first `offset` bytes.

        Best effort: a snapshot that cannot be written is simply not there next time.
        """
        try:
            fingerprint = log_fingerprint(fd, offset)
        except OSError:
            return
        meta = marshal.dumps((_SNAPSHOT_KEY, ino, offset, line_no, fingerprint))
        # marshal writes an object seen before as a back-reference, so share the keys
        # and the values that repeat from call to call: the snapshot is half the size
        # and loads twice as fast.
        names = FIELD_NAMES
        shared: dict[str, str] = {}
        share = shared.setdefault
        dicts: list[dict[str, Any]] = []
        with gc_paused():
            for receipt in fold.receipts:
                values = {names[k]: v for k, v in receipt.__dict__.items()}
                for name in REPEATING:
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
