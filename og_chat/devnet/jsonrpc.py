"""The devnet's JSON-RPC: the standard `eth_*` methods a wallet or web3 needs, over a `Node`.

Answers use the wire's shapes (hex quantities, `0x` data). `eth_getLogs` is served
from the node's index, never from eth-tester; `eth_call` and `eth_estimateGas` run
through `Node.simulate`, so a revert answers code 3 with its decoded reason. On the
JSON-RPC backend (anvil) a method the table lacks is forwarded to the node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from og_chat.sdk.eth import checksum, from_hex, hex0x

from .node import PRIORITY_FEE_PER_GAS, BlockId, ChainRevert, Node, RpcError

MAX_LOG_RANGE = 10_000
"""Widest block range `eth_getLogs` answers."""
CALL_GAS = 25_000_000
"""Gas of an `eth_call` / `eth_estimateGas` that names none."""
_BLOCK_TAGS = ("latest", "pending", "earliest", "safe", "finalized")
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

Method = Callable[["JsonRpc", list[Any]], Any]


class JsonRpc:
    """JSON-RPC 2.0 over a node: one call (`call`), or a request object / batch (`response`)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def call(self, method: str, params: list[Any]) -> Any:
        """Answer one standard JSON-RPC call; RpcError on failure."""
        if self.node.on_worker():
            return self._answer(method, list(params or []))
        return self.node.submit(lambda: self._answer(method, list(params or []))).result()

    async def call_async(self, method: str, params: list[Any]) -> Any:
        """`call()` awaitable from an event loop without blocking it."""
        return await asyncio.wrap_future(
            self.node.submit(lambda: self._answer(method, list(params or [])))
        )

    def response(self, request: Any) -> Any:
        """A whole JSON-RPC request object (or batch) → its response object(s)."""
        if isinstance(request, list):
            return [self.response(r) for r in request]
        rid = request.get("id") if isinstance(request, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {"code": -32600, "message": "invalid request"},
            }
        try:
            result = self.call(request["method"], request.get("params") or [])
        except RpcError as exc:
            return {"jsonrpc": "2.0", "id": rid, "error": exc.rpc()}
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def _answer(self, method: str, params: list[Any]) -> Any:
        handler = _METHODS.get(method)
        if handler is None:
            if not self.node.is_pyevm:
                return self.node.passthrough(method, params)
            raise RpcError(-32601, f"method {method} is not supported by the og-chat devnet")
        try:
            return handler(self, params)
        except RpcError:
            raise
        except ChainRevert as exc:
            raise RpcError(3, f"execution reverted: {exc.reason}", exc.data or "0x") from None
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            raise RpcError(-32602, f"invalid params for {method}: {exc}") from None

    # -- methods that need more than one line --------------------------------------------

    def _simulate(self, tx: dict[str, Any], block: BlockId) -> bytes:
        return self.node.simulate(
            tx.get("to"),
            from_hex(tx.get("data", b"")),
            sender=tx.get("from"),
            value=int(tx.get("value", 0)),
            gas=int(tx.get("gas", CALL_GAS)),
            block=block,
        )

    def eth_call(self, params: list[Any]) -> str:
        tx = _tx_from_rpc(params[0])
        return hex0x(self._simulate(tx, _block_id(_param(params, 1))))

    def eth_estimate_gas(self, params: list[Any]) -> str:
        tx = _tx_from_rpc(params[0])
        # A revert surfaces with its reason first; then eth-tester's binary search sizes the gas.
        self._simulate(tx, "pending" if self.node.is_pyevm else "latest")
        try:
            return hex(int(self.node.eth.estimate_gas(tx)))
        except Exception as exc:
            raise RpcError(-32000, f"gas estimation failed: {exc}") from None

    def eth_send_raw_transaction(self, params: list[Any]) -> str:
        return self.node.queue_raw(from_hex(str(params[0])))[0]

    def eth_get_transaction_receipt(self, params: list[Any]) -> Any:
        tx_hash = str(params[0]).lower()
        if tx_hash in self.node.index.pending:
            return None
        try:
            receipt = self.node.eth.get_transaction_receipt(tx_hash)
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

    def eth_get_transaction_by_hash(self, params: list[Any]) -> Any:
        try:
            tx = self.node.eth.get_transaction(str(params[0]))
        except Exception:
            return None
        out = _to_rpc(tx)
        if str(params[0]).lower() in self.node.index.pending:
            out.update(blockHash=None, blockNumber=None, transactionIndex=None)
        return out

    def eth_get_block(self, ident: BlockId, params: list[Any]) -> Any:
        try:
            return _to_rpc(self.node.eth.get_block(ident, bool(_param(params, 1, False))))
        except Exception:
            return None

    def eth_get_transaction_count(self, params: list[Any]) -> str:
        address, block = checksum(params[0]), _param(params, 1)
        if block == "pending":
            return hex(self.node.pending_nonce(address))
        return hex(int(self.node.eth.get_transaction_count(address, _block_id(block))))

    def eth_fee_history(self, params: list[Any]) -> Any:
        count = int(params[0], 16) if isinstance(params[0], str) else int(params[0])
        history = self.node.eth.fee_history(
            count, _block_id(_param(params, 1)), _param(params, 2, [])
        )
        return _to_rpc(history)

    def eth_get_logs(self, params: list[Any]) -> list[dict[str, Any]]:
        query: Mapping[str, Any] = params[0] if params else {}
        index = self.node.index
        if query.get("blockHash"):
            number = index.block_number_of(str(query["blockHash"]))
            if number is None:
                raise RpcError(-32000, f"unknown block {str(query['blockHash']).lower()}")
            start = end = number
        else:
            start = _block_number(query.get("fromBlock", "latest"), index.head)
            end = _block_number(query.get("toBlock", "latest"), index.head)
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
        topics = [
            None if t is None else {x.lower() for x in ([t] if isinstance(t, str) else t)}
            for t in (query.get("topics") or [])
        ]
        wanted = {a.lower() for a in addresses} if addresses else None
        return [log.rpc() for log in index.logs(start, end, wanted, topics)]

    def state_read(self, read: str, params: list[Any]) -> str:
        """`eth_getBalance` / `eth_getCode` / `eth_getStorageAt` at a block (last parameter)."""
        address = checksum(params[0])
        eth = self.node.eth
        if read == "balance":
            return hex(int(eth.get_balance(address, _block_id(_param(params, 1)))))
        if read == "code":
            return hex0x(bytes(eth.get_code(address, _block_id(_param(params, 1)))))
        slot = int(params[1], 16)
        return hex0x(bytes(eth.get_storage_at(address, slot, _block_id(_param(params, 2)))))


