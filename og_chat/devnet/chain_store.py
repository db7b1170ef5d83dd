"""The py-evm chain on disk: its key-value store, the block index and the chain's meta, in sqlite.

py-evm keeps every trie node, header, body and receipt in a key-value database
(`AtomicDB` over a `MemoryDB` in eth-tester). `SqliteKV` is that database on stdlib
sqlite3 (WAL mode): reads go through a dict cache bounded in bytes (so a warm chain runs at
memory speed and an old one does not fill memory), writes are buffered and written by
`ChainStore.commit_block`, one sqlite
transaction per sealed block together with that block's index rows. A crash therefore
loses at most the block being built, never leaves half a block, and the next start
resumes from the stored canonical head.

The block index rows (every transaction's result and logs, as `ChainIndex` takes them)
are stored beside the key-value pairs, and so are the index's lookups as tables of their
own (tx results by hash, topic buckets, nonces used, batch roots, block hashes): a
restart reads what a query needs when it is asked (`ChainIndex.resume`) instead of
feeding the index every stored block first (10,000 calls: one query, not 0.15–0.5 s).
A store of schema 2 (rows only) gets the lookup tables once, when it is first resumed.

Transactions accepted but not mined yet are kept too (`mempool`, written when accepted,
deleted in the transaction of the block that mines them): a hash handed out before its
block (individual mode's `X-Settlement-Tx-Hash`) is sent again by the next start and
mines under the same hash, even after a kill.

Single-threaded: the node's worker thread opens, uses and closes it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .indexer import BatchInfo, IndexedLog, Settled, TxResult, topic_key

SCHEMA = 3
"""Bumped when the tables or their rows change (2: logs keep their block timestamp; 3: the
index's lookup tables); a store of another schema is not resumed, except UPGRADABLE ones."""
UPGRADABLE = (2,)
"""Schemas `upgrade()` brings to SCHEMA (their lookup tables are built from the block rows)."""
CACHE_BYTES = 1 << 20
"""Bytes of key-value pairs kept in memory (keys, values and ≈ 100 bytes of dict and object
overhead each); past that the cache starts over, so a long-lived chain's memory stays flat
while its file grows. A count of entries was not a bound: receipts and block bodies run to
kilobytes, and 20,000 of them grew the process by ≈ 550 bytes a paid call for 10,000 calls.
What a block needs again (the state trie's hot nodes, ≈ 200 kB) is read back at once."""
ENTRY_OVERHEAD = 100
"""What one cached pair costs besides its bytes (two bytes objects and a dict slot)."""
PAGE_CACHE_KIB = 1024
"""sqlite's own page cache (its default is 2 MiB): the OS caches the file too."""

MinedRows = list[tuple[TxResult, list[IndexedLog]]]
"""One block's transactions and their logs, as `ChainIndex.add_block` takes them."""

_TABLES = """
CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, mined TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mempool (seq INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT UNIQUE, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS txs (hash TEXT PRIMARY KEY, status INTEGER NOT NULL, block INTEGER NOT NULL, gas INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics (position INTEGER NOT NULL, key INTEGER NOT NULL, block INTEGER NOT NULL, PRIMARY KEY (position, key, block)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nonces (owner TEXT NOT NULL, nonce TEXT NOT NULL, tx TEXT NOT NULL, PRIMARY KEY (owner, nonce)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (root BLOB PRIMARY KEY, count TEXT NOT NULL, ts TEXT NOT NULL, tx TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_by_hash ON blocks (hash);
"""
_SIGNED = 1 << 63
"""Topic keys are unsigned 64-bit; sqlite's integers are signed (`_sql_key`)."""


class SqliteKV:
    """py-evm's key-value database (the `wrapped_db` of an `AtomicDB`) over one sqlite table.

    Duck-typed to `eth.abc.DatabaseAPI` (get, set, delete, contains): AtomicDB and its
    write batches only use those, and not subclassing keeps py-evm out of this import.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._cache: dict[bytes, bytes] = {}
        self._cached_bytes = 0
        self._absent: set[bytes] = set()
        self._dirty: dict[bytes, bytes | None] = {}
        """Writes since the last flush; None marks a delete."""

    def __getitem__(self, key: bytes) -> bytes:
        value = self._cache.get(key)
        if value is not None:
            return value
        if key in self._dirty:  # written since the last flush, dropped from the cache meanwhile
            pending = self._dirty[key]
            if pending is None:
                raise KeyError(key)
            return pending
        if key in self._absent:
            raise KeyError(key)
        row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            self._absent.add(key)
            raise KeyError(key)
        value = bytes(row[0])
        self._remember(key, value)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._remember(key, value)
        self._absent.discard(key)
        self._dirty[key] = value

    def _remember(self, key: bytes, value: bytes) -> None:
        size = len(key) + len(value) + ENTRY_OVERHEAD
        if self._cached_bytes + size > CACHE_BYTES:  # start over: what is hot is read back at once
            self._cache.clear()
            self._absent.clear()
            self._cached_bytes = 0
        old = self._cache.get(key)
        if old is not None:
            self._cached_bytes -= len(key) + len(old) + ENTRY_OVERHEAD
        self._cache[key] = value
        self._cached_bytes += size

    def __delitem__(self, key: bytes) -> None:
        if key not in self:
            raise KeyError(key)
        old = self._cache.pop(key, None)
        if old is not None:
            self._cached_bytes -= len(key) + len(old) + ENTRY_OVERHEAD
        self._absent.add(key)
        self._dirty[key] = None

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, bytes):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def load(self, items: dict[bytes, bytes]) -> None:
        """Write many pairs at once (the genesis state built in memory)."""
        for key, value in items.items():
            self[key] = value

    def flush(self) -> None:
        """Write the buffered changes (inside the caller's transaction)."""
        if not self._dirty:
            return
        puts = [(k, v) for k, v in self._dirty.items() if v is not None]
        drops = [(k,) for k, v in self._dirty.items() if v is None]
        self._conn.executemany(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            puts,
        )
        self._conn.executemany("DELETE FROM kv WHERE key = ?", drops)
        self._dirty.clear()


class ChainStore:
    """One devnet chain's sqlite file: py-evm's key-value store, the index rows, the meta."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch(mode=0o600, exist_ok=True)  # sqlite gives its -wal and -shm the same mode
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        self._conn.executescript(_TABLES)
        self.kv = SqliteKV(self._conn)
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()

    # -- meta ---------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """Everything in the meta table (chain id, code digest, instance id, schema, …)."""
        return {str(k): str(v) for k, v in self._conn.execute("SELECT key, value FROM meta")}

    def is_empty(self) -> bool:
        """True before the first genesis was written."""
        return self._conn.execute("SELECT 1 FROM meta WHERE key = 'schema'").fetchone() is None

    # -- writing ------------------------------------------------------------------------

    def commit_genesis(self, genesis: dict[bytes, bytes], meta: dict[str, str]) -> None:
        """Store block 0 (py-evm's in-memory genesis, copied) and the chain's meta, atomically."""
        self.kv.load(genesis)
        with self._transaction():
            self.kv.flush()
            self._conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [*meta.items(), ("schema", str(SCHEMA))],
            )

    def commit_block(
        self, number: int, block_hash: str, mined: MinedRows, settled: Settled | None = None
    ) -> None:
        """Store one sealed block: every buffered key-value write, its index rows and lookups
        (`settled`: the nonces and batch roots `ChainIndex.settled_rows` found in it)."""
        rows = [[_tx_row(result), [_log_row(log) for log in logs]] for result, logs in mined]
        with self._transaction():
            self.kv.flush()
            self._conn.execute(
                "INSERT OR REPLACE INTO blocks (number, hash, mined) VALUES (?, ?, ?)",
                (number, block_hash, json.dumps(rows, separators=(",", ":"))),
            )
            self._write_lookups(number, mined, settled or Settled([], []))
            self._conn.executemany(
                "DELETE FROM mempool WHERE hash = ?", [(result.tx_hash,) for result, _ in mined]
            )

    def upgrade(self, settled_rows: Callable[[MinedRows], Settled]) -> None:
        """Bring a store of an UPGRADABLE schema to SCHEMA: the lookup tables from its block
        rows, once, in one transaction (`settled_rows`: the index's reading of a block)."""
        if self.meta().get("schema") == str(SCHEMA):
            return
        with self._transaction():
            for number, _, mined in self.blocks():
                self._write_lookups(number, mined, settled_rows(mined))
            self._conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA),))

    def _write_lookups(self, number: int, mined: MinedRows, settled: Settled) -> None:
        """One block's rows in the lookup tables (inside the caller's transaction)."""
        self._conn.executemany(
            "INSERT OR REPLACE INTO txs (hash, status, block, gas) VALUES (?, ?, ?, ?)",
            [(r.tx_hash, r.status, r.block_number, r.gas_used) for r, _ in mined],
        )
        keys = {
            (position, _sql_key(topic_key(topic)))
            for _, logs in mined
            for log in logs
            for position, topic in enumerate(log.topics[:4])
        }
        self._conn.executemany(
            "INSERT OR IGNORE INTO topics (position, key, block) VALUES (?, ?, ?)",
            [(position, key, number) for position, key in keys],
        )
        self._conn.executemany(
            "INSERT OR REPLACE INTO nonces (owner, nonce, tx) VALUES (?, ?, ?)",
            [(owner, str(nonce), tx) for owner, nonce, tx in settled.nonces],
        )
        self._conn.executemany(
            "INSERT OR REPLACE INTO batches (root, count, ts, tx) VALUES (?, ?, ?, ?)",
            [(root, str(count), str(ts), tx) for root, (count, ts, tx) in settled.batches],
        )

    def keep_pending(self, tx_hash: str, raw: bytes) -> None:
        """Keep a transaction just accepted until a block mines it (its own tiny commit)."""
        self._conn.execute(
            "INSERT OR IGNORE INTO mempool (hash, raw) VALUES (?, ?)", (tx_hash.lower(), raw)
        )

    def close(self) -> None:
        """Write what is buffered and close the file. Idempotent."""
        try:
            with self._transaction():
                self.kv.flush()
            self._conn.close()
        except sqlite3.ProgrammingError:  # already closed
            pass
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    # -- reading ------------------------------------------------------------------------

    def blocks(self) -> Iterator[tuple[int, str, MinedRows]]:
        """Every stored block's index rows, oldest first (what `ChainIndex.add_block` takes)."""
        query = "SELECT number, hash, mined FROM blocks ORDER BY number"
        for number, block_hash, mined in self._conn.execute(query):
            yield int(number), str(block_hash), _rows(int(number), str(block_hash), mined)

    def head(self) -> int:
        """The highest stored block (0: genesis only)."""
        row = self._conn.execute("SELECT max(number) FROM blocks").fetchone()
        return int(row[0] or 0)

    # `ChainIndex.stored` (indexer.StoredIndex): from any thread, through the read
    # connection, which sees committed blocks only (every indexed block is committed
    # before the index hears of it).

    def block_logs(self, number: int) -> list[IndexedLog]:
        """One stored block's logs (an older block read back)."""
        row = self._read_one("SELECT hash, mined FROM blocks WHERE number = ?", number)
        if row is None:
            return []
        return [log for _, logs in _rows(number, str(row[0]), row[1]) for log in logs]

    def tx(self, tx_hash: str) -> TxResult | None:
        """A stored transaction's result, by its lower-case hash."""
        row = self._read_one("SELECT status, block, gas FROM txs WHERE hash = ?", tx_hash)
        return None if row is None else TxResult(tx_hash, int(row[0]), int(row[1]), int(row[2]))

    def topic_blocks(self, position: int, key: int) -> list[int]:
        """The stored blocks with a log whose topic at `position` has bucket key `key`."""
        query = "SELECT block FROM topics WHERE position = ? AND key = ? ORDER BY block"
        return [int(n) for (n,) in self._read_all(query, position, _sql_key(key))]

    def nonce_tx(self, owner: str, nonce: int) -> str | None:
        """The stored transaction that used `owner`'s (lower case) nonce."""
        row = self._read_one(
            "SELECT tx FROM nonces WHERE owner = ? AND nonce = ?", owner, str(nonce)
        )
        return None if row is None else str(row[0])

    def batch_roots(self) -> dict[bytes, BatchInfo]:
        """Every stored batch root: root → (count, timestamp, tx hash)."""
        rows = self._read_all("SELECT root, count, ts, tx FROM batches")
        return {bytes(root): (int(count), int(ts), str(tx)) for root, count, ts, tx in rows}

    def block_hash(self, number: int) -> str | None:
        """A stored block's hash."""
        row = self._read_one("SELECT hash FROM blocks WHERE number = ?", number)
        return None if row is None else str(row[0])

    def block_number(self, block_hash: str) -> int | None:
        """A stored block's number, by its lower-case hash."""
        row = self._read_one("SELECT number FROM blocks WHERE hash = ?", block_hash)
        return None if row is None else int(row[0])

    def _read_all(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        with self._read_lock:
            if self._reader is None:
                self._reader = sqlite3.connect(self.path, check_same_thread=False)
            return list(self._reader.execute(query, args))

    def _read_one(self, query: str, *args: object) -> tuple[Any, ...] | None:
        rows = self._read_all(query, *args)
        return rows[0] if rows else None

    def forget_pending(self, tx_hash: str) -> None:
        """Drop a kept transaction that can no longer be mined (its nonce was used)."""
        self._conn.execute("DELETE FROM mempool WHERE hash = ?", (tx_hash.lower(),))

    def pending(self) -> list[bytes]:
        """The raw transactions accepted and not mined, in the order they were accepted."""
        return [bytes(r) for (r,) in self._conn.execute("SELECT raw FROM mempool ORDER BY seq")]

    # -- internals ----------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` when the body raises."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._conn.execute("COMMIT" if kind is None else "ROLLBACK")


def _sql_key(key: int) -> int:
    """A topic bucket key as sqlite's signed 64-bit integer (one-to-one)."""
    return key - (1 << 64) if key >= _SIGNED else key


def _tx_row(result: TxResult) -> list[Any]:
    return [result.tx_hash, result.status, result.block_number, result.gas_used]


def _log_row(log: IndexedLog) -> list[Any]:
    return [
        log.tx_hash,
        log.tx_index,
        log.log_index,
        log.address,
        list(log.topics),
        log.data,
        log.block_timestamp,
    ]


def _rows(number: int, block_hash: str, mined: str) -> MinedRows:
    return [
        (TxResult(*tx), [_log(number, block_hash, row) for row in logs])
        for tx, logs in json.loads(mined)
    ]


def _log(number: int, block_hash: str, row: list[Any]) -> IndexedLog:
    """A stored log row; rows written before the block timestamp was kept have 6 fields."""
    tx_hash, tx_index, log_index, address, topics, data = row[:6]
    timestamp = int(row[6]) if len(row) > 6 else 0
    return IndexedLog(
        number, block_hash, tx_hash, tx_index, log_index, address, tuple(topics), data, timestamp
    )
