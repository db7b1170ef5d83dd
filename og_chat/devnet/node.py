"""The devnet's EVM node: a py-evm (or JSON-RPC) backend, its one worker thread, its miner.

The default backend is py-evm in-process; `rpc_url=` uses any JSON-RPC node instead
(anvil: genesis is written with `anvil_setCode` / `anvil_setStorageAt`).

py-evm is neither thread-safe nor fast, so all chain access runs on ONE worker thread;
`run()` / `run_sync()` hand a function `(Web3) -> T` to it. Two py-evm pitfalls are
designed around (see reference/devnet-chain.md):

* Timestamps: py-evm wants every block a second later than its parent, which runs the
  chain clock ahead of the wall clock under load. The devnet's VM (evm_rules.py) lets
  blocks share a second, as anvil's do, so a block carries the wall clock. Transactions
  sent through this class are batched: the block is sealed by a job queued behind
  whatever already waits for the worker, so concurrent senders share it. An idle
  chain's pending block is re-stamped to the wall clock before use.
* `eth_getLogs` from block 0 is O(N²) on eth-tester: every sealed block is handed to
  the `ChainIndex` instead (indexer.py), which answers log queries.

With a `store` path the chain is kept on disk (chain_store.py): py-evm's key-value store
on sqlite, written one transaction per sealed block together with the block's index
rows, and a restart resumes from the stored canonical head instead of a new genesis.
Stopping seals the pending block first, so nothing sent is lost. A chain that is not
kept lives in the same kind of store, in a scratch file removed at stop: py-evm's own
`MemoryDB` would keep every trie node, block and receipt in a dict for the chain's life
(≈ 1 kB per paid call), where the store's memory is its bounded cache.

The py-evm objects (`PyEVMBackend`, its `chain`) are untyped and stay behind
`self._pyevm`; web3's stubs want types the devnet never has at hand, so `w3` calls go
through `checksum()` addresses and `Any`-typed call arguments.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from og_chat.sdk.addresses import DEVNET_KEYS, DEVNET_OPERATOR, DEVNET_OPERATOR_KEY, ZERO_ADDRESS
from og_chat.sdk.errors import ChainError, ConfigurationError
from og_chat.sdk.eth import checksum, from_hex, hex0x, keccak, web3_http

from .chain_errors import ChainRevert as ChainRevert, RpcError as RpcError
from .chain_store import SCHEMA, UPGRADABLE, ChainStore, MinedRows
from .contracts import CONTRACT_NAMES, EventTable, abi, artifact
from .evm_call import CallRequest, execute
from .evm_rules import devnet_vm, forget_memos
from .genesis import DEVNET_CHAIN_ID, Addresses, genesis_alloc
from .indexer import ChainIndex, IndexedLog, TxResult

if TYPE_CHECKING:
    from web3 import Web3

T = TypeVar("T")

MAX_FEE_PER_GAS = 50 * 10**9
PRIORITY_FEE_PER_GAS = 10**9
RECEIPT_TIMEOUT = 30.0
CALL_GAS = 2_000_000
SHARED_TEXTS = 4096
"""Addresses and event topics kept as shared strings for the index's logs (`_shared_text`)."""
"""Gas of a `simulate()` call unless the caller says otherwise."""
BlockId = int | str
"""A block number or a tag (`latest`, `pending`, `earliest`, `safe`, `finalized`)."""


class StateMismatch(ConfigurationError):
    """A stored chain was made for other contracts or another chain id: it cannot be resumed."""

    hint = "start over with `og-chat devnet --state DIR --fresh` (the old chain is then gone)"


@dataclass(frozen=True)
class ChainIdentity:
    """Which chain this is: a receipt records it, so a verifier can tell a reset from tampering.

    The genesis hash alone is not enough (two devnets started in the same second with the
    same accounts have the same block 0); the instance id is random, made at the chain's
    first start and kept with its state.
    """

    genesis_hash: str
    instance_id: str
    """32 hex digits; new for every chain that is not kept."""
    persistent: bool
    """True when the chain is kept on disk (`--state DIR`, the embedded devnet)."""
    resumed: bool
    """True when this start continued a stored chain."""


