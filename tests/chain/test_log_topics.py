"""`eth_getLogs` by topic over a long chain: no range limit, and only the topic's matches read.

A receipt's `payment_hash` is looked up as `eth_getLogs({fromBlock: earliest, toBlock:
latest, topics: [EVENT, HASH]})`. On a chain kept for months that range passes 10,000
blocks, which a query naming no topic may not span (`MAX_LOG_RANGE`); a topic query has no
limit (as on anvil) because the index answers it from the topic's own bucket.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from og_chat.devnet.chain import Chain
from og_chat.devnet.chain_store import ChainStore
from og_chat.devnet.contracts import EventTable
from og_chat.devnet.indexer import ChainIndex, IndexedLog, TxResult
from og_chat.devnet.jsonrpc import MAX_LOG_RANGE
from og_chat.devnet.node import RpcError

EVENT = "0x" + "e1" * 32
OTHER = "0x" + "e2" * 32
ADDRESS = "0x" + "5e" * 20


def _topic() -> str:
    return "0x" + os.urandom(32).hex()


def _log(number: int, index: int, topics: tuple[str, ...]) -> IndexedLog:
    return IndexedLog(
        block_number=number,
        block_hash=f"0x{number:064x}",
        tx_hash=f"0x{number:060x}{index:04x}",
        tx_index=0,
        log_index=index,
        address=ADDRESS,
        topics=topics,
        data="0x",
    )


def _fill(
    index: ChainIndex, blocks: int, start: int = 1, store: ChainStore | None = None
) -> dict[int, str]:
    """`blocks` blocks of two logs each (a unique id as topic 1); block → its id. With a
    `store`, each block is committed to it first, as the node does with a sealed block."""
    ids = {}
    for number in range(start, start + blocks):
        ids[number] = call_id = _topic()
        logs = [_log(number, 0, (EVENT, call_id)), _log(number, 1, (OTHER, _topic()))]
        result = TxResult(logs[0].tx_hash, 1, number, 21_000)
        if store is not None:
            store.commit_block(number, f"0x{number:064x}", [(result, logs)])
        index.add_block(number, f"0x{number:064x}", [(result, logs)])
    return ids


class _CountingBlocks(dict[int, list[IndexedLog]]):
    """The index's per-block table, counting the blocks a query reads."""

    reads = 0

    def get(self, key: int, default: object = None) -> list[IndexedLog] | None:  # type: ignore[override]
        self.reads += 1
        return super().get(key)


def test_a_topic_query_reads_only_its_matches_across_twenty_thousand_blocks() -> None:
    index = ChainIndex(EventTable())
    ids = _fill(index, 20_000)
    counting = _CountingBlocks(index._logs_by_block)
    index._logs_by_block = counting
    wanted = ids[12_345]
    (found,) = index.logs(0, index.head, None, [frozenset([EVENT]), frozenset([wanted])])
    assert (found.block_number, found.topics) == (12_345, (EVENT, wanted))
    assert counting.reads == 1  # the block the topic's bucket names, not 20,000 blocks
    counting.reads = 0
    # Several values at one position: every match, in chain order, nothing else.
    some = [ids[n] for n in (19_000, 3, 7_777)]
    got = list(index.logs(0, index.head, None, [None, frozenset(some)]))
    assert [log.block_number for log in got] == [3, 7_777, 19_000]
    # The range still applies to the matches, and the other filters too.
    assert list(index.logs(0, 12_000, None, [None, frozenset([wanted])])) == []
    assert list(index.logs(0, index.head, {"0x" + "00" * 20}, [None, frozenset([wanted])])) == []
    assert len(list(index.logs(100, 199, None, [frozenset([EVENT])]))) == 100
    # A query without a topic reads the blocks of its range.
    counting.reads = 0
    assert len(list(index.logs(1, 50, None, None))) == 100 and counting.reads == 50


@pytest.fixture
def long_chain() -> Iterator[Chain]:
    """A fresh devnet chain whose index holds 10,500 more (empty-but-one-log) blocks, as a
    chain kept for a long time does; its EVM is the usual fresh one (nothing is sent)."""
    chain = Chain.start()
    try:
        yield chain
    finally:
        chain.stop()


def test_get_logs_by_topic_spans_more_than_the_range_limit(long_chain: Chain) -> None:
    index, store = long_chain.node.index, long_chain.node._store
    ids = long_chain.run_sync(lambda _: _fill(index, MAX_LOG_RANGE + 500, index.head + 1, store))
    first, last = min(ids), max(ids)
    query: dict[str, object] = {
        "fromBlock": "earliest",
        "toBlock": "latest",
        "topics": [EVENT, ids[first]],
    }
    (log,) = long_chain.rpc("eth_getLogs", [query])
    assert int(log["blockNumber"], 16) == first and log["topics"] == [EVENT, ids[first]]
    query["topics"] = [None, ids[last]]
    (log,) = long_chain.rpc("eth_getLogs", [query])
    assert int(log["blockNumber"], 16) == last
    # Without a topic the limit stands (the answer would be the whole chain's logs).
    with pytest.raises(RpcError) as info:
        long_chain.rpc("eth_getLogs", [{"fromBlock": "earliest", "toBlock": "latest"}])
    assert info.value.code == -32005 and "name a topic" in info.value.message
