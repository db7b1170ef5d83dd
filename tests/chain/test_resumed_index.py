"""A resumed chain's index answers from the store's lookup tables, without a replay.

The same blocks (transfers, a Permit2 nonce used, a batch root posted, a topic shared by
many blocks) are indexed twice: in memory, block by block, as a chain that is running
does, and by `ChainIndex.resume` over a real sqlite store that holds them. Every lookup
must answer the same; a store of schema 2 (block rows only) is upgraded once and then
answers the same too.
"""

from __future__ import annotations

import os
from pathlib import Path

from og_chat.devnet.chain_store import SCHEMA, ChainStore
from og_chat.devnet.contracts import EventTable
from og_chat.devnet.indexer import ChainIndex, IndexedLog, TxResult
from og_chat.sdk.addresses import DEVNET_SETTLEMENT, PERMIT2_ADDRESS
from og_chat.sdk.eth import keccak

EVENTS = EventTable()
NONCE_USED = "0x" + keccak(b"PermitNonceUsed(address,uint256,address)").hex()
BATCH_SETTLED = "0x" + keccak(b"BatchSettled(bytes32,uint256,uint256)").hex()
TRANSFER = "0x" + keccak(b"Transfer(address,address,uint256)").hex()
PAYER = "0x" + "ab" * 20


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def _blocks(count: int) -> list[tuple[int, str, list[tuple[TxResult, list[IndexedLog]]]]]:
    """`count` blocks of one transaction each; every 10th uses a nonce, every 25th posts a root."""
    out = []
    for number in range(1, count + 1):
        block_hash, tx_hash = "0x" + os.urandom(32).hex(), "0x" + os.urandom(32).hex()

        def log(i: int, address: str, topics: tuple[str, ...], data: str = "0x") -> IndexedLog:
            return IndexedLog(number, block_hash, tx_hash, 0, i, address, topics, data, 1000)  # noqa: B023  # used in this iteration only

        logs = [log(0, "0x" + "11" * 20, (TRANSFER, _word(number), "0x" + os.urandom(32).hex()))]
        if number % 10 == 0:
            topics = (NONCE_USED, "0x" + "00" * 12 + PAYER[2:], _word(number), _word(7))
            logs.append(log(1, PERMIT2_ADDRESS, topics))
        if number % 25 == 0:
            data = "0x" + (3).to_bytes(32, "big").hex() + (number).to_bytes(32, "big").hex()
            logs.append(log(2, DEVNET_SETTLEMENT, (BATCH_SETTLED, _word(10**6 + number)), data))
        out.append((number, block_hash, [(TxResult(tx_hash, number % 2, number, 21_000), logs)]))
    return out


def _same_answers(live: ChainIndex, resumed: ChainIndex) -> None:
    assert resumed.head == live.head
    assert (
        resumed.batch_roots() == live.batch_roots() and len(live.batch_roots()) == live.head // 25
    )
    for number in range(10, live.head + 1, 10):
        found = resumed.find_settlement(payer=PAYER.upper().replace("0X", "0x"), nonce=number)
        assert found is not None and found == live.find_settlement(payer=PAYER, nonce=number)
    for number in range(1, live.head + 1):
        block_hash = live.block_hash(number)
        assert block_hash is not None and resumed.block_hash(number) == block_hash
        assert resumed.block_number_of(block_hash.upper().replace("0X", "0x")) == number
        (log, *_) = live.logs(number, number)
        assert resumed.watch(log.tx_hash).result() == live.watch(log.tx_hash).result()
        assert resumed.logs_of(log.tx_hash) == live.logs_of(log.tx_hash)
        for position, topic in enumerate(log.topics):
            wanted = [None] * position + [frozenset([topic])]
            assert list(resumed.logs(0, resumed.head, None, wanted)) == list(
                live.logs(0, live.head, None, wanted)
            )
    everything = [frozenset([TRANSFER])]
    assert len(list(resumed.logs(0, resumed.head, None, everything))) == live.head
    assert list(resumed.logs(30, 60, {"0x" + "11" * 20}, everything)) == list(
        live.logs(30, 60, {"0x" + "11" * 20}, everything)
    )
    assert resumed.find_settlement(payer=PAYER, nonce=11) is None
    assert resumed.watch("0x" + "00" * 32).exception() is not None


def _store(
    path: Path, blocks: list[tuple[int, str, list[tuple[TxResult, list[IndexedLog]]]]]
) -> ChainIndex:
    """The blocks committed to a store at `path`, as the node does; the live index."""
    live = ChainIndex(EVENTS)
    store = ChainStore(path)
    store.commit_genesis({}, {"chain_id": "1", "code": "0x", "instance_id": "0" * 32})
    for number, block_hash, mined in blocks:
        settled = live.settled_rows(mined)
        store.commit_block(number, block_hash, mined, settled)
        live.add_block(number, block_hash, mined, settled)
    store.close()
    return live


def test_a_resumed_index_answers_from_the_store_as_the_live_one_does(tmp_path: Path) -> None:
    live = _store(tmp_path / "chain.sqlite", _blocks(300))
    store = ChainStore(tmp_path / "chain.sqlite")
    try:
        resumed = ChainIndex(EVENTS)
        resumed.resume(store, store.head())
        assert store.head() == 300 and not resumed._txs  # nothing replayed into memory
        _same_answers(live, resumed)
    finally:
        store.close()


def test_a_schema_2_store_gets_its_lookup_tables_once(tmp_path: Path) -> None:
    path = tmp_path / "chain.sqlite"
    live = _store(path, _blocks(120))
    old = ChainStore(path)  # as schema 2 left it: block rows, no lookup tables
    for table in ("txs", "topics", "nonces", "batches"):
        old._conn.execute(f"DELETE FROM {table}")
    old._conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    old.close()
    store = ChainStore(path)
    try:
        store.upgrade(ChainIndex(EVENTS).settled_rows)
        assert store.meta()["schema"] == str(SCHEMA)
        resumed = ChainIndex(EVENTS)
        resumed.resume(store, store.head())
        _same_answers(live, resumed)
    finally:
        store.close()
