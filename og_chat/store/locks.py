"""Locks in the data directory that every og-chat process on the machine respects.

Two processes sharing one data directory must not both approve OPG for the same
wallet (their transactions would race for one nonce), nor both sign authorizations
that only fit under a spend cap one at a time. Each such step holds an exclusive
`flock` on a file beside the receipts; a second process waits for the first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .paths import FILE_MODE, ensure_private_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process at a time is the user's job
    fcntl = None  # type: ignore[assignment]

APPROVAL_LOCK = "approve.lock"
"""Held while a process checks the Permit2 allowance and approves."""
SPEND_LOCK = "spend.lock"
"""Held while a process checks the spend caps and writes an authorization ahead."""


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created 0600), waiting for any other holder."""
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the flock
