"""JSON-RPC filters (`eth_newFilter` and friends) with real change tracking, as anvil keeps them.

A filter remembers how far it has been polled: `eth_getFilterChanges` answers what
happened since (new block hashes, new pending transaction hashes, new matching logs)
and moves the mark. A log filter's first poll starts at its `fromBlock`, so a filter
created over past blocks returns their logs once, as anvil's does. Filters not polled
for `FILTER_IDLE` seconds are dropped (anvil: five minutes), and at most `MAX_FILTERS`
live at once, so memory stays flat.

Everything here reads the chain's own index (indexer.py), never eth-tester.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .chain_errors import RpcError
from .indexer import ChainIndex

FILTER_IDLE = 300.0
MAX_FILTERS = 1_000
NOT_FOUND = "filter not found"


@dataclass(frozen=True)
class LogQuery:
    """An `eth_getLogs` / `eth_newFilter` criteria object, parsed."""

    from_block: int | None
    """None: the head at the time of asking."""
    to_block: int | None
    addresses: frozenset[str] | None
    """Lower-case addresses; None: any."""
    topics: tuple[frozenset[str] | None, ...]
    block_hash: str | None = None


@dataclass
class _Filter:
    kind: str
    """logs | blocks | pending"""
    mark: int
    """logs, blocks: the last block reported; pending: the last sent-transaction number."""
    query: LogQuery | None = None
    polled: float = field(default_factory=time.monotonic)


class FilterBook:
    """Every installed filter, by id."""

    def __init__(self, index: ChainIndex) -> None:
        self.index = index
        self._filters: dict[str, _Filter] = {}
        self._lock = threading.Lock()

    def new_logs(self, query: LogQuery) -> str:
        """`eth_newFilter`: changes start at `fromBlock` (or after the current head)."""
        start = query.from_block if query.from_block is not None else self.index.head + 1
        return self._add(_Filter("logs", mark=start - 1, query=query))

    def new_blocks(self) -> str:
        """`eth_newBlockFilter`: hashes of blocks sealed from now on."""
        return self._add(_Filter("blocks", mark=self.index.head))

    def new_pending(self) -> str:
        """`eth_newPendingTransactionFilter`: hashes of transactions sent from now on."""
        return self._add(_Filter("pending", mark=self.index.sent_count))

    def uninstall(self, filter_id: str) -> bool:
        """`eth_uninstallFilter`: whether there was such a filter."""
        with self._lock:
            return self._filters.pop(str(filter_id).lower(), None) is not None

    def changes(self, filter_id: str) -> list[Any]:
        """`eth_getFilterChanges`: what happened since the last poll; moves the mark."""
        f = self._get(filter_id)
        head = self.index.head
        if f.kind == "blocks":
            hashes = [self.index.block_hash(n) for n in range(f.mark + 1, head + 1)]
            f.mark = head
            return [h for h in hashes if h is not None]
        if f.kind == "pending":
            count = self.index.sent_count
            new = min(count - f.mark, len(self.index.sent))
            f.mark = count
            return list(self.index.sent)[len(self.index.sent) - new :] if new > 0 else []
        assert f.query is not None
        end = head if f.query.to_block is None else min(head, f.query.to_block)
        logs = self.logs_between(f.query, f.mark + 1, end)
        f.mark = max(f.mark, end)
        return logs

    def filter_logs(self, filter_id: str) -> list[dict[str, Any]]:
        """`eth_getFilterLogs`: every log the filter's criteria match, now."""
        f = self._get(filter_id)
        if f.query is None:
            raise RpcError(-32000, NOT_FOUND)
        head = self.index.head
        start = head if f.query.from_block is None else f.query.from_block
        end = head if f.query.to_block is None else min(head, f.query.to_block)
        return self.logs_between(f.query, start, end)

    def logs_between(self, query: LogQuery, start: int, end: int) -> list[dict[str, Any]]:
        """The logs of blocks `start..end` that `query` matches, as JSON-RPC log objects."""
        if end < start:
            return []
        return [log.rpc() for log in self.index.logs(start, end, query.addresses, query.topics)]

    def _add(self, f: _Filter) -> str:
        with self._lock:
            self._expire()
            if len(self._filters) >= MAX_FILTERS:
                raise RpcError(
                    -32000,
                    f"too many filters ({MAX_FILTERS}); uninstall some with eth_uninstallFilter",
                )
            filter_id = "0x" + secrets.token_hex(16)
            self._filters[filter_id] = f
            return filter_id

    def _get(self, filter_id: str) -> _Filter:
        with self._lock:
            self._expire()
            f = self._filters.get(str(filter_id).lower())
            if f is None:
                raise RpcError(-32000, NOT_FOUND)
            f.polled = time.monotonic()
            return f

    def _expire(self) -> None:
        cutoff = time.monotonic() - FILTER_IDLE
        for filter_id in [k for k, f in self._filters.items() if f.polled < cutoff]:
            del self._filters[filter_id]