_METHODS: dict[str, Method] = {
    "web3_clientVersion": lambda r, p: "og-chat-devnet/py-evm",
    "eth_chainId": lambda r, p: hex(r.node.chain_id),
    "net_version": lambda r, p: str(r.node.chain_id),
    "net_listening": lambda r, p: True,
    "eth_syncing": lambda r, p: False,
    "eth_accounts": lambda r, p: [],
    "eth_blockNumber": lambda r, p: hex(r.node.index.head),
    "eth_gasPrice": lambda r, p: hex(int(r.node.eth.gas_price)),
    "eth_maxPriorityFeePerGas": lambda r, p: hex(PRIORITY_FEE_PER_GAS),
    "eth_feeHistory": JsonRpc.eth_fee_history,
    "eth_getBalance": lambda r, p: r.state_read("balance", p),
    "eth_getCode": lambda r, p: r.state_read("code", p),
    "eth_getStorageAt": lambda r, p: r.state_read("storage", p),
    "eth_getTransactionCount": JsonRpc.eth_get_transaction_count,
    "eth_call": JsonRpc.eth_call,
    "eth_estimateGas": JsonRpc.eth_estimate_gas,
    "eth_sendRawTransaction": JsonRpc.eth_send_raw_transaction,
    "eth_getTransactionReceipt": JsonRpc.eth_get_transaction_receipt,
    "eth_getTransactionByHash": JsonRpc.eth_get_transaction_by_hash,
    "eth_getBlockByNumber": lambda r, p: r.eth_get_block(_block_id(p[0]), p),
    "eth_getBlockByHash": lambda r, p: r.eth_get_block(str(p[0]), p),
    "eth_getLogs": JsonRpc.eth_get_logs,
}


# -- parameters and results -----------------------------------------------------------


def _param(params: list[Any], position: int, default: Any = "latest") -> Any:
    """An optional positional parameter (a block tag unless said otherwise)."""
    return params[position] if len(params) > position else default


def _block_id(value: Any) -> BlockId:
    """A block parameter: a tag as it is, a number from hex or decimal."""
    if isinstance(value, int):
        return value
    text = str(value)
    if text in _BLOCK_TAGS:
        return text
    return int(text, 16) if text.startswith("0x") else int(text)


def _block_number(value: Any, head: int) -> int:
    """A block parameter as a number: `earliest` is 0, every other tag the head."""
    ident = _block_id(value)
    if ident == "earliest":
        return 0
    return head if isinstance(ident, str) else ident


def _tx_from_rpc(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-RPC transaction object (hex quantities) → what web3 takes (ints)."""
    tx: dict[str, Any] = {}
    for key, value in obj.items():
        if value is None:
            continue
        if key in _QUANTITY_FIELDS:
            tx[key] = int(value, 16) if isinstance(value, str) else int(value)
        elif key in ("data", "input"):
            if not isinstance(value, str):
                raise ValueError(f"{key} must be 0x-hex")
            tx["data"] = value
        elif key in ("from", "to"):
            tx[key] = checksum(value)
        elif key == "accessList":
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
    if isinstance(value, bytes | bytearray):
        return hex0x(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return [_to_rpc(v) for v in value]
    if hasattr(value, "items"):
        return {str(k): _to_rpc(v) for k, v in value.items()}
    return str(value)
