"""Blocks, transactions, receipts and logs in JSON-RPC's wire shapes, built from py-evm objects.

The shapes and field order are anvil's (Prague): hex quantities, `0x` data, lower-case
addresses, `yParity` on typed transactions, a 256-byte `logsBloom` on blocks and
receipts, `blockTimestamp` on transactions and logs. web3's own formatting (through
eth-tester) is not used: it renames fields (`y_parity`), drops `logsBloom` and looks
receipts up in O(height).

py-evm's objects are untyped here (`Any`); every function only reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from og_chat.sdk.eth import keccak

ZERO_HASH = "0x" + "00" * 32
PRAGUE_BLOB_FRACTION = 5_007_716
"""EIP-7691's blob base fee update fraction (py-evm's Prague)."""
PRAGUE_MAX_BLOB_GAS = 1_179_648
"""Blob gas a Prague block may use (9 blobs)."""


def quantity(value: int) -> str:
    """A JSON-RPC quantity: minimal hex."""
    return hex(value)


def data(value: bytes) -> str:
    """JSON-RPC data: `0x` and every byte."""
    return "0x" + bytes(value).hex()


def address(value: bytes) -> str | None:
    """A 20-byte address, lower case as anvil sends it; None for an empty `to` (creation)."""
    return "0x" + bytes(value).hex() if value else None


def bloom(value: int) -> str:
    """A logs bloom: always 256 bytes, zero-padded."""
    return data(value.to_bytes(256, "big"))


def blob_base_fee(excess_blob_gas: int) -> int:
    """EIP-4844's blob base fee for a header's excess blob gas (Prague's fraction)."""
    # fake_exponential(1, excess, fraction), the EIP's integer approximation of e**(x/f).
    i, output, accumulator = 1, 0, PRAGUE_BLOB_FRACTION
    while accumulator > 0:
        output += accumulator
        accumulator = accumulator * excess_blob_gas // (PRAGUE_BLOB_FRACTION * i)
        i += 1
    return output // PRAGUE_BLOB_FRACTION


@dataclass(frozen=True)
class BlockContext:
    """Where a mined transaction sits: what its wire object repeats of its block."""

    block_hash: str
    number: int
    timestamp: int
    base_fee: int
    blob_base_fee: int

    @classmethod
    def of(cls, header: Any) -> BlockContext:
        """The context of a mined block's header."""
        return cls(
            block_hash=data(header.hash),
            number=int(header.block_number),
            timestamp=int(header.timestamp),
            base_fee=int(header.base_fee_per_gas),
            blob_base_fee=blob_base_fee(int(header.excess_blob_gas)),
        )


def tx_type(tx: Any) -> int:
    """0 for legacy transactions, else the EIP-2718 type."""
    return int(tx.type_id) if tx.type_id is not None else 0


def effective_gas_price(tx: Any, base_fee: int) -> int:
    """What one unit of gas costs the sender in a block with `base_fee`."""
    if tx_type(tx) < 2:
        return int(tx.gas_price)
    return min(int(tx.max_fee_per_gas), base_fee + int(tx.max_priority_fee_per_gas))


def _access_list(tx: Any) -> list[dict[str, Any]]:
    return [
        {
            "address": address(entry[0]),
            "storageKeys": [data(s.to_bytes(32, "big")) for s in entry[1]],
        }
        for entry in tx.access_list
    ]


def transaction(tx: Any, where: BlockContext | None, index: int | None) -> dict[str, Any]:
    """A transaction object (`eth_getTransactionByHash`), mined (`where`) or pending."""
    kind = tx_type(tx)
    out: dict[str, Any] = {"type": quantity(kind)}
    if tx.chain_id is not None:
        out["chainId"] = quantity(int(tx.chain_id))
    out["nonce"] = quantity(int(tx.nonce))
    if kind < 2:
        out["gasPrice"] = quantity(int(tx.gas_price))
    out["gas"] = quantity(int(tx.gas))
    if kind >= 2:
        out["maxFeePerGas"] = quantity(int(tx.max_fee_per_gas))
        out["maxPriorityFeePerGas"] = quantity(int(tx.max_priority_fee_per_gas))
    if kind == 3:
        out["maxFeePerBlobGas"] = quantity(int(tx.max_fee_per_blob_gas))
    out["to"] = address(tx.to)
    out["value"] = quantity(int(tx.value))
    if kind >= 1:
        out["accessList"] = _access_list(tx)
    if kind == 3:
        out["blobVersionedHashes"] = [data(h) for h in tx.blob_versioned_hashes]
    if kind == 4:
        out["authorizationList"] = [
            {
                "chainId": quantity(int(a.chain_id)),
                "address": address(a.address),
                "nonce": quantity(int(a.nonce)),
                "yParity": quantity(int(a.y_parity)),
                "r": quantity(int(a.r)),
                "s": quantity(int(a.s)),
            }
            for a in tx.authorization_list
        ]
    out["input"] = data(tx.data)
    out["r"] = quantity(int(tx.r))
    out["s"] = quantity(int(tx.s))
    if kind >= 1:
        out["yParity"] = quantity(int(tx.y_parity))
        out["v"] = quantity(int(tx.y_parity))
    else:
        out["v"] = quantity(int(tx.v))
    out["hash"] = data(tx.hash)
    out["blockHash"] = where.block_hash if where else None
    out["blockNumber"] = quantity(where.number) if where else None
    out["transactionIndex"] = quantity(index) if where and index is not None else None
    out["from"] = address(tx.sender)
    if kind >= 2:
        fee = effective_gas_price(tx, where.base_fee) if where else int(tx.max_fee_per_gas)
        out["gasPrice"] = quantity(fee)
    out["blockTimestamp"] = quantity(where.timestamp) if where else None
    return out


def log_entry(
    log: Any, *, where: BlockContext, tx_hash: str, tx_index: int, log_index: int
) -> dict[str, Any]:
    """A log object as receipts and `eth_getLogs` carry it."""
    return {
        "address": address(log.address),
        "topics": [data(t.to_bytes(32, "big")) for t in log.topics],
        "data": data(log.data),
        "blockHash": where.block_hash,
        "blockNumber": quantity(where.number),
        "blockTimestamp": quantity(where.timestamp),
        "transactionHash": tx_hash,
        "transactionIndex": quantity(tx_index),
        "logIndex": quantity(log_index),
        "removed": False,
    }


def receipts(block: Any, chaindb: Any) -> list[dict[str, Any]]:
    """Every receipt of a mined block, in order (`eth_getBlockReceipts`)."""
    where = BlockContext.of(block.header)
    out = []
    previous_gas = 0
    log_index = 0
    for index, (tx, receipt) in enumerate(
        zip(block.transactions, block.get_receipts(chaindb), strict=True)
    ):
        tx_hash = data(tx.hash)
        logs = []
        for log in receipt.logs:
            logs.append(
                log_entry(log, where=where, tx_hash=tx_hash, tx_index=index, log_index=log_index)
            )
            log_index += 1
        created = None
        if not tx.to:
            created = address(keccak(_rlp_sender_nonce(tx.sender, int(tx.nonce)))[12:])
        out.append(
            {
                "type": quantity(tx_type(tx)),
                "status": quantity(1 if receipt.state_root == b"\x01" else 0),
                "cumulativeGasUsed": quantity(int(receipt.gas_used)),
                "logs": logs,
                "logsBloom": bloom(int(receipt.bloom)),
                "transactionHash": tx_hash,
                "transactionIndex": quantity(index),
                "blockHash": where.block_hash,
                "blockNumber": quantity(where.number),
                "gasUsed": quantity(int(receipt.gas_used) - previous_gas),
                "effectiveGasPrice": quantity(effective_gas_price(tx, where.base_fee)),
                "blobGasPrice": quantity(where.blob_base_fee),
                "from": address(tx.sender),
                "to": address(tx.to),
                "contractAddress": created,
                "blockTimestamp": quantity(where.timestamp),
            }
        )
        previous_gas = int(receipt.gas_used)
    return out


def _int_quantity(value: Any) -> str:
    return quantity(int(value))


def _int_bloom(value: Any) -> str:
    return bloom(int(value))


_HEADER_FIELDS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("parentHash", "parent_hash", data),
    ("sha3Uncles", "uncles_hash", data),
    ("miner", "coinbase", data),
    ("stateRoot", "state_root", data),
    ("transactionsRoot", "transaction_root", data),
    ("receiptsRoot", "receipt_root", data),
    ("logsBloom", "bloom", _int_bloom),
    ("difficulty", "difficulty", _int_quantity),
    ("number", "block_number", _int_quantity),
    ("gasLimit", "gas_limit", _int_quantity),
    ("gasUsed", "gas_used", _int_quantity),
    ("timestamp", "timestamp", _int_quantity),
    ("extraData", "extra_data", data),
    ("mixHash", "mix_hash", data),
    ("nonce", "nonce", data),
    ("baseFeePerGas", "base_fee_per_gas", _int_quantity),
    ("withdrawalsRoot", "withdrawals_root", data),
    ("blobGasUsed", "blob_gas_used", _int_quantity),
    ("excessBlobGas", "excess_blob_gas", _int_quantity),
    ("parentBeaconBlockRoot", "parent_beacon_block_root", data),
    ("requestsHash", "requests_hash", data),
)
"""A block header's fields in anvil's order: (JSON name, py-evm attribute, encoding)."""


def block(block: Any, *, full: bool, size: int) -> dict[str, Any]:
    """A block object (`eth_getBlockByNumber`); `full` puts transaction objects in it."""
    h = block.header
    where = BlockContext.of(h)
    txs: list[Any] = (
        [transaction(tx, where, i) for i, tx in enumerate(block.transactions)]
        if full
        else [data(tx.hash) for tx in block.transactions]
    )
    out: dict[str, Any] = {"hash": where.block_hash}
    for name, attribute, encode in _HEADER_FIELDS:
        out[name] = encode(getattr(h, attribute))
    return {
        **out,
        "totalDifficulty": quantity(0),
        "size": quantity(size),
        "uncles": [],
        "transactions": txs,
        "withdrawals": [],
    }


def _rlp_sender_nonce(sender: bytes, nonce: int) -> bytes:
    """rlp([sender, nonce]): what a CREATE address is the keccak of."""
    import rlp

    return bytes(rlp.encode([bytes(sender), nonce]))
