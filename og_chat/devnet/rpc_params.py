"""JSON-RPC parameters, parsed strictly: quantities, data, addresses, blocks, calls, log queries.

Every malformed parameter is an `RpcError(-32602)` naming it, as anvil answers one,
instead of a Python exception deep in the chain code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .chain_errors import RpcError
from .rpc_filters import LogQuery

BLOCK_TAGS = ("latest", "pending", "earliest", "safe", "finalized")
_HEX = re.compile(r"0x[0-9a-fA-F]*")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
MAX_QUANTITY = 2**256 - 1


def invalid(message: str) -> RpcError:
    """The error of a malformed parameter."""
    return RpcError(-32602, f"invalid params: {message}")


def quantity(value: Any, name: str) -> int:
    """A hex quantity (`0x1a`) or a JSON integer, 0 … 2**256-1."""
    if isinstance(value, bool):
        raise invalid(f"{name} must be a hex quantity")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _HEX.fullmatch(value) and len(value) > 2:
        number = int(value, 16)
    else:
        raise invalid(f"{name} must be a hex quantity such as 0x1, got {value!r}")
    if not 0 <= number <= MAX_QUANTITY:
        raise invalid(f"{name} is out of range")
    return number


def data(value: Any, name: str) -> bytes:
    """`0x`-prefixed hex data with an even number of digits."""
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) % 2:
        raise invalid(f"{name} must be 0x-prefixed hex data with whole bytes")
    return bytes.fromhex(value[2:])


def address(value: Any, name: str) -> str:
    """A 20-byte address, returned lower case."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise invalid(f"{name} must be a 0x-prefixed 20-byte address")
    return value.lower()


def hash32(value: Any, name: str) -> str:
    """A 32-byte hash, returned lower case."""
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise invalid(f"{name} must be a 0x-prefixed 32-byte hash")
    return value.lower()


BlockRef = int | str
"""A block: its number, a tag, or `hash:0x…` for a block named by hash (EIP-1898)."""


def block_ref(value: Any, name: str = "block") -> BlockRef:
    """A block parameter: a number, a tag, or an EIP-1898 object `{blockHash}`/`{blockNumber}`."""
    if isinstance(value, str) and value in BLOCK_TAGS:
        return value
    if isinstance(value, str) and _HASH.fullmatch(value):
        return "hash:" + value.lower()
    if isinstance(value, dict):
        if "blockHash" in value:
            return "hash:" + hash32(value["blockHash"], f"{name}.blockHash")
        if "blockNumber" in value:
            return block_ref(value["blockNumber"], f"{name}.blockNumber")
        raise invalid(f"{name} must name blockHash or blockNumber")
    return quantity(value, name)


def optional(params: list[Any], position: int, default: Any = "latest") -> Any:
    """An optional positional parameter; null counts as absent."""
    if len(params) > position and params[position] is not None:
        return params[position]
    return default


@dataclass(frozen=True)
class TxFields:
    """A JSON-RPC transaction (or call) object, decoded; None where the caller left a field out."""

    sender: str | None = None
    to: str | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    value: int = 0
    data: bytes = b""
    nonce: int | None = None
    chain_id: int | None = None
    type: int | None = None
    access_list: tuple[tuple[str, tuple[int, ...]], ...] | None = None


def tx_fields(obj: Any, name: str = "transaction") -> TxFields:
    """Parse a transaction object (`input` wins over `data`, as on anvil)."""
    if not isinstance(obj, dict):
        raise invalid(f"{name} must be an object")

    def q(key: str) -> int | None:
        return None if obj.get(key) is None else quantity(obj[key], f"{name}.{key}")

    payload = obj.get("input") if obj.get("input") is not None else obj.get("data")
    access = obj.get("accessList")
    return TxFields(
        sender=None if obj.get("from") is None else address(obj["from"], f"{name}.from"),
        to=None if obj.get("to") is None else address(obj["to"], f"{name}.to"),
        gas=q("gas"),
        gas_price=q("gasPrice"),
        max_fee_per_gas=q("maxFeePerGas"),
        max_priority_fee_per_gas=q("maxPriorityFeePerGas"),
        value=q("value") or 0,
        data=b"" if payload is None else data(payload, f"{name}.input"),
        nonce=q("nonce"),
        chain_id=q("chainId"),
        type=q("type"),
        access_list=None if access is None else _access_list(access, f"{name}.accessList"),
    )


def _access_list(value: Any, name: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    if not isinstance(value, list):
        raise invalid(f"{name} must be a list")
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or not isinstance(entry.get("storageKeys", []), list):
            raise invalid(f"{name}[{i}] must be {{address, storageKeys}}")
        keys = tuple(
            int(hash32(k, f"{name}[{i}].storageKeys"), 16) for k in entry.get("storageKeys", [])
        )
        out.append((address(entry.get("address"), f"{name}[{i}].address"), keys))
    return tuple(out)


def log_query(obj: Any) -> LogQuery:
    """An `eth_getLogs` / `eth_newFilter` filter object."""
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        raise invalid("the filter must be an object")
    addresses = obj.get("address")
    if isinstance(addresses, str):
        addresses = [addresses]
    if addresses is not None and not isinstance(addresses, list):
        raise invalid("address must be an address or a list of them")
    topics = obj.get("topics") or []
    if not isinstance(topics, list):
        raise invalid("topics must be a list")
    parsed: list[frozenset[str] | None] = []
    for i, t in enumerate(topics):
        if t is None:
            parsed.append(None)
        elif isinstance(t, str):
            parsed.append(frozenset([hash32(t, f"topics[{i}]")]))
        elif isinstance(t, list):
            parsed.append(frozenset(hash32(x, f"topics[{i}]") for x in t) if t else None)
        else:
            raise invalid(f"topics[{i}] must be a hash, a list of hashes or null")
    block_hash = None if obj.get("blockHash") is None else hash32(obj["blockHash"], "blockHash")
    return LogQuery(
        from_block=_log_bound(obj.get("fromBlock")),
        to_block=_log_bound(obj.get("toBlock")),
        addresses=None
        if addresses is None
        else frozenset(address(a, "address") for a in addresses),
        topics=tuple(parsed),
        block_hash=block_hash,
    )


def _log_bound(value: Any) -> int | None:
    """A fromBlock/toBlock: a number, or None for the head at the time of asking."""
    if value is None or value in ("latest", "pending", "safe", "finalized"):
        return None
    if value == "earliest":
        return 0
    return quantity(value, "fromBlock/toBlock")
