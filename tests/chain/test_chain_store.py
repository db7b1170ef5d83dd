"""The chain's sqlite key-value store keeps py-evm's semantics through its cache and buffer."""

from __future__ import annotations

from pathlib import Path

import pytest

from og_chat.devnet import chain_store
from og_chat.devnet.chain import Chain
from og_chat.devnet.chain_store import ChainStore
from og_chat.devnet.indexer import IndexedLog, TxResult


def test_reads_see_buffered_writes_and_deletes_even_past_the_cache_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chain_store, "CACHE_BYTES", 3 * (chain_store.ENTRY_OVERHEAD + 3))
    store = ChainStore(tmp_path / "chain.sqlite")
    kv = store.kv
    kv[b"a"] = b"1"
    store.commit_block(1, "0x01", [])
    del kv[b"a"]  # deleted, not flushed yet
    for i in range(10):  # the cache starts over several times
        kv[bytes([i])] = bytes([i]) * 2
    assert b"a" not in kv
    with pytest.raises(KeyError):
        kv[b"a"]
    assert kv[bytes([0])] == b"\x00\x00"  # buffered, no longer cached
    store.close()

    again = ChainStore(tmp_path / "chain.sqlite")  # close() wrote the buffer
    assert b"a" not in again.kv and again.kv[bytes([9])] == b"\t\t"
    again.close()


def test_a_blocks_index_rows_come_back_as_they_went_in(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "chain.sqlite")
    log = IndexedLog(7, "0xbb", "0xaa", 0, 3, "0xAbC", ("0x01", "0x02"), "0x1234", 1_700_000_000)
    mined = [(TxResult("0xaa", 1, 7, 21_000), [log]), (TxResult("0xcc", 0, 7, 30_000), [])]
    store.keep_pending("0xAA", b"raw-a")
    store.keep_pending("0xdd", b"raw-d")
    store.commit_block(7, "0xbb", mined)
    assert list(store.blocks()) == [(7, "0xbb", mined)]
    assert store.block_logs(7) == [log] and store.block_logs(8) == []  # read back one block
    assert store.pending() == [b"raw-d"]  # mined ones leave the kept mempool with their block
    store.close()


def test_a_chain_not_kept_lives_in_a_scratch_store_removed_at_stop() -> None:
    chain = Chain.start()
    store = chain.node._store
    assert store is not None and store.path.exists()  # not py-evm's MemoryDB
    assert not chain.identity.persistent
    chain.stop()
    assert not store.path.parent.exists()
