"""The chain's own index of mined blocks: logs, transaction results, and what they settled.

`eth_getLogs` from block 0 is O(N²) on eth-tester, so it is never called: every mined
block is indexed here as it is sealed (logs, tx results, Permit2 and EIP-3009 nonces
consumed, batch roots, individual settlements), and `eth_getLogs`, the facilitator's
receipt checks and the gateway's lookups are answered from this index.

Logs are indexed by block and by each topic position's value, so a query naming a topic
(the call id a receipt's `payment_hash` is, `earliest` → `latest`) costs what it matches,
not the chain's length: the smallest named bucket names the blocks to read and filter.
A bucket is keyed by the topic's first 8 bytes and holds block numbers (a number, not a
list, while it is one: most call ids match once), ≈ 100 bytes a log. With a chain store
(`stored`), only the latest RECENT_BLOCKS blocks' logs stay in memory; older blocks are
read back from the store when a query names them, so the index does not grow by every
log the chain ever emitted (≈ 500 bytes a paid call).

A resumed chain's index is not rebuilt: the store keeps the same lookups as tables (tx
results, topic buckets, nonces used, batch roots, block hashes), written with each block,
and `resume()` only notes the stored head. Memory then holds what this run mined; a lookup
it misses for a block at or below that head is one indexed sqlite read. A restart of a
chain with 10,000 calls therefore costs a query, not a decode of every block's rows.

Written on the chain's worker thread only; reads from other threads are single dict
lookups, atomic under the GIL, or an older block read back through the store's own
read connection (chain_store.py), which sees committed blocks only.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypedDict

from og_chat.sdk.addresses import DEVNET_OPG, DEVNET_SETTLEMENT, PERMIT2_ADDRESS
from og_chat.sdk.errors import ChainError
from og_chat.sdk.eth import from_hex, hex0x

from .contracts import EventTable

SENT_KEPT = 10_000
"""Sent transaction hashes kept for pending-transaction filters (memory stays flat)."""
RECENT_BLOCKS = 256
"""Blocks whose logs stay in memory when older ones can be read back from the store."""


@dataclass(frozen=True)
class TxResult:
    """A mined transaction, read back from its receipt."""

    tx_hash: str
    """0x-hex, lower case."""
    status: int
    block_number: int
    gas_used: int


@dataclass(frozen=True, slots=True)
class IndexedLog:
    """One log of a mined block, as kept by the index."""

    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str
    topics: tuple[str, ...]
    data: str
    block_timestamp: int = 0

    def rpc(self) -> dict[str, Any]:
        """The standard JSON-RPC log object (anvil's field order, lower-case address)."""
        return {
            "address": self.address.lower(),
            "topics": list(self.topics),
            "data": self.data,
            "blockHash": self.block_hash,
            "blockNumber": hex(self.block_number),
            "blockTimestamp": hex(self.block_timestamp),
            "transactionHash": self.tx_hash,
            "transactionIndex": hex(self.tx_index),
            "logIndex": hex(self.log_index),
            "removed": False,
        }


class IndividualSettled(TypedDict):
    """One `IndividualSettled` event, decoded (the call's text is in its transaction's calldata)."""

    tx_hash: str
    block_number: int
    call_id: str
    tee_id: str
    request_hash: str
    output_hash: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    tee_timestamp: int
    signature: str


_Bucket = int | list[int]
"""The blocks with a log with one topic value at one position: the number while it is one."""
BatchInfo = tuple[int, int, str]
"""A posted batch root's (count, timestamp, tx hash)."""


class Settled(NamedTuple):
    """What one block settled: the nonces it consumed and the batch roots it posted."""

    nonces: list[tuple[str, int, str]]
    """(owner lower case, nonce, tx hash) of every Permit2 / EIP-3009 nonce used."""
    batches: list[tuple[bytes, BatchInfo]]
    """(root, (count, timestamp, tx hash)) of every `BatchSettled`."""


class StoredIndex(Protocol):
    """The index's tables in the chain store (chain_store.py), read from any thread."""

    def block_logs(self, number: int) -> list[IndexedLog]:
        """One stored block's logs."""
        ...

    def tx(self, tx_hash: str) -> TxResult | None:
        """A stored transaction's result, by its lower-case hash."""
        ...

    def topic_blocks(self, position: int, key: int) -> list[int]:
        """The stored blocks with a log whose topic at `position` has bucket key `key`."""
        ...

    def nonce_tx(self, owner: str, nonce: int) -> str | None:
        """The stored transaction that used `owner`'s nonce."""
        ...

    def batch_roots(self) -> dict[bytes, BatchInfo]:
        """Every stored batch root."""
        ...

    def block_hash(self, number: int) -> str | None:
        """A stored block's hash."""
        ...

    def block_number(self, block_hash: str) -> int | None:
        """A stored block's number, by its lower-case hash."""
        ...


def topic_key(topic: str) -> int:
    """A topic's bucket key: its first 8 bytes (matches are checked against the whole topic)."""
    return int(topic[2:18] or "0", 16)


class ChainIndex:
    """Everything mined so far, and who waits for which transaction."""

    def __init__(
        self, events: EventTable, *, opg: str = DEVNET_OPG, stored: StoredIndex | None = None
    ) -> None:
        self.events = events
        self._settling_events = {
            topic: name
            for topic, (name, _) in events.events.items()
            if name in ("PermitNonceUsed", "AuthorizationUsed", "BatchSettled")
        }
        """topic0 → name of the events `settled_rows` records (nonces used, batch roots)."""
        self.stored = stored
        """Reads an older block's logs back from the chain store (None: all stay in memory)."""
        self.stored_head = 0
        """Blocks up to this one are in the store only (`resume`): memory holds later ones."""
        self.opg = opg.lower()
        """The OPG token whose EIP-3009 nonces are indexed (Base's address on a mainnet twin)."""
        self.head = 0
        """The highest block indexed."""
        self._txs: dict[str, TxResult] = {}
        self._logs_by_block: dict[int, list[IndexedLog]] = {}
        self._block_hashes: dict[int, str] = {}
        self._block_numbers: dict[str, int] = {}
        self._nonces: dict[tuple[str, int], str] = {}
        self._batches: dict[bytes, tuple[int, int, str]] = {}
        self._by_topic: tuple[dict[int, _Bucket], ...] = ({}, {}, {}, {})
        """Position → topic key → the blocks with a log with that value there, oldest first."""
        self.pending: set[str] = set()
        """Hashes of transactions sent to the chain and not mined yet."""
        self._waiters: dict[str, list[cf.Future[TxResult]]] = {}
        self.sent: deque[str] = deque(maxlen=SENT_KEPT)
        """Hashes of the latest transactions sent, oldest first (pending-transaction filters)."""
        self.sent_count = 0
        """How many transactions were ever sent: `sent[-1]` is number `sent_count`."""

    # -- writing (worker thread) ---------------------------------------------------

    def add_block(
        self,
        number: int,
        block_hash: str,
        mined: Iterable[tuple[TxResult, list[IndexedLog]]],
        settled: Settled | None = None,
    ) -> None:
        """Index one sealed block; waiters wake only once the whole block is indexed.

        `settled` is `settled_rows` of the same block when the caller has it already."""
        self._block_hashes[number] = block_hash
        self._block_numbers[block_hash] = number
        results: list[TxResult] = []
        logs: list[IndexedLog] = []
        for result, tx_logs in mined:
            results.append(result)
            logs.extend(tx_logs)
        if logs:
            self._logs_by_block[number] = logs
            for entry in logs:
                self._index_topics(entry)
            self._note_settled(settled or self._settled(logs))
        self.head = number
        if self.stored is not None:  # read back from the store from now on
            self._logs_by_block.pop(number - RECENT_BLOCKS, None)
        for result in results:
            self._record(result)

    def resume(self, stored: StoredIndex, head: int) -> None:
        """Continue a kept chain whose blocks up to `head` are indexed in `stored` already."""
        self.stored = stored
        self.stored_head = self.head = head

    def settled_rows(self, mined: Iterable[tuple[TxResult, list[IndexedLog]]]) -> Settled:
        """The nonces used and batch roots posted by one block's logs (for the store too)."""
        return self._settled([log for _, logs in mined for log in logs])

    def _note_settled(self, settled: Settled) -> None:
        self._nonces.update({(owner, nonce): tx for owner, nonce, tx in settled.nonces})
        self._batches.update(settled.batches)

    def _settled(self, logs: Iterable[IndexedLog]) -> Settled:
        settled = Settled([], [])
        for log in logs:
            # Most logs are none of these: one dict lookup first.
            name = self._settling_events.get(log.topics[0]) if log.topics else None
            if name is None:
                continue
            address = log.address.lower()
            if (name == "PermitNonceUsed" and address == PERMIT2_ADDRESS.lower()) or (
                name == "AuthorizationUsed" and address == self.opg
            ):
                owner = "0x" + log.topics[1][-40:]
                settled.nonces.append((owner.lower(), int(log.topics[2], 16), log.tx_hash))
            elif name == "BatchSettled" and address == DEVNET_SETTLEMENT.lower():
                from eth_abi.abi import decode

                count, ts = decode(["uint256", "uint256"], from_hex(log.data))
                settled.batches.append(
                    (from_hex(log.topics[1]), (int(count), int(ts), log.tx_hash))
                )
        return settled

    def add_receipt(self, receipt: Mapping[str, Any]) -> TxResult:
        """Index one receipt fetched from a JSON-RPC node (the anvil backend)."""
        tx_hash = hex0x(receipt["transactionHash"]).lower()
        result = TxResult(
            tx_hash, int(receipt["status"]), int(receipt["blockNumber"]), int(receipt["gasUsed"])
        )
        for log in receipt["logs"]:
            entry = IndexedLog(
                block_number=int(log["blockNumber"]),
                block_hash=hex0x(log["blockHash"]),
                tx_hash=tx_hash,
                tx_index=int(log["transactionIndex"]),
                log_index=int(log["logIndex"]),
                address=str(log["address"]),
                topics=tuple(hex0x(t) for t in log["topics"]),
                data=hex0x(log["data"]),
            )
            self._logs_by_block.setdefault(entry.block_number, []).append(entry)
            self._index_topics(entry)
            self._note_settled(self._settled([entry]))
        self._record(result)
        self.head = max(self.head, result.block_number)
        return result

    def expect(self, tx_hash: str) -> cf.Future[TxResult]:
        """A transaction just sent: a future that resolves when it is indexed as mined."""
        fut: cf.Future[TxResult] = cf.Future()
        self.pending.add(tx_hash)
        self.sent.append(tx_hash)
        self.sent_count += 1
        self._waiters.setdefault(tx_hash, []).append(fut)
        return fut

    def watch(self, tx_hash: str) -> cf.Future[TxResult]:
        """A future for a transaction sent earlier: done now if mined, failed if unknown."""
        fut: cf.Future[TxResult] = cf.Future()
        done = self._tx(tx_hash)
        if done is not None:
            fut.set_result(done)
        elif tx_hash in self.pending:
            self._waiters.setdefault(tx_hash, []).append(fut)
        else:
            fut.set_exception(ChainError(f"unknown transaction {tx_hash}"))
        return fut

    def fail_waiters(self, error: Exception) -> None:
        """The chain stopped: every waiter fails with `error`."""
        for futures in self._waiters.values():
            for fut in futures:
                if not fut.done():
                    fut.set_exception(error)
        self._waiters.clear()

    def _tx(self, tx_hash: str) -> TxResult | None:
        """A mined transaction's result: this run's, or a resumed chain's from the store."""
        found = self._txs.get(tx_hash)
        if found is None and self.stored is not None and self.stored_head:
            found = self.stored.tx(tx_hash)
        return found

    def _record(self, result: TxResult) -> None:
        self._txs[result.tx_hash] = result
        self.pending.discard(result.tx_hash)
        for fut in self._waiters.pop(result.tx_hash, []):
            if not fut.done():
                fut.set_result(result)

    def _index_topics(self, log: IndexedLog) -> None:
        number = log.block_number
        for position, topic in enumerate(log.topics[:4]):
            bucket = self._by_topic[position]
            key = topic_key(topic)
            found = bucket.get(key)
            if found is None:
                bucket[key] = number
            elif isinstance(found, list):
                if found[-1] != number:
                    found.append(number)
            elif found != number:
                bucket[key] = [found, number]

    # -- lookups (any thread) ----------------------------------------------------------

    def find_settlement(self, *, payer: str, nonce: int) -> TxResult | None:
        """The mined transaction that consumed `payer`'s Permit2 (or EIP-3009) nonce, if seen."""
        key = (payer.lower(), int(nonce))
        tx_hash = self._nonces.get(key)
        if tx_hash is None and self.stored is not None and self.stored_head:
            tx_hash = self.stored.nonce_tx(*key)
        return self._tx(tx_hash) if tx_hash else None

    def logs_of(self, tx_hash: str) -> list[IndexedLog]:
        """The indexed logs a mined transaction emitted."""
        result = self._tx(tx_hash.lower())
        if result is None:
            return []
        return [
            log for log in self._block_logs(result.block_number) if log.tx_hash == result.tx_hash
        ]

    def batch_roots(self) -> dict[str, tuple[int, int, str]]:
        """Every batch root posted so far: root → (count, timestamp, tx hash)."""
        stored = self.stored.batch_roots() if self.stored is not None and self.stored_head else {}
        return {hex0x(root): info for root, info in {**stored, **self._batches}.items()}

    def individual_settlements(self) -> list[IndividualSettled]:
        """Every `IndividualSettled` event so far, decoded, oldest first."""
        from eth_abi.abi import decode

        topic = next(
            t for t, (name, _) in self.events.events.items() if name == "IndividualSettled"
        )
        out = []
        for log in self.logs(0, self.head, {DEVNET_SETTLEMENT.lower()}, [frozenset([topic])]):
            output_hash, model, prompt, completion, tee_ts, signature = decode(
                ["bytes32", "string", "uint256", "uint256", "uint256", "bytes"], from_hex(log.data)
            )
            out.append(
                IndividualSettled(
                    tx_hash=log.tx_hash,
                    block_number=log.block_number,
                    call_id=log.topics[1],
                    tee_id=log.topics[2],
                    request_hash=log.topics[3],
                    output_hash=hex0x(output_hash),
                    model=str(model),
                    prompt_tokens=int(prompt),
                    completion_tokens=int(completion),
                    tee_timestamp=int(tee_ts),
                    signature=hex0x(signature),
                )
            )
        return out

    def block_number_of(self, block_hash: str) -> int | None:
        """The number of an indexed block, by its hash."""
        found = self._block_numbers.get(block_hash.lower())
        if found is None and self.stored is not None and self.stored_head:
            found = self.stored.block_number(block_hash.lower())
        return found

    def block_hash(self, number: int) -> str | None:
        """The hash of an indexed block, by its number."""
        found = self._block_hashes.get(number)
        if found is None and self.stored is not None and 0 <= number <= self.stored_head:
            found = self.stored.block_hash(number)
        return found

    def logs(
        self,
        start: int,
        end: int,
        addresses: AbstractSet[str] | None = None,
        topics: Sequence[AbstractSet[str] | None] | None = None,
    ) -> Iterator[IndexedLog]:
        """Logs of blocks `start..end` by lower-case address and topic filters (eth_getLogs rules).

        With a topic named, only the smallest matching topic bucket is read (in block order),
        however long the range; without one, the range's blocks are."""
        candidates = self._topic_candidates(topics) if topics else None
        numbers: Iterable[int] = range(start, end + 1)
        if candidates is not None:
            numbers = (n for n in candidates if start <= n <= end)
        for log in (log for number in numbers for log in self._block_logs(number)):
            if addresses is not None and log.address.lower() not in addresses:
                continue
            if any(
                want is not None and (i >= len(log.topics) or log.topics[i] not in want)
                for i, want in enumerate(topics or [])
            ):
                continue
            yield log

    def _topic_candidates(self, topics: Sequence[AbstractSet[str] | None]) -> list[int] | None:
        """The blocks of the smallest bucket set a topic filter names, in chain order; None
        when the filter names no topic value (any topic at every position)."""
        best: list[int] | None = None
        for position, wanted in enumerate(topics[:4]):
            if wanted is None:
                continue
            numbers: set[int] = set()
            for topic in wanted:
                found = self._by_topic[position].get(topic_key(topic))
                if isinstance(found, list):
                    numbers.update(list(found))
                elif found is not None:
                    numbers.add(found)
                if self.stored is not None and self.stored_head:
                    numbers.update(self.stored.topic_blocks(position, topic_key(topic)))
            if best is None or len(numbers) < len(best):
                best = sorted(numbers)
        return best

    def _block_logs(self, number: int) -> Sequence[IndexedLog]:
        """A block's logs: from memory, or read back from the store for an older block."""
        logs = self._logs_by_block.get(number)
        if logs is not None:
            return logs
        old = number <= self.stored_head or number <= self.head - RECENT_BLOCKS
        if self.stored is not None and number > 0 and old:
            return self.stored.block_logs(number)
        return ()
