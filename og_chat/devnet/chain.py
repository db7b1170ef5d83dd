"""The devnet chain: a real EVM with OPG, Permit2 and the x402 proxies at their addresses.

`Chain.start()` gives "a Web3 plus the deployed addresses". The default is py-evm
in-process; `rpc_url=` uses any JSON-RPC node instead (anvil: state is written with
`anvil_setCode` / `anvil_setStorageAt`).

Every contract is placed in genesis with its runtime code and storage (balances,
owners), so start-up sends no transactions and every address is fixed:
Permit2 and the proxies sit at their canonical addresses; OPG, the TEE registry and
the data-settlement contract sit where the operator's first three deployments would.

py-evm is neither thread-safe nor fast, so all chain access runs on ONE worker thread;
`run()` / `run_sync()` hand a function `(Web3) -> T` to it. Two py-evm pitfalls are
designed around (see reference/devnet-chain.md):

* Timestamps: a block's timestamp must exceed its parent's, so more than one block a
  second runs the chain clock ahead of the wall clock. Transactions sent through this
  class are batched: a block is sealed as soon as the chain clock is at most
  `max_drift` seconds ahead, otherwise when it is; every transaction queued meanwhile
  joins that block. An idle chain's pending block is re-stamped to the wall clock
  before use, so the chain never lags behind it either.
* `eth_getLogs` from block 0 is O(N²) on eth-tester: it is never called. Every mined
  block's receipts are indexed here as it is sealed (logs, tx results, Permit2 and
  EIP-3009 nonces consumed, batch roots, individual settlements), and `rpc()` answers
  `eth_getLogs` from that index.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from og_chat.sdk.addresses import (
    DEVNET_KEYS as DEV_KEYS,
    DEVNET_OPERATOR as OPERATOR_ADDRESS,
    DEVNET_OPERATOR_KEY as OPERATOR_KEY,
    DEVNET_OPG as OPG_ADDRESS,
    DEVNET_SETTLEMENT as SETTLEMENT_ADDRESS,
    DEVNET_TEE_REGISTRY as TEE_REGISTRY_ADDRESS,
    EXACT_PERMIT2_PROXY as EXACT_PERMIT2_PROXY_ADDRESS,
    PERMIT2_ADDRESS,
    UPTO_PERMIT2_PROXY as UPTO_PROXY_ADDRESS,
    ZERO_ADDRESS,
)
from og_chat.sdk.errors import ChainError

from .contracts import abi, artifact, event_signature

if TYPE_CHECKING:
    from web3 import Web3

T = TypeVar("T")

from og_chat.sdk.addresses import (  # noqa: E402  (re-exported for the devnet's modules)
    DEVNET_ADDRESSES as DEV_ADDRESSES,
)

OPERATOR_PATH = "m/44'/60'/0'/0/100"
ONE_OPG = 10**18
INITIAL_OPG = 1_000 * ONE_OPG
INITIAL_ETH = 10_000 * 10**18
MAX_FEE_PER_GAS = 50 * 10**9
PRIORITY_FEE_PER_GAS = 10**9
MAX_LOG_RANGE = 10_000
"""Widest block range `eth_getLogs` answers."""
DEFAULT_MAX_DRIFT = 30
"""Seconds the chain clock may run ahead of the wall clock before blocks are paced."""
RECEIPT_TIMEOUT = 30.0


@dataclass(frozen=True)
class DevAccount:
    """A funded devnet account. The keys are public test keys: never use them elsewhere."""

    address: str
    private_key: str


@dataclass(frozen=True)
class Addresses:
    """Where the devnet's contracts live."""

    opg: str
    permit2: str
    upto_proxy: str
    exact_permit2_proxy: str
    tee_registry: str
    settlement: str


@dataclass(frozen=True)
class TxResult:
    """A mined transaction, read back from its receipt."""

    tx_hash: str
    """0x-hex."""
    status: int
    block_number: int
    gas_used: int


@dataclass(frozen=True)
class IndexedLog:
    """One log of a mined block, as kept by the chain's own index."""

    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str
    topics: tuple[str, ...]
    data: str

    def rpc(self) -> dict[str, Any]:
        """The standard JSON-RPC log object."""
        return {
            "address": self.address,
            "topics": list(self.topics),
            "data": self.data,
            "blockNumber": hex(self.block_number),
            "blockHash": self.block_hash,
            "transactionHash": self.tx_hash,
            "transactionIndex": hex(self.tx_index),
            "logIndex": hex(self.log_index),
            "removed": False,
        }


class ChainRevert(ChainError):
    """A call or transaction reverted; `reason` is the revert string or custom error name."""

    def __init__(self, reason: str, *, data: str = "", tx_hash: str = "") -> None:
        self.reason = reason
        self.data = data
        self.tx_hash = tx_hash
        super().__init__(
            f"the devnet chain reverted: {reason}",
            hint="the transaction was not applied; the reason names the failed check",
        )


class RpcError(ChainError):
    """A JSON-RPC error answer: `code`, `message` and optional `data`, as the wire has them."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"JSON-RPC error {code}: {message}")

    def rpc(self) -> dict[str, Any]:
        """The JSON-RPC `error` object."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


# --------------------------------------------------------------------------- genesis


def _slot_of_mapping(key: bytes | int | str, slot: int) -> int:
    from eth_hash.auto import keccak

    return int.from_bytes(keccak(_word(key) + slot.to_bytes(32, "big")), "big")


def _word(value: bytes | int | str) -> bytes:
    if isinstance(value, int):
        return value.to_bytes(32, "big")
    if isinstance(value, str):
        value = bytes.fromhex(value.removeprefix("0x"))
    return value.rjust(32, b"\x00")