class Node:
    """A running EVM with the devnet's genesis, its worker thread and its block index.

    Build it with `Node(...)` and `boot()` (Chain.start does both); stop it with `stop()`.
    All methods are safe to call from any thread or event loop; the EVM itself only runs
    on the worker thread.
    """

    chain_id: int

    def __init__(
        self, *, rpc_url: str | None, chain_id: int | None = None, store: Path | None = None
    ) -> None:
        # The constructor only sets fields; boot() starts the EVM.
        if store is not None and rpc_url is not None:
            raise ConfigurationError(
                "a chain at --rpc-url keeps its own state",
                hint="use the node's own persistence (e.g. `anvil --state`), not --state",
            )
        self.rpc_url = rpc_url
        self.store_path = store
        self._store: ChainStore | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        """The directory of a chain that is not kept (py-evm only), removed at stop."""
        self.identity: ChainIdentity
        self.requested_chain_id = chain_id
        """The chain id asked for (None: py-evm's DEVNET_CHAIN_ID, or whatever the RPC serves)."""
        self.addresses = Addresses.for_chain(chain_id or DEVNET_CHAIN_ID)
        self.events = EventTable()
        self.index = ChainIndex(self.events, opg=self.addresses.opg)
        self._executor = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="og-devnet-chain")
        self._worker: threading.Thread | None = None
        self._stopped = False
        self._w3: Web3 | None = None
        self._pyevm: Any = None
        """eth-tester's PyEVMBackend (None on the JSON-RPC backend); untyped upstream."""
        self._tester: Any = None
        self._contracts: dict[str, Any] = {}
        self._mine_scheduled = False
        self._shared: dict[bytes, str] = {}
        """Emitting addresses and event topics (topic 0) as one string each (see `_index_block`)."""

    # -- lifecycle -----------------------------------------------------------------

    def boot(self, fund: Sequence[tuple[str, int]] = ()) -> None:
        """Blocking: genesis with every contract placed and every account funded (`fund`: more OPG)."""
        try:
            self._executor.submit(self._boot, list(fund)).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    def _boot(self, fund: list[tuple[str, int]]) -> None:
        self._worker = threading.current_thread()
        try:
            w3 = (
                self._boot_pyevm(fund)
                if self.rpc_url is None
                else self._boot_rpc(self.rpc_url, fund)
            )
        except BaseException:
            self._close_store()
            raise
        self._w3 = w3
        for name, address in self.addresses.by_contract().items():
            self._contracts[name] = self.eth.contract(address=address, abi=abi(name))

    def _boot_pyevm(self, fund: list[tuple[str, int]]) -> Web3:
        from eth_keys.main import KeyAPI
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider, Web3

        alloc = genesis_alloc(fund, self.addresses)
        state = {from_hex(address): account for address, account in alloc.items()}
        backend = PyEVMBackend(genesis_state=state, vm_configuration=((0, devnet_vm()),))
        self.chain_id = self.requested_chain_id or DEVNET_CHAIN_ID
        _set_chain_id(backend, self.chain_id)
        keys = KeyAPI()
        backend.account_keys = tuple(
            keys.PrivateKey(from_hex(k)) for k in (*DEVNET_KEYS, DEVNET_OPERATOR_KEY)
        )
        self._pyevm = backend
        self.identity = self._attach_store(backend)
        self._tester = EthereumTester(backend=backend, auto_mine_transactions=True)
        if self._store is not None:
            for raw in self._store.pending():  # accepted before a kill: same hashes
                try:
                    self.queue_raw(raw)
                except RpcError:  # no longer valid (its nonce was used meanwhile)
                    self._store.forget_pending(hex0x(keccak(raw)))
        return Web3(EthereumTesterProvider(ethereum_tester=self._tester))

    def _new_identity(self, resumed: bool = False, instance_id: str = "") -> ChainIdentity:
        genesis = self._pyevm.chain.get_canonical_block_header_by_number(0)
        return ChainIdentity(
            genesis_hash=hex0x(genesis.hash),
            instance_id=instance_id or os.urandom(16).hex(),
            persistent=self.store_path is not None,
            resumed=resumed,
        )

    def _attach_store(self, backend: Any) -> ChainIdentity:
        """Put the chain on disk: store the genesis just built, or resume the stored chain.

        The backend's in-memory chain is built first either way (≈ 30 ms), so the chain
        class (its VM rules, its chain id) and genesis are the ones a fresh start makes;
        only its database is swapped for the stored one, and the chain resumes from the
        stored canonical head. A chain that is not kept gets a scratch file.
        """
        from eth.db.atomic import AtomicDB

        path = self.store_path
        if path is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="og-devnet-chain-")
            path = Path(self._scratch.name) / "chain.sqlite"
        store = self._store = ChainStore(path)
        self.index.stored = store  # older blocks' logs are read back, not kept
        chain = backend.chain
        expected = {"chain_id": str(int(chain.chain_id)), "code": code_digest()}
        resumed = not store.is_empty()
        if resumed:
            meta = store.meta()
            wrong = [k for k, v in expected.items() if meta.get(k) != v]
            if meta.get("schema") not in (str(SCHEMA), *map(str, UPGRADABLE)):
                wrong.append("schema")
            if wrong:
                raise StateMismatch(
                    f"the chain stored in {path.parent} was made with another "
                    f"{' and '.join(wrong)} than this og-chat's devnet"
                )
            instance_id = meta["instance_id"]
        else:
            instance_id = os.urandom(16).hex()
            # eth-tester builds its genesis in an AtomicDB over a MemoryDB: copy that.
            genesis = dict(chain.chaindb.db.wrapped_db.kv_store)
            store.commit_genesis(genesis, {**expected, "instance_id": instance_id})
        backend.chain = type(chain)(AtomicDB(store.kv))  # type: ignore[arg-type]  # duck-typed
        if resumed:  # the stored blocks are looked up in the store when asked, not replayed
            store.upgrade(self.index.settled_rows)
            self.index.resume(store, store.head())
        return self._new_identity(resumed, instance_id)

    def _boot_rpc(self, url: str, fund: list[tuple[str, int]]) -> Web3:
        w3 = web3_http(url, timeout=30)
        self.chain_id = int(w3.eth.chain_id)
        wanted = self.requested_chain_id
        if wanted is not None and wanted != self.chain_id:
            raise ChainError(
                f"the node at {url} serves chain {self.chain_id}, not {wanted}",
                hint=f"start it with that chain id (anvil --chain-id {wanted})",
            )
        request: Any = w3.provider.make_request
        for address, account in genesis_alloc(fund, self.addresses).items():
            request("anvil_setBalance", [address, hex(account["balance"])])
            request("anvil_setNonce", [address, hex(account["nonce"])])
            if account["code"]:
                request("anvil_setCode", [address, hex0x(account["code"])])
            for slot, value in account["storage"].items():
                request(
                    "anvil_setStorageAt", [address, hex(slot), hex0x(value.to_bytes(32, "big"))]
                )
        self.index.head = int(w3.eth.block_number)
        genesis = w3.eth.get_block(0)
        self.identity = ChainIdentity(
            genesis_hash=hex0x(genesis["hash"]),
            instance_id=os.urandom(16).hex(),
            persistent=False,
            resumed=False,
        )
        return w3

    def stop(self) -> None:
        """Seal what is pending, close the store, stop the worker thread. Idempotent.

        Jobs already queued run first; waiters still pending after that fail with ChainError.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._pyevm is not None:
            with contextlib.suppress(RuntimeError, cf.TimeoutError):  # shut down already
                self._executor.submit(self._seal_and_close).result(timeout=RECEIPT_TIMEOUT)
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.index.fail_waiters(
            ChainError("the devnet chain stopped before the transaction was mined")
        )

    @property
    def pyevm(self) -> Any:
        """eth-tester's PyEVMBackend, for the JSON-RPC's direct reads (worker thread only).

        None on the JSON-RPC backend. Untyped upstream, hence `Any`.
        """
        return self._pyevm

    @property
    def is_pyevm(self) -> bool:
        """True for the in-process py-evm backend, False for a JSON-RPC node."""
        return self._pyevm is not None

    # -- worker access ---------------------------------------------------------------

    def on_worker(self) -> bool:
        """True on the chain's worker thread (where a job may touch the EVM directly)."""
        return threading.current_thread() is self._worker

    def submit(self, fn: Callable[[], T]) -> cf.Future[T]:
        """Queue `fn()` on the worker thread; the future holds its result."""
        if self._stopped:
            raise ChainError("the devnet chain is stopped", hint="start a new Chain")
        return self._executor.submit(self._job, fn)

    def _job(self, fn: Callable[[], T]) -> T:
        self._refresh_pending_timestamp()
        try:
            return fn()
        finally:
            self._after_job()

    async def run(self, fn: Callable[[Web3], T]) -> T:
        """Run `fn(w3)` on the chain thread; awaitable from any event loop.

        Inside `fn`, do not wait for a receipt of a transaction sent with
        `send_raw_transaction`: blocks are sealed after `fn` returns. Use
        `send_raw_transaction()` / `wait_for_tx()` of this class instead.
        """
        w3 = self.w3
        return await asyncio.wrap_future(self.submit(lambda: fn(w3)))

    def run_sync(self, fn: Callable[[Web3], T]) -> T:
        """Run `fn(w3)` on the chain thread and block until it returns."""
        w3 = self.w3
        if self.on_worker():
            return fn(w3)
        return self.submit(lambda: fn(w3)).result()

    @property
    def w3(self) -> Web3:
        """The chain's Web3; only use it inside `run()` / `run_sync()`."""
        assert self._w3 is not None, "Node.boot() first"
        return self._w3

    @property
    def eth(self) -> Any:
        """`w3.eth`, Any-typed: the devnet's one seam to web3's stubs.

        They want NewTypes (ChecksumAddress, BlockIdentifier, TxParams) that addresses,
        tags and transactions read from JSON-RPC never are. Worker thread only.
        """
        return self.w3.eth

    def contract(self, name: str) -> Any:
        """The web3 contract object of a devnet contract (`OPGToken`, `Permit2`, …)."""
        return self._contracts[name]

    # -- clock and mining --------------------------------------------------------------

    def chain_time(self) -> int:
        """The timestamp the next block will carry (py-evm), or the wall clock (RPC)."""
        if self._pyevm is not None:
            return max(int(self._pyevm.chain.header.timestamp), int(time.time()))
        return int(time.time())

    def _refresh_pending_timestamp(self) -> None:
        """Re-stamp an empty pending block to now, so an idle chain does not lag the wall clock."""
        if self._pyevm is None or self.index.pending:
            return
        chain = self._pyevm.chain
        now = int(time.time())
        if chain.header.timestamp < now and not chain.get_block().transactions:
            chain.header = chain.header.copy(timestamp=now)

    def _after_job(self) -> None:
        if self._pyevm is None:
            return
        head = int(self._pyevm.chain.header.block_number) - 1
        for number in range(self.index.head + 1, head + 1):
            self._index_block(number)

    def _schedule_mine(self) -> None:
        if self._mine_scheduled or self._stopped:
            return
        self._mine_scheduled = True
        # Queued behind whatever is already waiting for the worker, so concurrent
        # senders share this block.
        self._executor.submit(self._mine)

    def _mine(self) -> None:
        self._mine_scheduled = False
        if not self.index.pending:
            return
        if self._pyevm.chain.get_block().transactions:
            self._tester.mine_blocks(1)
        self._after_job()

    def _seal_and_close(self) -> None:
        """Worker, at stop: mine the pending block, index it, close the store."""
        if self.index.pending and self._pyevm.chain.get_block().transactions:
            self._tester.mine_blocks(1)
        self._after_job()
        self._close_store()

    def _close_store(self) -> None:
        """Close the chain's store; a scratch one (a chain not kept) is removed with its file."""
        if self._store is not None:
            self._store.close()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def _index_block(self, number: int) -> None:
        """Hand one sealed py-evm block to the store (first) and to the index: results and logs."""
        chain = self._pyevm.chain
        block = chain.get_canonical_block_by_number(number)
        block_hash = hex0x(block.hash)
        receipts = block.get_receipts(chain.chaindb)
        mined: MinedRows = []
        log_index = 0
        previous_gas = 0
        in_block: dict[bytes, str] = {}  # a topic the block repeats (a batch's root): one string
        for tx_index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
            tx_hash = hex0x(tx.hash)
            status = 1 if receipt.state_root == b"\x01" else 0
            result = TxResult(tx_hash, status, number, receipt.gas_used - previous_gas)
            previous_gas = receipt.gas_used
            logs = []
            for log in receipt.logs:
                words = [t.to_bytes(32, "big") for t in log.topics]
                topics = [self._shared_text(w, hex0x) for w in words[:1]]
                topics += [in_block.setdefault(w, hex0x(w)) for w in words[1:]]
                logs.append(
                    IndexedLog(
                        block_number=number,
                        block_hash=block_hash,
                        tx_hash=tx_hash,
                        tx_index=tx_index,
                        log_index=log_index,
                        address=self._shared_text(log.address, checksum),
                        topics=tuple(topics),
                        data=hex0x(log.data),
                        block_timestamp=int(block.header.timestamp),
                    )
                )
                log_index += 1
            mined.append((result, logs))
        settled = self.index.settled_rows(mined)
        if self._store is not None:  # on disk before any waiter hears "mined"
            self._store.commit_block(number, block_hash, mined, settled)
        self.index.add_block(number, block_hash, mined, settled)
        forget_memos()

    def _shared_text(self, raw: bytes, text: Callable[[bytes], str]) -> str:
        """`text(raw)`, one string object per value for the few values every log repeats.

        The index keeps every log for the chain's life: an address or event topic made anew
        per log would cost ≈ 180 bytes a paid call. Bounded, so a contract emitting random
        topics cannot grow it.
        """
        found = self._shared.get(raw)
        if found is None:
            found = text(raw)
            if len(self._shared) < SHARED_TEXTS:
                self._shared[raw] = found
        return found

    # -- transactions ------------------------------------------------------------------

    def queue_raw(self, raw: bytes) -> tuple[str, cf.Future[TxResult]]:
        """Worker: add a signed transaction to the pending block; the future resolves when mined.

        RpcError when the node refuses it, with anvil's codes: -32602 if it does not
        decode, -32003 for a nonce or funds problem, -32000 otherwise.
        """
        if self._pyevm is None:
            w3 = self.w3
            try:
                tx_hash = hex0x(w3.eth.send_raw_transaction(raw))
                receipt = self.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
            except Exception as exc:
                raise RpcError(-32000, str(exc)) from None
            fut: cf.Future[TxResult] = cf.Future()
            fut.set_result(self.index.add_receipt(receipt))
            return tx_hash, fut
        try:
            tx_hash = hex0x(self._pyevm.send_raw_transaction(raw))
        except Exception as exc:  # py-evm: undecodable, bad nonce, funds, chain id, …
            raise self._rejected(raw, exc) from None
        if self._store is not None:
            self._store.keep_pending(tx_hash, raw)
        fut = self.index.expect(tx_hash)
        self._schedule_mine()
        return tx_hash, fut

    def _rejected(self, raw: bytes, exc: Exception) -> RpcError:
        """A refused raw transaction, as anvil answers it (the node's own words follow)."""
        text = str(exc)
        try:
            self._pyevm.chain.get_vm().get_transaction_builder().decode(raw)
        except Exception:
            return RpcError(-32602, f"Failed to decode transaction: {text}")
        lowered = text.lower()
        if "nonce" in lowered:
            numbers = re.search(r"expected (\d+), but got (\d+)", lowered)
            too = "low" if numbers and int(numbers.group(2)) < int(numbers.group(1)) else "high"
            return RpcError(-32003, f"nonce too {too}: {text}")
        if any(word in lowered for word in ("afford", "balance", "funds")):
            return RpcError(-32003, f"Insufficient funds for gas * price + value: {text}")
        return RpcError(-32000, f"transaction rejected: {text}")

    @property
    def mined_timeout(self) -> float:
        """How long a sent transaction may take to be mined."""
        return RECEIPT_TIMEOUT

    async def mined(self, fut: cf.Future[TxResult]) -> TxResult:
        """Await a `queue_raw` future from an event loop, within `mined_timeout`."""
        return await asyncio.wait_for(asyncio.wrap_future(fut), self.mined_timeout)

    async def send_raw_transaction(self, raw: bytes) -> TxResult:
        """Broadcast a signed transaction and wait until it is mined (status may be 0)."""
        _, fut = await asyncio.wrap_future(self.submit(lambda: self.queue_raw(raw)))
        return await self.mined(fut)

    def send_raw_transaction_sync(self, raw: bytes) -> TxResult:
        """Blocking `send_raw_transaction`."""
        _, fut = self.submit(lambda: self.queue_raw(raw)).result()
        try:
            return fut.result(timeout=self.mined_timeout)
        except cf.TimeoutError:
            raise ChainError("the devnet chain did not mine the transaction in time") from None

    async def wait_for_tx(self, tx_hash: str) -> TxResult:
        """Wait until a transaction sent to this chain is mined."""
        wanted = tx_hash.lower()
        fut = await asyncio.wrap_future(self.submit(lambda: self.index.watch(wanted)))
        return await self.mined(fut)

    # -- state reads (worker) --------------------------------------------------------------

    def code_size(self, address: str) -> int:
        """Worker: bytes of code at `address` on the pending state."""
        if self._pyevm is not None:
            state = self._pyevm.chain.get_vm().state
            return len(state.get_code(from_hex(address)))
        return len(self.eth.get_code(checksum(address)))

    def pending_nonce(self, address: str) -> int:
        """Worker: the next nonce of `address`, counting transactions not mined yet."""
        if self._pyevm is not None:
            state = self._pyevm.chain.get_vm().state
            return int(state.get_nonce(from_hex(address)))
        return int(self.eth.get_transaction_count(checksum(address), "pending"))

    def simulate(
        self,
        to: str | None,
        data: bytes,
        *,
        sender: str | None = DEVNET_OPERATOR,
        value: int = 0,
        gas: int = CALL_GAS,
        block: BlockId = "pending",
        after: Sequence[bytes] = (),
        credit: tuple[str, int] | None = None,
    ) -> bytes:
        """Worker: `eth_call`, on the pending block by default; ChainRevert with the decoded reason.

        On py-evm this runs the EVM directly (evm_call.py) and keeps the raw revert data,
        which eth-tester would flatten to a string.

        `after` applies signed transactions first, in the same throw-away state (a bundle
        simulated as a whole: a sponsored approval, then the settlement it enables), and
        `credit` adds wei to one account before them (the gas funding that precedes the
        approval). Bundles need py-evm: a JSON-RPC node answers RpcError(-32601).
        """
        if self._pyevm is None:
            if after or credit:
                raise RpcError(-32601, "bundles can only be simulated on py-evm")
            return self._node_call(to, data, sender=sender, value=value, gas=gas, block=block)
        request = CallRequest(sender=sender or ZERO_ADDRESS, to=to, data=data, value=value, gas=gas)
        outcome = execute(self._pyevm, request, block, after=after, credit=credit)
        if outcome.error is not None:
            raw = outcome.revert or b""
            err = outcome.error
            reason = self.events.revert_reason(raw) if raw else str(err) or type(err).__name__
            raise ChainRevert(reason, data=hex0x(raw))
        return outcome.output

    def _node_call(
        self,
        to: str | None,
        data: bytes,
        *,
        sender: str | None,
        value: int,
        gas: int,
        block: BlockId,
    ) -> bytes:
        from web3.exceptions import ContractCustomError, ContractLogicError

        tx: dict[str, Any] = {"to": to, "data": data, "value": value, "gas": gas}
        if sender:
            tx["from"] = sender
        try:
            return bytes(self.eth.call(tx, block))
        except (ContractLogicError, ContractCustomError) as exc:
            raw = _revert_data(exc)
            reason = self.events.revert_reason(raw) if raw else str(exc.message or exc)
            raise ChainRevert(reason, data=hex0x(raw)) from None

    def passthrough(self, method: str, params: list[Any]) -> Any:
        """Worker, JSON-RPC backend only: forward a call the devnet does not answer itself."""
        request: Any = self.w3.provider.make_request
        response = request(method, params)
        if "error" in response:
            err = response["error"]
            raise RpcError(int(err.get("code", -32000)), str(err.get("message")), err.get("data"))
        return response.get("result")


def code_digest() -> str:
    """keccak of every genesis contract's runtime code: a stored chain runs this og-chat's code."""
    return hex0x(keccak(b"".join(artifact(name).deployed_bytecode for name in CONTRACT_NAMES)))


def _set_chain_id(backend: Any, chain_id: int) -> None:
    """Make eth-tester's chain run as `chain_id` (EIP-155 signatures and `block.chainid`).

    eth-tester builds its chain class inside `setup_tester_chain` with the chain id as a
    class attribute, which every VM it makes reads (py-evm's `ChainContext`); a subclass
    with our id swapped in for the instance's class is the seam. The genesis block does
    not depend on the chain id, so swapping after genesis is exact.
    """
    chain = backend.chain
    if chain.chain_id != chain_id:
        chain.__class__ = type("DevnetChain", (type(chain),), {"chain_id": chain_id})


def _revert_data(exc: Exception) -> bytes:
    data = getattr(exc, "data", None)
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return from_hex(data)
        except ValueError:
            return b""
    return b""
