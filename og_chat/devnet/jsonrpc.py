"""The devnet's JSON-RPC 2.0: every standard method a wallet, Foundry, ethers, viem or web3.py
uses against a dev node, answered as anvil answers it.

The envelope follows anvil: a request without `id` is a notification and gets no reply
(an all-notification body gets HTTP 204); a batch answers its requests in order and
leaves notifications out; a body that is neither an object nor an array of objects is
one -32600 error. Unknown methods are -32601, malformed parameters -32602.

On py-evm every method is answered here, from the chain's database (rpc_chain.py), the
chain's own index (logs, filters) and the EVM directly (evm_call.py). A call that runs
code (`eth_call`, `eth_estimateGas`, `eth_createAccessList`, filling an
`eth_sendTransaction`) is capped at `RPC_GAS_CAP` gas, `RPC_TIME_LIMIT` seconds of the
worker's CPU and `RPC_WALL_LIMIT` seconds of the wall clock, and calls from `/rpc` take
one lane of the chain's worker at a time, so no call can stall paid traffic for longer
than that. A sent transaction is answered once it is mined, as
anvil's automine does. On the JSON-RPC backend (anvil) every method is forwarded,
except sending raw transactions (the devnet indexes what it mines) and call gas (capped).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import dataclasses
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from og_chat.sdk.addresses import ZERO_ADDRESS
from og_chat.sdk.eth import keccak

from . import rpc_params as p, rpc_wire as wire
from .chain_errors import RpcError
from .evm_call import CallOutcome, CallRequest, access_list, execute
from .evm_rules import time_limit
from .indexer import TxResult
from .node import PRIORITY_FEE_PER_GAS, ChainRevert, Node
from .rpc_accounts import DevAccounts
from .rpc_chain import ChainReads
from .rpc_filters import FilterBook

log = logging.getLogger("og_chat.devnet.jsonrpc")

MAX_LOG_RANGE = 10_000
"""Widest block range `eth_getLogs` answers for a query that names no topic (one that does
reads only its topic's matches, so it has no limit, as on anvil)."""
RPC_GAS_CAP = 8_000_000
"""Most gas one `eth_call` / `eth_estimateGas` may use: any contract deployment fits
(EIP-170's largest), and py-evm runs it in about three seconds at worst."""
RPC_TIME_LIMIT = 1.0
"""Seconds of the worker's CPU time one call from `/rpc` may take before it is aborted."""
RPC_WALL_LIMIT = 5.0
"""Seconds of the wall clock after which it is aborted however little CPU it had (geth's
`--rpc.evmtimeout` default): the most one call holds the worker on a loaded machine."""
SENT_TIMEOUT = 30.0
"""How long a sent transaction's answer waits for its block."""
CLIENT_VERSION = "og-chat-devnet/py-evm"
_LANE_METHODS = frozenset(
    ("eth_call", "eth_estimateGas", "eth_createAccessList", "eth_sendTransaction",
     "eth_signTransaction")
)  # fmt: skip
"""Methods that run EVM code for a caller: one at a time on the worker."""

Handler = Callable[["JsonRpc", list[Any]], Any]


@dataclass(frozen=True)
class _Sent:
    """A transaction accepted into the pending block: answered with its hash once mined."""

    tx_hash: str
    mined: cf.Future[TxResult]


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


INVALID_REQUEST = "Invalid request"


class JsonRpc:
    """JSON-RPC 2.0 over a node: one call (`call`), or a whole HTTP body (`response`)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.reads = ChainReads(node)
        self.filters = FilterBook(node.index)
        self.accounts = DevAccounts()
        self._lane: asyncio.Lock | None = None

    # -- one call ------------------------------------------------------------------------

    def call(self, method: str, params: list[Any]) -> Any:
        """Answer one call (blocking; a sent transaction waits for its block); RpcError on failure."""
        if self.node.on_worker():
            result = self._answer(method, list(params or []))
            return result.tx_hash if isinstance(result, _Sent) else result
        result = self.node.submit(lambda: self._answer(method, list(params or []))).result()
        if isinstance(result, _Sent):
            # Mined late or the chain stopped: the transaction was accepted all the same.
            with contextlib.suppress(Exception):
                result.mined.result(timeout=SENT_TIMEOUT)
            return result.tx_hash
        return result

    async def call_async(self, method: str, params: list[Any]) -> Any:
        """`call()` awaitable from an event loop without blocking it."""
        job = lambda: self._answer(method, list(params or []))  # noqa: E731
        if method in _LANE_METHODS:
            if self._lane is None:
                self._lane = asyncio.Lock()
            async with self._lane:
                result = await asyncio.wrap_future(self.node.submit(job))
        else:
            result = await asyncio.wrap_future(self.node.submit(job))
        if isinstance(result, _Sent):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(result.mined), SENT_TIMEOUT)
            return result.tx_hash
        return result

    # -- whole bodies --------------------------------------------------------------------

    def response(self, body: Any) -> Any | None:
        """A parsed HTTP body → the response body, or None when nothing is to be sent back."""
        batch = _batch_items(body)
        if batch is None:
            return _error(None, -32600, INVALID_REQUEST)
        if isinstance(batch, dict):
            return self._one(batch)
        return [r for r in (self._one(item) for item in batch) if r is not None] or None

    async def response_async(self, body: Any) -> Any | None:
        """`response()` from an event loop; a batch's calls run one after another."""
        batch = _batch_items(body)
        if batch is None:
            return _error(None, -32600, INVALID_REQUEST)
        if isinstance(batch, dict):
            return await self._one_async(batch)
        return [r for r in [await self._one_async(item) for item in batch] if r is not None] or None

    def _one(self, item: dict[str, Any]) -> dict[str, Any] | None:
        envelope = _envelope(item)
        if isinstance(envelope, dict):
            return envelope
        try:
            return _reply(envelope, self.call(envelope[2], envelope[3]))
        except RpcError as exc:
            return _reply(envelope, exc)

    async def _one_async(self, item: dict[str, Any]) -> dict[str, Any] | None:
        envelope = _envelope(item)
        if isinstance(envelope, dict):
            return envelope
        try:
            return _reply(envelope, await self.call_async(envelope[2], envelope[3]))
        except RpcError as exc:
            return _reply(envelope, exc)

    # -- dispatch (worker) -------------------------------------------------------------

    def _answer(self, method: str, params: list[Any]) -> Any:
        if not self.node.is_pyevm:
            return self._forward(method, params)
        entry = _METHODS.get(method)
        if entry is None:
            raise RpcError(-32601, f"Method not found: the og-chat devnet does not serve {method}")
        handler, most = entry
        if len(params) > most:
            raise RpcError(-32602, f"invalid params: {method} takes at most {most} parameters")
        try:
            return handler(self, params)
        except RpcError:
            raise
        except ChainRevert as exc:
            raise RpcError(3, f"execution reverted: {exc.reason}", exc.data or "0x") from None
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            raise RpcError(-32602, f"invalid params for {method}: {exc}") from None
        except Exception as exc:
            log.exception("JSON-RPC %s failed", method)
            raise RpcError(-32603, f"internal error in {method}: {exc}") from None

    def _forward(self, method: str, params: list[Any]) -> Any:
        """JSON-RPC backend: the node answers; raw transactions go through the devnet's index."""
        if method == "eth_sendRawTransaction" and params:
            tx_hash, mined = self.node.queue_raw(p.data(params[0], "transaction"))
            return _Sent(tx_hash, mined)
        if method in ("eth_call", "eth_estimateGas", "eth_createAccessList") and params:
            call = dict(params[0]) if isinstance(params[0], dict) else params[0]
            if isinstance(call, dict):
                asked = p.quantity(call["gas"], "gas") if call.get("gas") is not None else 0
                call["gas"] = hex(min(asked or RPC_GAS_CAP, RPC_GAS_CAP))
            params = [call, *params[1:]]
        return self.node.passthrough(method, params)

    # -- calls ---------------------------------------------------------------------------

    def _call_request(self, fields: p.TxFields) -> CallRequest:
        return CallRequest(
            sender=fields.sender or ZERO_ADDRESS,
            to=fields.to,
            data=fields.data,
            value=fields.value,
            gas=min(fields.gas or RPC_GAS_CAP, RPC_GAS_CAP),
            access_list=fields.access_list or (),
        )

    def _run(self, request: CallRequest, block: int | str, *, record: bool = False) -> CallOutcome:
        with time_limit(RPC_TIME_LIMIT, RPC_WALL_LIMIT):
            return execute(self.node.pyevm, request, block, record=record)

    def _raise_for(self, outcome: CallOutcome, *, estimating: bool, cap: int) -> None:
        """The error anvil answers for a failed call (revert: code 3 with its data)."""
        if outcome.ok:
            return
        if outcome.timed_out:
            raise RpcError(-32000, f"execution aborted (timeout = {RPC_TIME_LIMIT:g}s)")
        if outcome.revert is not None:
            reason = self.node.events.revert_reason(outcome.revert) if outcome.revert else ""
            message = f"execution reverted: {reason}" if reason else "execution reverted"
            raise RpcError(3, message, wire.data(outcome.revert))
        name = type(outcome.error).__name__
        if name == "OutOfGas" and estimating:
            raise RpcError(-32003, f"Out of gas: gas required exceeds allowance: {cap}")
        raise RpcError(-32603, f"EVM error {name}")

    def eth_call(self, params: list[Any]) -> str:
        request = self._call_request(p.tx_fields(params[0]))
        block = self.reads.state_block(p.block_ref(p.optional(params, 1)))
        outcome = self._run(request, block)
        self._raise_for(outcome, estimating=False, cap=request.gas)
        return wire.data(outcome.output)

    def eth_estimate_gas(self, params: list[Any]) -> str:
        block = self.reads.state_block(p.block_ref(p.optional(params, 1, "pending")))
        return wire.quantity(self._estimate(p.tx_fields(params[0]), block))

    def _estimate(self, fields: p.TxFields, block: int | str) -> int:
        """The least gas the call needs, within 1.5% (geth's search); `nonce` is ignored."""
        request = self._call_request(fields)
        cap = request.gas
        with time_limit(RPC_TIME_LIMIT, RPC_WALL_LIMIT):
            first = execute(self.node.pyevm, request, block)
            self._raise_for(first, estimating=True, cap=cap)
            if not request.data and request.to and not self._has_code(request.to, block):
                return 21_000  # a plain transfer, as geth and anvil answer it

            def runs(gas: int) -> bool:
                try:
                    outcome = execute(self.node.pyevm, dataclasses.replace(request, gas=gas), block)
                except RpcError:  # below the intrinsic gas
                    return False
                if outcome.timed_out:
                    self._raise_for(outcome, estimating=True, cap=cap)
                return outcome.ok

            low, high = first.gas_needed - 1, cap
            optimistic = (first.gas_needed + 2_300) * 64 // 63
            if optimistic < high:
                if runs(optimistic):
                    high = optimistic
                else:
                    low = optimistic
            while low + 1 < high and (high - low) / high >= 0.015:
                middle = (low + high) // 2
                if runs(middle):
                    high = middle
                else:
                    low = middle
        return high

    def _has_code(self, address: str, block: int | str) -> bool:
        return bool(self.reads.state(block).get_code(bytes.fromhex(address[2:])))

    def eth_create_access_list(self, params: list[Any]) -> dict[str, Any]:
        request = self._call_request(p.tx_fields(params[0]))
        block = self.reads.state_block(p.block_ref(p.optional(params, 1, "pending")))
        first = self._run(request, block, record=True)
        self._raise_for(first, estimating=False, cap=request.gas)
        coinbase = bytes(self.reads.chain.header.coinbase)
        found = tuple(access_list(request, first.touched, coinbase))
        second = self._run(dataclasses.replace(request, access_list=found), block)
        self._raise_for(second, estimating=False, cap=request.gas)
        return {
            "accessList": [
                {"address": a, "storageKeys": [wire.data(s.to_bytes(32, "big")) for s in slots]}
                for a, slots in found
            ],
            "gasUsed": wire.quantity(second.gas_used),
        }

    # -- transactions --------------------------------------------------------------------

    def _signed(self, params: list[Any]) -> bytes:
        return self.accounts.sign_transaction(
            p.tx_fields(params[0]),
            chain_id=self.node.chain_id,
            nonce=self.node.pending_nonce,
            base_fee=self.reads.next_base_fee(),
            estimate=lambda fields: self._estimate(fields, "pending"),
        )

    def eth_send_transaction(self, params: list[Any]) -> _Sent:
        return _Sent(*self.node.queue_raw(self._signed(params)))

    def eth_send_raw_transaction(self, params: list[Any]) -> _Sent:
        return _Sent(*self.node.queue_raw(p.data(params[0], "transaction")))

    def eth_get_transaction_count(self, params: list[Any]) -> str:
        address = p.address(params[0], "address")
        ref = p.block_ref(p.optional(params, 1))
        if ref == "pending":
            return wire.quantity(self.node.pending_nonce(address))
        return wire.quantity(int(self.reads.state(ref).get_nonce(bytes.fromhex(address[2:]))))

    # -- state -----------------------------------------------------------------------------

    def state_read(self, read: str, params: list[Any]) -> str:
        """`eth_getBalance` / `eth_getCode` / `eth_getStorageAt` at a block (last parameter)."""
        raw = bytes.fromhex(p.address(params[0], "address")[2:])
        if read == "storage":
            slot = p.quantity(params[1], "slot")
            state = self.reads.state(p.block_ref(p.optional(params, 2)))
            return wire.data(int(state.get_storage(raw, slot)).to_bytes(32, "big"))
        state = self.reads.state(p.block_ref(p.optional(params, 1)))
        if read == "balance":
            return wire.quantity(int(state.get_balance(raw)))
        return wire.data(state.get_code(raw))

    def eth_get_proof(self, params: list[Any]) -> dict[str, Any]:
        address = p.address(params[0], "address")
        if not isinstance(params[1], list):
            raise p.invalid("storage keys must be a list")
        slots = [p.hash32(k, "storage key") for k in params[1]]
        return self.reads.proof(address, slots, p.block_ref(p.optional(params, 2)))

    # -- fees, logs, filters ---------------------------------------------------------------

    def eth_fee_history(self, params: list[Any]) -> dict[str, Any]:
        count = p.quantity(params[0], "blockCount")
        newest = p.block_ref(params[1])
        percentiles = p.optional(params, 2, [])
        if not isinstance(percentiles, list) or any(
            isinstance(x, bool) or not isinstance(x, int | float) or not 0 <= x <= 100
            for x in percentiles
        ):
            raise p.invalid("rewardPercentiles must be numbers from 0 to 100")
        if any(a > b for a, b in itertools.pairwise(percentiles)):
            raise p.invalid("rewardPercentiles must be in ascending order")
        if count == 0:
            return {"baseFeePerGas": [], "gasUsedRatio": [], "oldestBlock": "0x0", "reward": []}
        return self.reads.fee_history(count, newest, [float(x) for x in percentiles])

    def eth_get_logs(self, params: list[Any]) -> list[dict[str, Any]]:
        query = p.log_query(p.optional(params, 0, {}))
        head = self.node.index.head
        if query.block_hash is not None:
            number = self.node.index.block_number_of(query.block_hash)
            if number is None:
                raise RpcError(-32000, "unknown block")
            start = end = number
        else:
            start = head if query.from_block is None else query.from_block
            end = head if query.to_block is None else query.to_block
        by_topic = any(want is not None for want in query.topics)
        if end - start + 1 > MAX_LOG_RANGE and not by_topic:  # a topic query reads its matches
            raise RpcError(
                -32005,
                f"block range too large: {end - start + 1} blocks; the devnet answers at most "
                f"{MAX_LOG_RANGE} per eth_getLogs query without a topic (narrow fromBlock/toBlock, "
                "or name a topic: topic queries have no range limit)",
            )
        for bound in (start, end):
            if bound > head:
                raise RpcError(
                    -32602,
                    f"BlockOutOfRangeError: block height is {head} but requested was {bound}",
                )
        return self.filters.logs_between(query, start, min(end, head))


def _batch_items(body: Any) -> dict[str, Any] | list[dict[str, Any]] | None:
    """The body as one request or a non-empty list of request objects; None if it is neither."""
    if isinstance(body, dict):
        return body
    if isinstance(body, list) and body and all(isinstance(item, dict) for item in body):
        return body
    return None


def _envelope(item: dict[str, Any]) -> tuple[Any, bool, str, list[Any]] | dict[str, Any]:
    """(id, is notification, method, params), or the error object of a malformed request."""
    rid = item.get("id")
    valid_id = rid is None or (isinstance(rid, int | str) and not isinstance(rid, bool))
    if not valid_id:
        return _error(None, -32600, INVALID_REQUEST)
    if item.get("jsonrpc") != "2.0" or not isinstance(item.get("method"), str):
        return _error(rid, -32600, INVALID_REQUEST)
    params = item.get("params")
    if params is None:
        params = []
    if not isinstance(params, list):
        return _error(rid, -32602, "invalid params: params must be an array")
    return rid, "id" not in item, item["method"], params


def _reply(envelope: tuple[Any, bool, str, list[Any]], outcome: Any) -> dict[str, Any] | None:
    """The response object of a request (None for a notification: it gets no reply)."""
    rid, notification = envelope[0], envelope[1]
    if notification:
        return None
    if isinstance(outcome, RpcError):
        return {"jsonrpc": "2.0", "id": rid, "error": outcome.rpc()}
    return {"jsonrpc": "2.0", "id": rid, "result": outcome}


def _not_implemented(what: str) -> Handler:
    def refuse(_: JsonRpc, __: list[Any]) -> Any:
        raise RpcError(-32603, f"Not implemented: {what}")

    return refuse


def _tx_hash(params: list[Any]) -> str:
    return p.hash32(params[0], "transaction hash")


def _block_by(kind: str, params: list[Any]) -> p.BlockRef:
    if kind == "hash":
        return "hash:" + p.hash32(params[0], "block hash")
    return p.block_ref(params[0])


_METHODS: dict[str, tuple[Handler, int]] = {
    # node and network
    "web3_clientVersion": (lambda r, a: CLIENT_VERSION, 0),
    "web3_sha3": (lambda r, a: wire.data(keccak(p.data(a[0], "data"))), 1),
    "net_version": (lambda r, a: str(r.node.chain_id), 0),
    "net_listening": (lambda r, a: True, 0),
    "net_peerCount": (lambda r, a: "0x0", 0),
    "eth_protocolVersion": (lambda r, a: 1, 0),  # anvil answers the number 1
    "eth_chainId": (lambda r, a: wire.quantity(r.node.chain_id), 0),
    "eth_syncing": (lambda r, a: False, 0),
    "eth_coinbase": (lambda r, a: "0x" + bytes(r.reads.chain.header.coinbase).hex(), 0),
    "eth_mining": (lambda r, a: False, 0),
    "eth_hashrate": (lambda r, a: "0x0", 0),
    "eth_getWork": (_not_implemented("the devnet is proof-of-stake; there is no work"), 0),
    "eth_submitWork": (_not_implemented("the devnet is proof-of-stake; there is no work"), 3),
    "eth_submitHashrate": (_not_implemented("the devnet is proof-of-stake"), 2),
    "eth_blockNumber": (lambda r, a: wire.quantity(r.reads.head()), 0),
    # fees
    "eth_gasPrice": (
        lambda r, a: wire.quantity(r.reads.next_base_fee() + PRIORITY_FEE_PER_GAS),
        0,
    ),
    "eth_maxPriorityFeePerGas": (lambda r, a: wire.quantity(PRIORITY_FEE_PER_GAS), 0),
    "eth_blobBaseFee": (
        lambda r, a: wire.quantity(wire.blob_base_fee(int(r.reads.chain.header.excess_blob_gas))),
        0,
    ),
    "eth_feeHistory": (JsonRpc.eth_fee_history, 3),
    # accounts and signing (the devnet's own test accounts)
    "eth_accounts": (lambda r, a: r.accounts.addresses(), 0),
    "eth_sign": (
        lambda r, a: r.accounts.sign_message(p.address(a[0], "address"), p.data(a[1], "message")),
        2,
    ),
    "personal_sign": (
        lambda r, a: r.accounts.sign_message(p.address(a[1], "address"), p.data(a[0], "message")),
        3,
    ),
    "eth_signTypedData_v4": (
        lambda r, a: r.accounts.sign_typed_data(p.address(a[0], "address"), a[1]),
        2,
    ),
    "eth_signTypedData": (_not_implemented("use eth_signTypedData_v4"), 2),
    "eth_signTypedData_v3": (_not_implemented("use eth_signTypedData_v4"), 2),
    "eth_signTransaction": (lambda r, a: wire.data(r._signed(a)), 1),
    "eth_sendTransaction": (JsonRpc.eth_send_transaction, 1),
    "eth_sendRawTransaction": (JsonRpc.eth_send_raw_transaction, 1),
    # state
    "eth_getBalance": (lambda r, a: r.state_read("balance", a), 2),
    "eth_getCode": (lambda r, a: r.state_read("code", a), 2),
    "eth_getStorageAt": (lambda r, a: r.state_read("storage", a), 3),
    "eth_getTransactionCount": (JsonRpc.eth_get_transaction_count, 2),
    "eth_getProof": (JsonRpc.eth_get_proof, 3),
    "eth_getAccount": (
        lambda r, a: r.reads.account(p.address(a[0], "address"), p.block_ref(p.optional(a, 1))),
        2,
    ),
    "eth_call": (JsonRpc.eth_call, 3),
    "eth_estimateGas": (JsonRpc.eth_estimate_gas, 3),
    "eth_createAccessList": (JsonRpc.eth_create_access_list, 2),
    # blocks
    "eth_getBlockByNumber": (
        lambda r, a: r.reads.block_json(_block_by("number", a), bool(p.optional(a, 1, False))),
        2,
    ),
    "eth_getBlockByHash": (
        lambda r, a: r.reads.block_json(_block_by("hash", a), bool(p.optional(a, 1, False))),
        2,
    ),
    "eth_getBlockTransactionCountByNumber": (
        lambda r, a: r.reads.tx_count(_block_by("number", a)),
        1,
    ),
    "eth_getBlockTransactionCountByHash": (lambda r, a: r.reads.tx_count(_block_by("hash", a)), 1),
    "eth_getBlockReceipts": (lambda r, a: r.reads.receipts_json(p.block_ref(a[0])), 1),
    "eth_getUncleCountByBlockNumber": (lambda r, a: r.reads.uncle_count(_block_by("number", a)), 1),
    "eth_getUncleCountByBlockHash": (lambda r, a: r.reads.uncle_count(_block_by("hash", a)), 1),
    "eth_getUncleByBlockNumberAndIndex": (lambda r, a: None, 2),
    "eth_getUncleByBlockHashAndIndex": (lambda r, a: None, 2),
    # transactions
    "eth_getTransactionByHash": (lambda r, a: r.reads.tx_json(_tx_hash(a)), 1),
    "eth_getTransactionReceipt": (lambda r, a: r.reads.receipt_json(_tx_hash(a)), 1),
    "eth_getTransactionByBlockNumberAndIndex": (
        lambda r, a: r.reads.tx_at(_block_by("number", a), p.quantity(a[1], "index")),
        2,
    ),
    "eth_getTransactionByBlockHashAndIndex": (
        lambda r, a: r.reads.tx_at(_block_by("hash", a), p.quantity(a[1], "index")),
        2,
    ),
    # logs and filters
    "eth_getLogs": (JsonRpc.eth_get_logs, 1),
    "eth_newFilter": (lambda r, a: r.filters.new_logs(p.log_query(a[0])), 1),
    "eth_newBlockFilter": (lambda r, a: r.filters.new_blocks(), 0),
    "eth_newPendingTransactionFilter": (lambda r, a: r.filters.new_pending(), 0),
    "eth_getFilterChanges": (lambda r, a: r.filters.changes(str(a[0])), 1),
    "eth_getFilterLogs": (lambda r, a: r.filters.filter_logs(str(a[0])), 1),
    "eth_uninstallFilter": (lambda r, a: r.filters.uninstall(str(a[0])), 1),
}
"""Every method the devnet answers on py-evm: name → (handler, most parameters)."""