def genesis_alloc(fund: Sequence[tuple[str, int]] = ()) -> dict[str, dict[str, Any]]:
    """Every account and contract of the devnet at block 0: balance, nonce, code, storage.

    The same alloc feeds py-evm's genesis state and anvil's `anvil_set*` calls.
    """
    opg = artifact("OPGToken")
    balances: dict[str, int] = {a.lower(): INITIAL_OPG for a in DEV_ADDRESSES}
    for address, amount in fund:
        balances[address.lower()] = balances.get(address.lower(), 0) + int(amount)
    opg_storage = {
        opg.storage["owner"]: int(OPERATOR_ADDRESS, 16),
        opg.storage["totalSupply"]: sum(balances.values()),
    }
    for address, amount in balances.items():
        opg_storage[_slot_of_mapping(address, opg.storage["balanceOf"])] = amount
    registry_slot = artifact("TEERegistry").storage["owner"]
    settlement_slot = artifact("DataSettlement").storage["operator"]
    alloc: dict[str, dict[str, Any]] = {}
    for address in DEV_ADDRESSES:
        alloc[address] = {"balance": INITIAL_ETH, "nonce": 0, "code": b"", "storage": {}}
    for address, _ in fund:
        alloc.setdefault(address, {"balance": INITIAL_ETH, "nonce": 0, "code": b"", "storage": {}})
    alloc[OPERATOR_ADDRESS] = {"balance": INITIAL_ETH, "nonce": 3, "code": b"", "storage": {}}
    placed = {
        PERMIT2_ADDRESS: ("Permit2", {}),
        UPTO_PROXY_ADDRESS: ("x402UptoPermit2Proxy", {}),
        EXACT_PERMIT2_PROXY_ADDRESS: ("x402ExactPermit2Proxy", {}),
        OPG_ADDRESS: ("OPGToken", opg_storage),
        TEE_REGISTRY_ADDRESS: ("TEERegistry", {registry_slot: int(OPERATOR_ADDRESS, 16)}),
        SETTLEMENT_ADDRESS: ("DataSettlement", {settlement_slot: int(OPERATOR_ADDRESS, 16)}),
    }
    for address, (name, storage) in placed.items():
        alloc[address] = {
            "balance": 0,
            "nonce": 1,
            "code": artifact(name).deployed_bytecode,
            "storage": storage,
        }
    return alloc


# --------------------------------------------------------------------------- events


class _EventTable:
    """topic0 → (name, decoder) for every event and error the devnet contracts declare."""

    def __init__(self) -> None:
        from eth_hash.auto import keccak

        self.events: dict[str, tuple[str, dict[str, Any]]] = {}
        self.errors: dict[bytes, tuple[str, list[str]]] = {}
        for name in (
            "OPGToken",
            "Permit2",
            "x402UptoPermit2Proxy",
            "TEERegistry",
            "DataSettlement",
        ):
            for entry in abi(name):
                sig = event_signature(entry) if entry["type"] in ("event", "error") else ""
                if entry["type"] == "event":
                    self.events["0x" + keccak(sig.encode()).hex()] = (entry["name"], entry)
                elif entry["type"] == "error":
                    types = [str(i["type"]) for i in entry.get("inputs", [])]
                    self.errors[keccak(sig.encode())[:4]] = (entry["name"], types)
        self.topic = {name: t for t, (name, _) in self.events.items()}

    def revert_reason(self, data: bytes) -> str:
        """Human reason of revert data: `Error(string)` text or the custom error's name."""
        from eth_abi.abi import decode

        if len(data) < 4:
            return "execution reverted"
        selector = data[:4]
        if selector == bytes.fromhex("08c379a0"):
            try:
                return str(decode(["string"], data[4:])[0])
            except Exception:
                return "execution reverted"
        if selector in self.errors:
            name, types = self.errors[selector]
            try:
                args = decode(types, data[4:]) if types else ()
            except Exception:
                args = ()
            shown = ", ".join("0x" + a.hex() if isinstance(a, bytes) else str(a) for a in args)
            return f"{name}({shown})" if args else name
        return f"execution reverted (0x{data[:4].hex()})"


# --------------------------------------------------------------------------- the chain


