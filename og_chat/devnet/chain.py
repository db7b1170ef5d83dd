"""The devnet chain: a real EVM with OPG, Permit2 and the x402 proxies at their addresses.

`Chain.start()` gives the one handle the gateway, the facilitator and the server use.
It is made of parts, each in its own module and reachable as an attribute:

* `node` (node.py): the py-evm or JSON-RPC backend, its one worker thread, the miner;
* `index` (indexer.py): every mined block's logs and tx results, and what they settled;
* `operator` (operator.py): the operator's transactions and the contract reads;
* `jsonrpc` (jsonrpc.py): the standard JSON-RPC methods over the node.

Genesis (genesis.py) places every contract and funds every test account at block 0.
The everyday calls (run a job, send a transaction, ask JSON-RPC, fund an address) are
also methods of `Chain` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .genesis import TEST_ACCOUNTS, DevAccount
from .indexer import TxResult
from .jsonrpc import JsonRpc
from .node import Node
from .operator import Operator

if TYPE_CHECKING:
    from web3 import Web3

T = TypeVar("T")


class Chain:
    """A running devnet chain: its parts, the contract addresses and the funded accounts.

    Build it with `Chain.start()`; stop it with `stop()`. Every method is safe to call
    from any thread or event loop; the EVM itself only runs on the node's worker thread.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self.index = node.index
        self.operator = Operator(node)
        self.jsonrpc = JsonRpc(node)
        self.addresses = node.addresses
        self.accounts: list[DevAccount] = list(TEST_ACCOUNTS)
        self.chain_id = node.chain_id
        self.rpc_url = node.rpc_url
        self.identity = node.identity

    @classmethod
    def start(
        cls,
        *,
        rpc_url: str | None = None,
        fund: Sequence[tuple[str, int]] = (),
        chain_id: int | None = None,
        store: Path | None = None,
    ) -> Chain:
        """Start a chain (blocking): genesis with every contract placed and every account funded.

        `rpc_url` uses that JSON-RPC node (anvil) instead of py-evm in-process. `fund`
        adds OPG (base units) to more addresses. `chain_id` runs
        py-evm as that chain (8453: a twin of Base mainnet, genesis.Addresses.for_chain);
        with `rpc_url` it must be the node's own. `store` keeps the chain in that sqlite
        file and resumes it when it exists (`fund` then applied only when it was created).
        """
        node = Node(rpc_url=rpc_url, chain_id=chain_id, store=store)
        node.boot(fund)
        return cls(node)

    def stop(self) -> None:
        """Stop the worker thread; pending waiters fail with ChainError. Idempotent."""
        self.node.stop()

    # -- the everyday calls ------------------------------------------------------------

    async def run(self, fn: Callable[[Web3], T]) -> T:
        """`Node.run`: `fn(w3)` on the chain thread, awaited."""
        return await self.node.run(fn)

    def run_sync(self, fn: Callable[[Web3], T]) -> T:
        """`Node.run_sync`: `fn(w3)` on the chain thread, blocking."""
        return self.node.run_sync(fn)

    def contract(self, name: str) -> Any:
        """The web3 contract object of a devnet contract (`OPGToken`, `Permit2`, …)."""
        return self.node.contract(name)

    def chain_time(self) -> int:
        """The timestamp the next block will carry (py-evm), or the wall clock (RPC)."""
        return self.node.chain_time()

    async def send_raw_transaction(self, raw: bytes) -> TxResult:
        """Broadcast a signed transaction and wait until it is mined (status may be 0)."""
        return await self.node.send_raw_transaction(raw)

    def send_raw_transaction_sync(self, raw: bytes) -> TxResult:
        """Blocking `send_raw_transaction`."""
        return self.node.send_raw_transaction_sync(raw)

    async def wait_for_tx(self, tx_hash: str) -> TxResult:
        """Wait until a transaction sent to this chain is mined."""
        return await self.node.wait_for_tx(tx_hash)

    def rpc(self, method: str, params: list[Any]) -> Any:
        """Answer one JSON-RPC call (hex quantities, 0x data); RpcError on failure."""
        return self.jsonrpc.call(method, params)

    async def fund(self, address: str, opg: int, eth: int = 10**18) -> None:
        """Mint `opg` OPG base units and send `eth` wei to `address` (one block)."""
        await self.operator.fund(address, opg, eth)
