"""JSON-RPC filters track changes for real, and their number and lifetime are bounded."""

from __future__ import annotations

import os
import time

import pytest

from og_chat.devnet.chain import Chain
from og_chat.devnet.chain_errors import RpcError
from og_chat.devnet.indexer import TxResult
from og_chat.devnet.rpc_filters import FILTER_IDLE, MAX_FILTERS


async def post_one_leaf(chain: Chain) -> TxResult:
    """A batch root over one random (call id, leaf): a block with two settlement logs."""
    leaf = os.urandom(32)
    return await chain.operator.post_batch_root(leaf, [("0x" + os.urandom(32).hex(), leaf)])


async def test_each_filter_reports_what_happened_since_its_last_poll(chain: Chain) -> None:
    settlement = chain.addresses.settlement
    blocks = chain.rpc("eth_newBlockFilter", [])
    pending = chain.rpc("eth_newPendingTransactionFilter", [])
    logs = chain.rpc("eth_newFilter", [{"address": settlement}])
    first, second = [await post_one_leaf(chain) for _ in range(2)]

    block_hashes = chain.rpc("eth_getFilterChanges", [blocks])
    mined = [
        chain.rpc("eth_getBlockByNumber", [hex(r.block_number), False])["hash"]
        for r in (first, second)
    ]
    assert block_hashes == mined
    assert chain.rpc("eth_getFilterChanges", [pending]) == [first.tx_hash, second.tx_hash]
    entries = chain.rpc("eth_getFilterChanges", [logs])  # each post: BatchLeaf, BatchSettled
    assert [e["transactionHash"] for e in entries] == [first.tx_hash] * 2 + [second.tx_hash] * 2
    for f in (blocks, pending, logs):
        assert chain.rpc("eth_getFilterChanges", [f]) == []
    # getFilterLogs reads the criteria now: `latest` (no fromBlock) is the head alone.
    assert [e["transactionHash"] for e in chain.rpc("eth_getFilterLogs", [logs])] == [
        second.tx_hash
    ] * 2

    # A filter over past blocks reports them on its first poll, then only what is new.
    history = chain.rpc("eth_newFilter", [{"address": settlement, "fromBlock": "0x0"}])
    assert len(chain.rpc("eth_getFilterChanges", [history])) >= 2
    assert chain.rpc("eth_getFilterChanges", [history]) == []
    assert len(chain.rpc("eth_getFilterLogs", [history])) >= 2


def test_filters_are_bounded_in_number_and_dropped_when_idle(chain: Chain) -> None:
    book = chain.jsonrpc.filters
    made = [chain.rpc("eth_newBlockFilter", []) for _ in range(MAX_FILTERS - len(book._filters))]
    with pytest.raises(RpcError) as info:
        chain.rpc("eth_newBlockFilter", [])
    assert info.value.code == -32000 and "too many filters" in info.value.message
    assert chain.rpc("eth_uninstallFilter", [made.pop()]) is True
    made.append(chain.rpc("eth_newBlockFilter", []))

    # Not polled for FILTER_IDLE seconds: gone, as anvil drops them.
    for filter_id in [f for f in book._filters if f != made[-1]]:
        book._filters[filter_id].polled = time.monotonic() - FILTER_IDLE - 1
    assert chain.rpc("eth_getFilterChanges", [made[-1]]) == []
    with pytest.raises(RpcError) as gone:
        chain.rpc("eth_getFilterChanges", [made[0]])
    assert gone.value.message == "filter not found"
    assert len(book._filters) == 1