class Chain:
    """A running devnet chain: a `Web3`, the contract addresses, funded accounts, an index.

    Build it with `Chain.start()`; stop it with `stop()`. All methods are safe to call
    from any thread or event loop; the chain itself only runs on its worker thread.
    """

    chain_id: int
    addresses: Addresses
    accounts: list[DevAccount]
    operator: DevAccount
    rpc_url: str | None

    def __init__(self) -> None:
        # Use Chain.start(); the constructor only sets fields.
        self.rpc_url = None
        self.addresses = Addresses(
            opg=OPG_ADDRESS,
            permit2=PERMIT2_ADDRESS,
            upto_proxy=UPTO_PROXY_ADDRESS,
            exact_permit2_proxy=EXACT_PERMIT2_PROXY_ADDRESS,
            tee_registry=TEE_REGISTRY_ADDRESS,
            settlement=SETTLEMENT_ADDRESS,
        )
        self.accounts = [DevAccount(a, k) for a, k in zip(DEV_ADDRESSES, DEV_KEYS, strict=True)]
        self.operator = DevAccount(OPERATOR_ADDRESS, OPERATOR_KEY)
        self.max_drift = DEFAULT_MAX_DRIFT
        self._executor = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="og-devnet-chain")
        self._worker: threading.Thread | None = None
        self._stopped = False
        self._w3: Web3 | None = None
        self._tester: Any = None
        self._backend: Any = None
        self._events: _EventTable | None = None
        self._contracts: dict[str, Any] = {}
        # Index, written on the worker thread only; reads from other threads are single
        # dict lookups, atomic under the GIL.
        self._indexed_upto = 0
        self._txs: dict[str, TxResult] = {}
        self._logs_by_block: dict[int, list[IndexedLog]] = {}
        self._block_hashes: dict[int, str] = {}
        self._nonce_index: dict[tuple[str, int], str] = {}
        self._batches: dict[bytes, tuple[int, int, str]] = {}
        self._individual: list[dict[str, Any]] = []
        self._pending: set[str] = set()
        self._waiters: dict[str, list[cf.Future[TxResult]]] = {}
        self._mine_scheduled = False
        self._timer: threading.Timer | None = None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(
        cls,
        *,
        rpc_url: str | None = None,
        fund: Sequence[tuple[str, int]] = (),
        max_drift: int = DEFAULT_MAX_DRIFT,
    ) -> Chain:
        """Start a chain (blocking): genesis with every contract placed and every account funded.

        `fund` adds OPG (base units) to more addresses. `max_drift` bounds how far the
        chain clock may run ahead of the wall clock under load (py-evm only).
        """
        chain = cls()
        chain.max_drift = max_drift
        chain.rpc_url = rpc_url
        try:
            chain._executor.submit(chain._boot, list(fund)).result()
        except BaseException:
            chain._executor.shutdown(wait=False)
            raise
        return chain

    def _boot(self, fund: list[tuple[str, int]]) -> None:
        self._worker = threading.current_thread()
        self._events = _EventTable()
        if self.rpc_url is None:
            self._boot_pyevm(fund)
        else:
            self._boot_rpc(self.rpc_url, fund)
        w3 = self._w3
        assert w3 is not None
        self.chain_id = int(w3.eth.chain_id)
        for name, address in (
            ("OPGToken", OPG_ADDRESS),
            ("Permit2", PERMIT2_ADDRESS),
            ("x402UptoPermit2Proxy", UPTO_PROXY_ADDRESS),
            ("x402ExactPermit2Proxy", EXACT_PERMIT2_PROXY_ADDRESS),
            ("TEERegistry", TEE_REGISTRY_ADDRESS),
            ("DataSettlement", SETTLEMENT_ADDRESS),
        ):
            self._contracts[name] = w3.eth.contract(address=address, abi=abi(name))  # type: ignore[call-overload]

    def _boot_pyevm(self, fund: list[tuple[str, int]]) -> None:
        from eth_keys.main import KeyAPI
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider, Web3

        state = {}
        for address, account in genesis_alloc(fund).items():
            state[bytes.fromhex(address[2:])] = account
        backend = PyEVMBackend(genesis_state=state)
        keys = KeyAPI()
        backend.account_keys = tuple(
            keys.PrivateKey(bytes.fromhex(k[2:])) for k in (*DEV_KEYS, OPERATOR_KEY)
        )
        tester = EthereumTester(backend=backend, auto_mine_transactions=True)
        self._backend = backend
        self._tester = tester
        self._w3 = Web3(EthereumTesterProvider(ethereum_tester=tester))

    def _boot_rpc(self, url: str, fund: list[tuple[str, int]]) -> None:
        from web3 import HTTPProvider, Web3

        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
        request: Any = w3.provider.make_request
        for address, account in genesis_alloc(fund).items():
            request("anvil_setBalance", [address, hex(account["balance"])])
            request("anvil_setNonce", [address, hex(account["nonce"])])
            if account["code"]:
                request("anvil_setCode", [address, "0x" + account["code"].hex()])
            for slot, value in account["storage"].items():
                request(
                    "anvil_setStorageAt",
                    [address, hex(slot), "0x" + value.to_bytes(32, "big").hex()],
                )
        self._w3 = w3
        self._indexed_upto = int(w3.eth.block_number)

    def stop(self) -> None:
        """Stop the worker thread; pending waiters fail with ChainError. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for futures in self._waiters.values():
            for fut in futures:
                if not fut.done():
                    fut.set_exception(
                        ChainError("the devnet chain stopped before the transaction was mined")
                    )
        self._waiters.clear()

    # ------------------------------------------------------------------ worker access

    def _on_worker(self) -> bool:
        return threading.current_thread() is self._worker

    def _submit(self, fn: Callable[[], T]) -> cf.Future[T]:
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
        return await asyncio.wrap_future(self._submit(lambda: fn(w3)))

    def run_sync(self, fn: Callable[[Web3], T]) -> T:
        """Run `fn(w3)` on the chain thread and block until it returns."""
        w3 = self.w3
        if self._on_worker():
            return fn(w3)
        return self._submit(lambda: fn(w3)).result()

    @property
    def w3(self) -> Web3:
        """The chain's Web3; only use it inside `run()` / `run_sync()`."""
        assert self._w3 is not None, "Chain.start() first"
        return self._w3

    def contract(self, name: str) -> Any:
        """The web3 contract object of a devnet contract (`OPGToken`, `Permit2`, …)."""
        return self._contracts[name]

    # ------------------------------------------------------------------ clock and mining

    def chain_time(self) -> int:
        """The timestamp the next block will carry (py-evm), or the latest block's (RPC)."""
        if self._backend is not None:
            header = self._backend.chain.header
            return max(int(header.timestamp), int(time.time()))
        return int(time.time())

    def _refresh_pending_timestamp(self) -> None:
        """Re-stamp an empty pending block to now, so an idle chain does not lag the wall clock."""
        if self._backend is None or self._pending:
            return
        chain = self._backend.chain
        now = int(time.time())
        if chain.header.timestamp < now and not chain.get_block().transactions:
            chain.header = chain.header.copy(timestamp=now)

    def _after_job(self) -> None:
        if self._backend is None:
            return
        head = int(self._backend.chain.header.block_number) - 1
        if head > self._indexed_upto:
            self._index_blocks(head)

    def _schedule_mine(self) -> None:
        if self._mine_scheduled or self._stopped:
            return
        self._mine_scheduled = True
        ahead = int(self._backend.chain.header.timestamp) - time.time()
        delay = ahead - self.max_drift
        if delay <= 0:
            # Queued behind whatever is already waiting for the worker, so concurrent
            # senders share this block.
            self._executor.submit(self._mine)
        else:
            self._timer = threading.Timer(delay, self._mine_from_timer)
            self._timer.daemon = True
            self._timer.start()

    def _mine_from_timer(self) -> None:
        if not self._stopped:
            with contextlib.suppress(RuntimeError):  # shut down in between
                self._executor.submit(self._mine)

    def _mine(self) -> None:
        self._mine_scheduled = False
        if not self._pending:
            return
        if self._backend.chain.get_block().transactions:
            self._tester.mine_blocks(1)
        self._after_job()

    # ------------------------------------------------------------------ the index

    def _index_blocks(self, head: int) -> None:
        chain = self._backend.chain
        events = self._events
        assert events is not None
        for number in range(self._indexed_upto + 1, head + 1):
            block = chain.get_canonical_block_by_number(number)
            block_hash = "0x" + block.hash.hex()
            self._block_hashes[number] = block_hash
            receipts = block.get_receipts(chain.chaindb)
            logs: list[IndexedLog] = []
            results: list[TxResult] = []
            previous_gas = 0
            for index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
                tx_hash = "0x" + tx.hash.hex()
                status = 1 if receipt.state_root == b"\x01" else 0
                result = TxResult(tx_hash, status, number, receipt.gas_used - previous_gas)
                previous_gas = receipt.gas_used
                for log in receipt.logs:
                    entry = IndexedLog(
                        block_number=number,
                        block_hash=block_hash,
                        tx_hash=tx_hash,
                        tx_index=index,
                        log_index=len(logs),
                        address=_checksum(log.address),
                        topics=tuple("0x" + t.to_bytes(32, "big").hex() for t in log.topics),
                        data="0x" + bytes(log.data).hex(),
                    )
                    logs.append(entry)
                results.append(result)
            if logs:
                self._logs_by_block[number] = logs
                for entry in logs:
                    self._index_event(entry)
            self._indexed_upto = number
            # Waiters wake only once the whole block (events included) is indexed.
            for result in results:
                self._record_tx(result)

    def _record_tx(self, result: TxResult) -> None:
        self._txs[result.tx_hash] = result
        self._pending.discard(result.tx_hash)
        for fut in self._waiters.pop(result.tx_hash, []):
            if not fut.done():
                fut.set_result(result)

    def _index_event(self, log: IndexedLog) -> None:
        from eth_abi.abi import decode

        events = self._events
        assert events is not None
        if not log.topics or log.topics[0] not in events.events:
            return
        name = events.events[log.topics[0]][0]
        address = log.address.lower()
        nonce_event = (name == "PermitNonceUsed" and address == PERMIT2_ADDRESS.lower()) or (
            name == "AuthorizationUsed" and address == OPG_ADDRESS.lower()
        )
        if nonce_event:
            owner = "0x" + log.topics[1][-40:]
            self._nonce_index[(owner.lower(), int(log.topics[2], 16))] = log.tx_hash
        elif name == "BatchSettled" and address == SETTLEMENT_ADDRESS.lower():
            count, ts = decode(["uint256", "uint256"], bytes.fromhex(log.data[2:]))
            self._batches[bytes.fromhex(log.topics[1][2:])] = (int(count), int(ts), log.tx_hash)
        elif name == "IndividualSettled" and address == SETTLEMENT_ADDRESS.lower():
            sig_hash, tee_ts, signature = decode(
                ["bytes32", "uint256", "bytes"], bytes.fromhex(log.data[2:])
            )
            self._individual.append(
                {
                    "tx_hash": log.tx_hash,
                    "block_number": log.block_number,
                    "tee_id": log.topics[1],
                    "request_hash": log.topics[2],
                    "output_hash": log.topics[3],
                    "signature_hash": "0x" + bytes(sig_hash).hex(),
                    "tee_timestamp": int(tee_ts),
                    "signature": "0x" + bytes(signature).hex(),
                }
            )

    def _index_receipt(self, receipt: Any) -> TxResult:
        """RPC backend: index one receipt fetched from the node."""
        tx_hash = _hex(receipt["transactionHash"])
        result = TxResult(
            tx_hash, int(receipt["status"]), int(receipt["blockNumber"]), int(receipt["gasUsed"])
        )
        for log in receipt["logs"]:
            entry = IndexedLog(
                block_number=int(log["blockNumber"]),
                block_hash=_hex(log["blockHash"]),
                tx_hash=tx_hash,
                tx_index=int(log["transactionIndex"]),
                log_index=int(log["logIndex"]),
                address=str(log["address"]),
                topics=tuple(_hex(t) for t in log["topics"]),
                data=_hex(log["data"]),
            )
            self._logs_by_block.setdefault(entry.block_number, []).append(entry)
            self._index_event(entry)
        self._record_tx(result)
        self._indexed_upto = max(self._indexed_upto, result.block_number)
        return result

    def find_settlement(self, *, payer: str, nonce: int) -> TxResult | None:
        """The mined transaction that consumed `payer`'s Permit2 (or EIP-3009) nonce, if seen."""
        tx_hash = self._nonce_index.get((payer.lower(), int(nonce)))
        return self._txs.get(tx_hash) if tx_hash else None

    def logs_of(self, tx_hash: str) -> list[IndexedLog]:
        """The indexed logs a mined transaction emitted."""
        result = self._txs.get(tx_hash.lower())
        if result is None:
            return []
        return [
            log
            for log in self._logs_by_block.get(result.block_number, ())
            if log.tx_hash == result.tx_hash
        ]

    def tx_result(self, tx_hash: str) -> TxResult | None:
        """A mined transaction's result from the index (None when unknown or not yet mined)."""
        return self._txs.get(tx_hash.lower())

    def batch_roots(self) -> dict[str, tuple[int, int, str]]:
        """Every batch root posted so far: root → (count, timestamp, tx hash)."""
        return {"0x" + root.hex(): info for root, info in self._batches.items()}

    def individual_settlements(self) -> list[dict[str, Any]]:
        """Every `IndividualSettled` event so far, decoded, oldest first."""
        return list(self._individual)

    # ------------------------------------------------------------------ transactions

    def _apply_raw(self, raw: bytes) -> tuple[str, cf.Future[TxResult]]:
        """Worker: add a signed transaction to the pending block; future resolves when mined."""
        fut: cf.Future[TxResult] = cf.Future()
        if self._backend is None:
            w3 = self.w3
            try:
                tx_hash = _hex(w3.eth.send_raw_transaction(raw))
                receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)  # type: ignore[arg-type]
            except Exception as exc:
                raise RpcError(-32000, str(exc)) from None
            fut.set_result(self._index_receipt(receipt))
            return tx_hash, fut
        try:
            tx_hash = "0x" + self._backend.send_raw_transaction(raw).hex()
        except Exception as exc:  # py-evm ValidationError: bad nonce, funds, chain id, …
            raise RpcError(-32000, f"transaction rejected: {exc}") from None
        self._pending.add(tx_hash)
        self._waiters.setdefault(tx_hash, []).append(fut)
        self._schedule_mine()
        return tx_hash, fut

    def _wait_future(self, fut: cf.Future[TxResult]) -> TxResult:
        try:
            return fut.result(timeout=RECEIPT_TIMEOUT + self.max_drift)
        except cf.TimeoutError:
            raise ChainError("the devnet chain did not mine the transaction in time") from None

    async def send_raw_transaction(self, raw: bytes) -> TxResult:
        """Broadcast a signed transaction and wait until it is mined (status may be 0)."""
        _, fut = await asyncio.wrap_future(self._submit(lambda: self._apply_raw(raw)))
        return await asyncio.wait_for(asyncio.wrap_future(fut), RECEIPT_TIMEOUT + self.max_drift)

    def send_raw_transaction_sync(self, raw: bytes) -> TxResult:
        """Blocking `send_raw_transaction`."""
        _, fut = self._submit(lambda: self._apply_raw(raw)).result()
        return self._wait_future(fut)

    async def wait_for_tx(self, tx_hash: str) -> TxResult:
        """Wait until a transaction sent to this chain is mined."""
        tx_hash = tx_hash.lower()

        def register() -> cf.Future[TxResult]:
            fut: cf.Future[TxResult] = cf.Future()
            done = self._txs.get(tx_hash)
            if done is not None:
                fut.set_result(done)
            elif tx_hash in self._pending:
                self._waiters.setdefault(tx_hash, []).append(fut)
            else:
                fut.set_exception(ChainError(f"unknown transaction {tx_hash}"))
            return fut

        fut = await asyncio.wrap_future(self._submit(register))
        return await asyncio.wait_for(asyncio.wrap_future(fut), RECEIPT_TIMEOUT + self.max_drift)

    def sign_operator_tx(self, to: str, data: bytes, *, gas: int, value: int = 0) -> bytes:
        """Worker: a signed EIP-1559 transaction from the operator at its next pending nonce."""
        from eth_account import Account

        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": self._pending_nonce(OPERATOR_ADDRESS),
            "to": to,
            "value": value,
            "data": data,
            "gas": gas,
            "maxFeePerGas": MAX_FEE_PER_GAS,
            "maxPriorityFeePerGas": PRIORITY_FEE_PER_GAS,
        }
        return bytes(Account.sign_transaction(tx, OPERATOR_KEY).raw_transaction)

    def code_size(self, address: str) -> int:
        """Worker: bytes of code at `address` on the pending state."""
        if self._backend is not None:
            state = self._backend.chain.get_vm().state
            return len(state.get_code(bytes.fromhex(address.removeprefix("0x"))))
        return len(self.w3.eth.get_code(_addr(address)))

    def _pending_nonce(self, address: str) -> int:
        if self._backend is not None:
            state = self._backend.chain.get_vm().state
            return int(state.get_nonce(bytes.fromhex(address[2:])))
        return int(self.w3.eth.get_transaction_count(address, "pending"))  # type: ignore[arg-type]

    def simulate(
        self,
        to: str | None,
        data: bytes,
        *,
        sender: str | None = OPERATOR_ADDRESS,
        value: int = 0,
        gas: int = 2_000_000,
        block: Any = "pending",
    ) -> bytes:
        """Worker: `eth_call`, on the pending block by default; ChainRevert with the decoded reason.

        On py-evm this runs the EVM directly (no web3 round trip) and keeps the raw revert
        data, which eth-tester would flatten to a string. The sender's balance is topped up
        inside the throw-away state, so a call from an empty address still runs.
        """
        events = self._events
        assert events is not None
        if self._backend is None:
            return self._rpc_node_call(to, data, sender=sender, value=value, gas=gas, block=block)
        from eth_tester.backends.pyevm.main import EVMSpoofTransaction, _get_vm_for_block_number

        frm = bytes.fromhex((sender or ZERO_ADDRESS)[2:])
        tx = {
            "from": frm,
            "to": bytes.fromhex(to[2:]) if to else b"",
            "data": data,
            "gas": gas,
            "value": value,
        }
        try:
            unsigned = self._backend._get_normalized_and_unsigned_evm_transaction(tx, block)
            vm = _get_vm_for_block_number(self._backend.chain, block)
        except Exception as exc:
            raise RpcError(-32602, f"cannot build the call: {exc}") from None
        state = vm.state
        snapshot = state.snapshot()
        try:
            state.set_balance(frm, state.get_balance(frm) + gas * MAX_FEE_PER_GAS + value)
            computation = state.apply_transaction(EVMSpoofTransaction(unsigned, from_=frm))
        except Exception as exc:
            raise RpcError(-32000, f"call failed: {exc}") from None
        finally:
            state.revert(snapshot)
        if computation.is_error:
            err = computation._error
            raw = err.args[0] if err.args and isinstance(err.args[0], bytes) else b""
            reason = events.revert_reason(raw) if raw else str(err) or type(err).__name__
            raise ChainRevert(reason, data="0x" + raw.hex())
        return bytes(computation.output)

    def _rpc_node_call(
        self, to: str | None, data: bytes, *, sender: str | None, value: int, gas: int, block: Any
    ) -> bytes:
        from web3.exceptions import ContractCustomError, ContractLogicError

        tx: dict[str, Any] = {"to": to, "data": data, "value": value, "gas": gas}
        if sender:
            tx["from"] = sender
        try:
            return bytes(self.w3.eth.call(tx, block))  # type: ignore[arg-type]
        except (ContractLogicError, ContractCustomError) as exc:
            raw = _revert_data(exc)
            events = self._events
            assert events is not None
            reason = events.revert_reason(raw) if raw else str(exc.message or exc)
            raise ChainRevert(reason, data="0x" + raw.hex()) from None

    async def operator_transact(
        self, to: str, data: bytes, *, gas: int = 500_000, value: int = 0, simulate: bool = True
    ) -> TxResult:
        """Send a transaction from the operator and wait for it; ChainRevert if it would revert."""

        def send() -> tuple[str, cf.Future[TxResult]]:
            if simulate:
                self.simulate(to, data)
            return self._apply_raw(self.sign_operator_tx(to, data, gas=gas, value=value))

        _, fut = await asyncio.wrap_future(self._submit(send))
        result = await asyncio.wait_for(asyncio.wrap_future(fut), RECEIPT_TIMEOUT + self.max_drift)
        if result.status != 1:
            raise ChainRevert("transaction reverted on-chain", tx_hash=result.tx_hash)
        return result

    # ------------------------------------------------------------------ reads

    async def opg_balance(self, owner: str) -> int:
        """OPG balance of `owner`, base units."""
        return int(
            await self.run(
                lambda _: self.contract("OPGToken").functions.balanceOf(_addr(owner)).call()
            )
        )

    async def allowance(self, owner: str, spender: str) -> int:
        """OPG allowance `owner` → `spender` (usually Permit2), base units."""
        c = self.contract("OPGToken")
        return int(
            await self.run(lambda _: c.functions.allowance(_addr(owner), _addr(spender)).call())
        )

    async def eth_balance(self, owner: str) -> int:
        """ETH balance of `owner`, wei."""
        return int(await self.run(lambda w3: w3.eth.get_balance(_addr(owner))))

    async def permit2_nonce_used(self, owner: str, nonce: int) -> bool:
        """Whether `owner`'s Permit2 unordered nonce is consumed (or invalidated)."""
        word = await self.run(
            lambda _: (
                self.contract("Permit2").functions.nonceBitmap(_addr(owner), int(nonce) >> 8).call()
            )
        )
        return bool(int(word) >> (int(nonce) & 0xFF) & 1)

    async def active_tees(self, tee_type: int = 0) -> list[dict[str, Any]]:
        """`getActiveTEEs(tee_type)`: each TEE a dict with the registry's field names + `teeId`."""
        from eth_hash.auto import keccak

        rows = await self.run(
            lambda _: self.contract("TEERegistry").functions.getActiveTEEs(tee_type).call()
        )
        out = []
        for row in rows:
            info = dict(zip(_TEE_FIELDS, row, strict=True))
            info["ohttpConfig"] = dict(zip(_OHTTP_FIELDS, info["ohttpConfig"], strict=True))
            info["teeId"] = "0x" + keccak(bytes(info["publicKey"])).hex()
            out.append(info)
        return out

    async def batch_root_info(self, root: bytes) -> tuple[int, int] | None:
        """`(count, timestamp)` of a posted batch root, or None if it was never posted."""
        count, ts = await self.run(
            lambda _: self.contract("DataSettlement").functions.batchRoots(root).call()
        )
        return None if int(ts) == 0 else (int(count), int(ts))

    # ------------------------------------------------------------------ operator writes

    async def fund(self, address: str, opg: int, eth: int = 10**18) -> None:
        """Mint `opg` base units and send `eth` wei to `address` (both in the same block)."""
        target = _addr(address)
        mint = self.contract("OPGToken").functions.mint(target, int(opg))._encode_transaction_data()

        def send() -> list[cf.Future[TxResult]]:
            futures = []
            if opg:
                futures.append(
                    self._apply_raw(self.sign_operator_tx(OPG_ADDRESS, _b(mint), gas=100_000))[1]
                )
            if eth:
                raw = self.sign_operator_tx(target, b"", gas=21_000, value=int(eth))
                futures.append(self._apply_raw(raw)[1])
            return futures

        for fut in await asyncio.wrap_future(self._submit(send)):
            result = await asyncio.wrap_future(fut)
            if result.status != 1:
                raise ChainRevert("funding transaction reverted", tx_hash=result.tx_hash)

    async def register_tee(
        self,
        *,
        payment_address: str,
        endpoint: str,
        public_key_der: bytes,
        tls_certificate_der: bytes,
        tee_type: int = 0,
        pcr_hash: bytes = b"\x00" * 32,
    ) -> str:
        """Register a TEE in the registry; returns its id, `0x` + keccak256(public key DER)."""
        from eth_hash.auto import keccak

        data = (
            self.contract("TEERegistry")
            .functions.registerTEE(
                _addr(payment_address),
                endpoint,
                public_key_der,
                tls_certificate_der,
                pcr_hash,
                tee_type,
            )
            ._encode_transaction_data()
        )
        gas = (
            400_000
            + 1_000
            * ((len(public_key_der) + len(tls_certificate_der) + len(endpoint)) // 32 + 1)
            * 25
        )
        await self.operator_transact(TEE_REGISTRY_ADDRESS, _b(data), gas=gas)
        return "0x" + keccak(public_key_der).hex()

    async def post_batch_root(self, root: bytes, count: int) -> TxResult:
        """Post a Merkle root of `count` settlement leaves; emits `BatchSettled`."""
        data = (
            self.contract("DataSettlement")
            .functions.postBatchRoot(root, count)
            ._encode_transaction_data()
        )
        return await self.operator_transact(SETTLEMENT_ADDRESS, _b(data), gas=120_000)

    async def settle_individual(
        self,
        *,
        tee_id: str,
        request_hash: bytes,
        output_hash: bytes,
        signature: bytes,
        timestamp: int,
    ) -> TxResult:
        """Post one call's metadata on-chain; emits `IndividualSettled`."""
        tee = bytes.fromhex(tee_id.removeprefix("0x")).rjust(32, b"\x00")
        data = (
            self.contract("DataSettlement")
            .functions.settleIndividual(tee, request_hash, output_hash, signature, int(timestamp))
            ._encode_transaction_data()
        )
        gas = 80_000 + 30 * len(signature) + 700 * (len(signature) // 32 + 1)
        return await self.operator_transact(SETTLEMENT_ADDRESS, _b(data), gas=gas)

    # ------------------------------------------------------------------ JSON-RPC

    def rpc(self, method: str, params: list[Any]) -> Any:
        """Answer one standard JSON-RPC call (hex quantities, 0x data); RpcError on failure."""
        if self._on_worker():
            return self._rpc(method, list(params or []))
        return self._submit(lambda: self._rpc(method, list(params or []))).result()

    async def rpc_async(self, method: str, params: list[Any]) -> Any:
        """`rpc()` awaitable from an event loop without blocking it."""
        return await asyncio.wrap_future(
            self._submit(lambda: self._rpc(method, list(params or [])))
        )

    def rpc_response(self, request: Any) -> Any:
        """A whole JSON-RPC request object (or batch) → its response object(s)."""
        if isinstance(request, list):
            return [self.rpc_response(r) for r in request]
        rid = request.get("id") if isinstance(request, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {"code": -32600, "message": "invalid request"},
            }
        try:
            result = self.rpc(request["method"], request.get("params") or [])
        except RpcError as exc:
            return {"jsonrpc": "2.0", "id": rid, "error": exc.rpc()}
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def _rpc(self, method: str, params: list[Any]) -> Any:
        handler = _RPC_METHODS.get(method)
        if self._backend is None and handler is None:
            request: Any = self.w3.provider.make_request
            response = request(method, params)
            if "error" in response:
                err = response["error"]
                raise RpcError(
                    int(err.get("code", -32000)), str(err.get("message")), err.get("data")
                )
            return response.get("result")
        if handler is None:
            raise RpcError(-32601, f"method {method} is not supported by the og-chat devnet")
        try:
            return handler(self, params)
        except RpcError:
            raise
        except ChainRevert as exc:
            raise RpcError(3, f"execution reverted: {exc.reason}", exc.data or "0x") from None
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            raise RpcError(-32602, f"invalid params for {method}: {exc}") from None

    def _rpc_call(self, params: list[Any]) -> Any:
        tx = _tx_from_rpc(params[0])
        block = _block_id(params[1] if len(params) > 1 else "latest")
        out = self.simulate(
            tx.get("to"),
            _b(tx.get("data", b"")),
            sender=tx.get("from"),
            value=int(tx.get("value", 0)),
            gas=int(tx.get("gas", 25_000_000)),
            block=block,
        )
        return "0x" + out.hex()

    def _rpc_estimate(self, params: list[Any]) -> Any:
        tx = _tx_from_rpc(params[0])
        # A revert surfaces with its reason first; then eth-tester's binary search sizes the gas.
        self.simulate(
            tx.get("to"),
            _b(tx.get("data", b"")),
            sender=tx.get("from"),
            value=int(tx.get("value", 0)),
            gas=int(tx.get("gas", 25_000_000)),
            block="pending" if self._backend is not None else "latest",
        )
        try:
            return hex(int(self.w3.eth.estimate_gas(tx)))  # type: ignore[arg-type]
        except Exception as exc:
            raise RpcError(-32000, f"gas estimation failed: {exc}") from None

    def _rpc_send_raw(self, params: list[Any]) -> Any:
        raw = bytes.fromhex(str(params[0]).removeprefix("0x"))
        return self._apply_raw(raw)[0]

    def _rpc_receipt(self, params: list[Any]) -> Any:
        tx_hash = str(params[0]).lower()
        if tx_hash in self._pending:
            return None
        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except Exception:
            return None
        if receipt.get("blockNumber") is None:
            return None
        out = _to_rpc(receipt)
        out.pop("state_root", None)  # eth-tester extras, not in the standard receipt
        for log in out.get("logs", []):
            log.pop("type", None)
            log["removed"] = False
        return out

    def _rpc_tx(self, params: list[Any]) -> Any:
        try:
            tx = self.w3.eth.get_transaction(str(params[0]))  # type: ignore[arg-type]
        except Exception:
            return None
        out = _to_rpc(tx)
        if str(params[0]).lower() in self._pending:
            out.update(blockHash=None, blockNumber=None, transactionIndex=None)
        return out

    def _rpc_block(self, params: list[Any], by_hash: bool = False) -> Any:
        ident: Any = str(params[0]) if by_hash else _block_id(params[0])
        full = bool(params[1]) if len(params) > 1 else False
        try:
            block = self.w3.eth.get_block(ident, full)
        except Exception:
            return None
        return _to_rpc(block)

    def _rpc_logs(self, params: list[Any]) -> Any:
        query = params[0] if params else {}
        head = self._indexed_upto
        if query.get("blockHash"):
            wanted = str(query["blockHash"]).lower()
            numbers = [n for n, h in self._block_hashes.items() if h == wanted]
            if not numbers:
                raise RpcError(-32000, f"unknown block {wanted}")
            start = end = numbers[0]
        else:
            start = _block_number(query.get("fromBlock", "latest"), head)
            end = _block_number(query.get("toBlock", "latest"), head)
        if end < start:
            return []
        if end - start + 1 > MAX_LOG_RANGE:
            raise RpcError(
                -32005,
                f"block range too large: {end - start + 1} blocks; the devnet answers at most "
                f"{MAX_LOG_RANGE} per eth_getLogs query (narrow fromBlock/toBlock)",
            )
        addresses = query.get("address")
        if isinstance(addresses, str):
            addresses = [addresses]
        wanted_addresses = {a.lower() for a in addresses} if addresses else None
        topics = [
            None if t is None else {x.lower() for x in ([t] if isinstance(t, str) else t)}
            for t in (query.get("topics") or [])
        ]
        out = []
        for number in range(start, end + 1):
            for log in self._logs_by_block.get(number, ()):
                if wanted_addresses is not None and log.address.lower() not in wanted_addresses:
                    continue
                if any(
                    want is not None and (i >= len(log.topics) or log.topics[i] not in want)
                    for i, want in enumerate(topics)
                ):
                    continue
                out.append(log.rpc())
        return out


_TEE_FIELDS = (
    "owner",
    "paymentAddress",
    "endpoint",
    "publicKey",
    "tlsCertificate",
    "pcrHash",
    "teeType",
    "enabled",
    "registeredAt",
    "lastHeartbeatAt",
    "ohttpConfig",
)
_OHTTP_FIELDS = ("keyId", "kemId", "kdfId", "aeadId", "publicKey", "keyConfig", "registeredAt")


def _rpc_fee_history(chain: Chain, params: list[Any]) -> Any:
    count = int(params[0], 16) if isinstance(params[0], str) else int(params[0])
    newest = _block_id(params[1] if len(params) > 1 else "latest")
    percentiles = params[2] if len(params) > 2 else []
    return _to_rpc(chain.w3.eth.fee_history(count, newest, percentiles))


_RPC_METHODS: dict[str, Callable[[Chain, list[Any]], Any]] = {
    "web3_clientVersion": lambda c, p: "og-chat-devnet/py-evm",
    "eth_chainId": lambda c, p: hex(c.chain_id),
    "net_version": lambda c, p: str(c.chain_id),
    "net_listening": lambda c, p: True,
    "eth_syncing": lambda c, p: False,
    "eth_accounts": lambda c, p: [],
    "eth_blockNumber": lambda c, p: hex(c._indexed_upto),
    "eth_gasPrice": lambda c, p: hex(int(c.w3.eth.gas_price)),
    "eth_maxPriorityFeePerGas": lambda c, p: hex(PRIORITY_FEE_PER_GAS),
    "eth_feeHistory": _rpc_fee_history,
    "eth_getBalance": lambda c, p: hex(
        int(c.w3.eth.get_balance(_addr(p[0]), _block_id(p[1] if len(p) > 1 else "latest")))
    ),
    "eth_getCode": lambda c, p: (
        "0x"
        + bytes(c.w3.eth.get_code(_addr(p[0]), _block_id(p[1] if len(p) > 1 else "latest"))).hex()
    ),
    "eth_getStorageAt": lambda c, p: (
        "0x"
        + bytes(
            c.w3.eth.get_storage_at(
                _addr(p[0]), int(p[1], 16), _block_id(p[2] if len(p) > 2 else "latest")
            )
        ).hex()
    ),
    "eth_getTransactionCount": lambda c, p: hex(
        c._pending_nonce(_addr(p[0]))
        if (p[1] if len(p) > 1 else "latest") == "pending"
        else int(
            c.w3.eth.get_transaction_count(_addr(p[0]), _block_id(p[1] if len(p) > 1 else "latest"))
        )
    ),
    "eth_call": Chain._rpc_call,
    "eth_estimateGas": Chain._rpc_estimate,
    "eth_sendRawTransaction": Chain._rpc_send_raw,
    "eth_getTransactionReceipt": Chain._rpc_receipt,
    "eth_getTransactionByHash": Chain._rpc_tx,
    "eth_getBlockByNumber": Chain._rpc_block,
    "eth_getBlockByHash": lambda c, p: c._rpc_block(p, by_hash=True),
    "eth_getLogs": Chain._rpc_logs,
}


# --------------------------------------------------------------------------- helpers


def _addr(address: str) -> Any:
    """Checksummed (typed Any: web3's stubs want ChecksumAddress)."""
    from eth_utils.address import to_checksum_address

    return to_checksum_address(address)


def _checksum(raw: bytes) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(raw))


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _b(data: Any) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return bytes.fromhex(str(data).removeprefix("0x"))


def _revert_data(exc: Exception) -> bytes:
    data = getattr(exc, "data", None)
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    return b""


def _block_id(value: Any) -> Any:
    if isinstance(value, int):
        return value
    text = str(value)
    if text in ("latest", "pending", "earliest", "safe", "finalized"):
        return text
    return int(text, 16) if text.startswith("0x") else int(text)


def _block_number(value: Any, head: int) -> int:
    ident = _block_id(value)
    if ident == "earliest":
        return 0
    if isinstance(ident, str):
        return head
    return int(ident)


_QUANTITY_FIELDS = (
    "gas",
    "gasPrice",
    "value",
    "nonce",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "chainId",
    "type",
)


def _tx_from_rpc(obj: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC transaction object (hex quantities) → what web3 takes (ints)."""
    tx: dict[str, Any] = {}
    for key, value in obj.items():
        if value is None:
            continue
        if key in _QUANTITY_FIELDS:
            tx[key] = int(value, 16) if isinstance(value, str) else int(value)
        elif key == "input":
            tx["data"] = value
        elif key in ("from", "to"):
            tx[key] = _addr(value)
        elif key in ("data", "accessList"):
            tx[key] = value
    tx.pop("type", None)
    tx.pop("chainId", None)
    return tx


def _to_rpc(value: Any) -> Any:
    """web3's formatted results → JSON-RPC shape: ints as hex quantities, bytes as 0x data."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_to_rpc(v) for v in value]
    if hasattr(value, "items"):
        return {str(k): _to_rpc(v) for k, v in value.items()}
    return str(value)
