"""The gateway's records not yet on-chain (private records, batch leaves), kept until posted.

A call's private record or batch leaf waits up to `batch_interval` seconds for its
transaction. With the devnet's state on disk it waits in this sqlite file as well, so a
crash or a kill between the answer and the post does not lose the call's record: the next
start posts it. Without a state directory nothing is written (the chain is not kept either).

Used from the gateway's event loop thread only; one row per call, written when the call
is answered and deleted once its transaction is mined.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_TABLE = """
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL UNIQUE,
    mode TEXT NOT NULL,
    payload TEXT NOT NULL
)
"""


class PendingRecords:
    """Records waiting for their transaction; `path=None` keeps nothing (an ephemeral devnet)."""

    def __init__(self, path: Path | None = None) -> None:
        self._conn: sqlite3.Connection | None = None
        if path is not None:
            path.touch(mode=0o600, exist_ok=True)  # sqlite gives -wal and -shm the same mode
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute(_TABLE)

    def add(self, call_id: str, mode: str, payload: dict[str, Any]) -> None:
        """Keep one call's record until `remove`."""
        if self._conn is not None:
            self._conn.execute(
                "INSERT OR REPLACE INTO pending (call_id, mode, payload) VALUES (?, ?, ?)",
                (call_id, mode, json.dumps(payload, separators=(",", ":"))),
            )

    def remove(self, call_ids: Iterable[str]) -> None:
        """Forget records whose transaction is mined (or failed for good)."""
        if self._conn is not None:
            self._conn.executemany(
                "DELETE FROM pending WHERE call_id = ?", [(c,) for c in call_ids]
            )

    def load(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every kept record as `(call_id, mode, payload)`, oldest first."""
        if self._conn is None:
            return []
        rows = self._conn.execute("SELECT call_id, mode, payload FROM pending ORDER BY seq")
        return [(str(c), str(m), json.loads(p)) for c, m, p in rows]

    def close(self) -> None:
        """Close the file. Idempotent."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
