"""What the JSON-RPC reads from the py-evm chain: blocks, transactions, receipts, state, proofs, fees.

Read straight from py-evm's chain database, not through eth-tester: a transaction is
found by its hash in O(1) (py-evm keeps the lookup; eth-tester scans every block), and
the answers keep every field anvil sends (rpc_wire.py). State is read at any block
(after it was sealed), or on the pending block, which holds transactions not mined yet.

Worker thread only, py-evm backend only.
"""

from __future__ import annotations

from typing import Any

from og_chat.sdk.eth import from_hex, keccak

from . import rpc_wire as wire
from .chain_errors import RpcError
from .node import Node
from .rpc_params import BlockRef

EMPTY_TRIE = keccak(bytes.fromhex("80"))
"""The root of an empty Merkle-Patricia trie (an account without storage)."""
MAX_FEE_HISTORY = 1024
"""Blocks one `eth_feeHistory` answers at most (geth's and anvil's limit)."""


class ChainReads:
    """Reads of the py-evm chain behind a node, shaped for JSON-RPC."""

    def __init__(self, node: Node) -> None:
        self.node = node

    @property
    def chain(self) -> Any:
        """py-evm's MiningChain (untyped upstream)."""
        return self.node.pyevm.chain

    # -- blocks ----------------------------------------------------------------------

    def head(self) -> int:
        """The number of the latest sealed block."""
        return int(self.chain.get_canonical_head().block_number)

    def header(self, ref: BlockRef) -> Any | None:
        """The header a block parameter names (`pending`: the block being filled), or None."""
        chain = self.chain
        if ref == "pending":
            return chain.header
        if isinstance(ref, str) and ref.startswith("hash:"):
            try:
                header = chain.chaindb.get_block_header_by_hash(from_hex(ref[5:]))
            except Exception:
                return None
            canonical = self._canonical_hash(int(header.block_number))
            return header if canonical == header.hash else None
        number = self.number(ref)
        if number > self.head():
            return None
        return chain.chaindb.get_canonical_block_header_by_number(number)

    def number(self, ref: BlockRef) -> int:
        """A block parameter as a number (`pending` is the head + 1)."""
        if isinstance(ref, int):
            return ref
        if ref == "earliest":
            return 0
        if ref == "pending":
            return self.head() + 1
        if ref in ("safe", "finalized"):
            # As anvil: a dev chain's safe head is 32 blocks back, its finalized one 64.
            return max(0, self.head() - (32 if ref == "safe" else 64))
        if ref.startswith("hash:"):
            header = self.header(ref)
            if header is None:
                raise RpcError(-32001, f"block {ref[5:]} not found")
            return int(header.block_number)
        return self.head()

    def state_block(self, ref: BlockRef) -> int | str:
        """A block parameter for a state read or a call: a sealed number or `pending`.

        An unknown block is anvil's -32602 (by number) or -32001 (by hash).
        """
        if ref == "pending":
            return "pending"
        if isinstance(ref, str) and ref.startswith("hash:"):
            header = self.header(ref)
            if header is None:
                raise RpcError(-32001, f"block {ref[5:]} not found")
            return int(header.block_number)
        number = self.number(ref)
        head = self.head()
        if number > head:
            raise RpcError(
                -32602, f"BlockOutOfRangeError: block height is {head} but requested was {number}"
            )
        return number

    def block(self, ref: BlockRef) -> Any | None:
        """The block a parameter names (`pending`: the one being filled), or None."""
        if ref == "pending":
            return self.chain.get_block()
        header = self.header(ref)
        if header is None:
            return None
        return self.chain.get_block_by_header(header)

    def block_json(self, ref: BlockRef, full: bool) -> dict[str, Any] | None:
        """`eth_getBlockBy*`."""
        import rlp

        found = self.block(ref)
        if found is None:
            return None
        return wire.block(found, full=full, size=len(rlp.encode(found)))

    def receipts_json(self, ref: BlockRef) -> list[dict[str, Any]] | None:
        """`eth_getBlockReceipts` (a pending block has none yet)."""
        found = None if ref == "pending" else self.block(ref)
        return None if found is None else wire.receipts(found, self.chain.chaindb)

    def tx_count(self, ref: BlockRef) -> str | None:
        """`eth_getBlockTransactionCountBy*`: None for an unknown hash, anvil's -32602 for a
        number past the head."""
        if isinstance(ref, int):
            self.state_block(ref)
        found = self.block(ref)
        return None if found is None else wire.quantity(len(found.transactions))

    def uncle_count(self, ref: BlockRef) -> str:
        """`eth_getUncleCountBy*`: always 0 (proof-of-stake); anvil's -32001 for no such block."""
        if self.block(ref) is None:
            raise RpcError(-32001, "Resource not found")
        return wire.quantity(0)

    def tx_at(self, ref: BlockRef, index: int) -> dict[str, Any] | None:
        """`eth_getTransactionByBlock*AndIndex`."""
        found = self.block(ref)
        if found is None or index >= len(found.transactions):
            return None
        return wire.transaction(
            found.transactions[index], wire.BlockContext.of(found.header), index
        )

    # -- transactions -----------------------------------------------------------------

    def tx_json(self, tx_hash: str) -> dict[str, Any] | None:
        """`eth_getTransactionByHash`: mined, pending, or None."""
        located = self._locate(tx_hash)
        if located is not None:
            found, index = located
            return wire.transaction(
                found.transactions[index], wire.BlockContext.of(found.header), index
            )
        wanted = from_hex(tx_hash)
        for tx in self.chain.get_block().transactions:
            if tx.hash == wanted:
                return wire.transaction(tx, None, None)
        return None

    def receipt_json(self, tx_hash: str) -> dict[str, Any] | None:
        """`eth_getTransactionReceipt`: None until the transaction is mined."""
        located = self._locate(tx_hash)
        if located is None:
            return None
        found, index = located
        return wire.receipts(found, self.chain.chaindb)[index]

    def _locate(self, tx_hash: str) -> tuple[Any, int] | None:
        chain = self.chain
        try:
            number, index = chain.chaindb.get_transaction_index(from_hex(tx_hash))
        except Exception:  # TransactionNotFound
            return None
        if number > self.head():
            return None
        return chain.get_canonical_block_by_number(number), int(index)

    def _canonical_hash(self, number: int) -> bytes | None:
        try:
            return bytes(self.chain.chaindb.get_canonical_block_hash(number))
        except Exception:
            return None

    # -- state ------------------------------------------------------------------------

    def state(self, ref: BlockRef) -> Any:
        """py-evm's state after the block a parameter names (or the pending state)."""
        from eth_tester.backends.pyevm.main import _get_vm_for_block_number

        return _get_vm_for_block_number(self.chain, self.state_block(ref)).state

    def _state_root(self, ref: BlockRef) -> bytes:
        number = self.state_block(ref)
        header = self.chain.header if number == "pending" else self.header(int(number))
        if header is None:
            raise RpcError(-32001, "Resource not found")
        return bytes(header.state_root)

    def account(self, address: str, ref: BlockRef) -> dict[str, Any]:
        """`eth_getAccount`: nonce, balance, storage root and code hash, from the state trie."""
        nonce, balance, storage_root, code_hash = self._account_fields(
            self._state_root(ref), from_hex(address)
        )
        return {
            "nonce": wire.quantity(nonce),
            "balance": wire.quantity(balance),
            "storageRoot": wire.data(storage_root),
            "codeHash": wire.data(code_hash),
        }

    def _account_fields(self, state_root: bytes, raw: bytes) -> tuple[int, int, bytes, bytes]:
        import rlp
        from trie.hexary import HexaryTrie

        encoded = HexaryTrie(self.chain.chaindb.db, state_root).get(keccak(raw))
        if not encoded:
            return 0, 0, EMPTY_TRIE, keccak(b"")
        nonce, balance, storage_root, code_hash = rlp.decode(encoded)
        return (
            int.from_bytes(nonce, "big"),
            int.from_bytes(balance, "big"),
            bytes(storage_root),
            bytes(code_hash),
        )

    def proof(self, address: str, slots: list[str], ref: BlockRef) -> dict[str, Any]:
        """`eth_getProof` (EIP-1186): the account's and each slot's Merkle-Patricia proof."""
        import rlp
        from trie.hexary import HexaryTrie

        state_root = self._state_root(ref)
        db = self.chain.chaindb.db
        raw = from_hex(address)
        nonce, balance, storage_root, code_hash = self._account_fields(state_root, raw)
        storage: Any = HexaryTrie(db, storage_root)
        accounts: Any = HexaryTrie(db, state_root)

        def encoded(nodes: Any) -> list[str]:
            # Nodes shorter than 32 bytes are embedded in their parent, not listed apart.
            out = [rlp.encode(n) for n in nodes]
            return [wire.data(e) for i, e in enumerate(out) if i == 0 or len(e) >= 32]

        def slot_value(slot: str) -> int:
            value = storage.get(keccak(from_hex(slot)))
            return int.from_bytes(rlp.decode(value), "big") if value else 0

        return {
            "address": address,
            "balance": wire.quantity(balance),
            "codeHash": wire.data(code_hash),
            "nonce": wire.quantity(nonce),
            "storageHash": wire.data(storage_root),
            "accountProof": encoded(accounts.get_proof(keccak(raw))),
            "storageProof": [
                {
                    "key": slot,
                    "value": wire.quantity(slot_value(slot)),
                    "proof": encoded(storage.get_proof(keccak(from_hex(slot)))),
                }
                for slot in slots
            ],
        }

    # -- fees -------------------------------------------------------------------------

    def next_base_fee(self) -> int:
        """The base fee of the block being filled."""
        return int(self.chain.header.base_fee_per_gas)

    def fee_history(self, count: int, newest: BlockRef, percentiles: list[float]) -> dict[str, Any]:
        """`eth_feeHistory`, oldest block first: base fees (one more than blocks: the next
        block's), gas used ratios, blob fees, and each block's priority fee percentiles."""
        head = self.head()
        last = min(self.number(newest), head)
        count = min(count, MAX_FEE_HISTORY, last + 1)
        oldest = last - count + 1
        headers = [
            self.chain.chaindb.get_canonical_block_header_by_number(n)
            for n in range(oldest, last + 1)
        ]
        following = (
            self.chain.header
            if last == head
            else self.chain.chaindb.get_canonical_block_header_by_number(last + 1)
        )
        out: dict[str, Any] = {
            "baseFeePerGas": [
                wire.quantity(int(h.base_fee_per_gas)) for h in (*headers, following)
            ],
            "gasUsedRatio": [int(h.gas_used) / int(h.gas_limit) for h in headers],
            "baseFeePerBlobGas": [
                wire.quantity(wire.blob_base_fee(int(h.excess_blob_gas)))
                for h in (*headers, following)
            ],
            "blobGasUsedRatio": [int(h.blob_gas_used) / wire.PRAGUE_MAX_BLOB_GAS for h in headers],
            "oldestBlock": wire.quantity(oldest),
            "reward": [],
        }
        if percentiles:
            out["reward"] = [self._rewards(h, percentiles) for h in headers]
        return out

    def _rewards(self, header: Any, percentiles: list[float]) -> list[str]:
        """The priority fee paid at each percentile of the block's gas (geth's method)."""
        found = self.chain.get_block_by_header(header)
        if not found.transactions:
            return [wire.quantity(0) for _ in percentiles]
        base = int(header.base_fee_per_gas)
        used, previous = [], 0
        for receipt in found.get_receipts(self.chain.chaindb):
            used.append(int(receipt.gas_used) - previous)
            previous = int(receipt.gas_used)
        tips = sorted(
            (wire.effective_gas_price(tx, base) - base, gas)
            for tx, gas in zip(found.transactions, used, strict=True)
        )
        out, index, cumulative = [], 0, tips[0][1]
        for p in percentiles:
            threshold = int(header.gas_used) * p / 100
            while cumulative < threshold and index < len(tips) - 1:
                index += 1
                cumulative += tips[index][1]
            out.append(wire.quantity(tips[index][0]))
        return out
