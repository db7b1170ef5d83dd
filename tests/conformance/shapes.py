"""Comparing two JSON-RPC answers by shape: field names, types, lengths, error codes.

Values that legitimately differ between two chains (hashes, chain id, balances, block
numbers) are compared by kind only: a quantity is minimal hex, an address 20 bytes, a
hash 32 bytes, data whole bytes. Field names known to hold one kind are checked for
it on both sides. Everything else must match in type and, for lists, in length
(except Merkle proofs, whose depth depends on the rest of the state).
"""

from __future__ import annotations

import re
from typing import Any

QUANTITY = re.compile(r"0x(0|[1-9a-f][0-9a-f]*)")
DATA = re.compile(r"0x([0-9a-fA-F]{2})*")

QUANTITY_KEYS = frozenset(
    [
        "baseFeePerGas",
        "blobGasPrice",
        "blobGasUsed",
        "blockNumber",
        "blockTimestamp",
        "balance",
        "chainId",
        "cumulativeGasUsed",
        "difficulty",
        "effectiveGasPrice",
        "excessBlobGas",
        "gas",
        "gasLimit",
        "gasPrice",
        "gasUsed",
        "logIndex",
        "maxFeePerBlobGas",
        "maxFeePerGas",
        "maxPriorityFeePerGas",
        "nonce",
        "number",
        "oldestBlock",
        "r",
        "s",
        "size",
        "status",
        "timestamp",
        "totalDifficulty",
        "transactionIndex",
        "type",
        "v",
        "value",
        "yParity",
    ]
)
ADDRESS_KEYS = frozenset(["address", "contractAddress", "from", "miner", "to"])
HASH_KEYS = frozenset(
    [
        "blockHash",
        "codeHash",
        "hash",
        "key",
        "mixHash",
        "parentBeaconBlockRoot",
        "parentHash",
        "receiptsRoot",
        "requestsHash",
        "sha3Uncles",
        "stateRoot",
        "storageHash",
        "storageRoot",
        "transactionHash",
        "transactionsRoot",
        "withdrawalsRoot",
    ]
)
PROOF_KEYS = frozenset(("accountProof", "proof"))
"""Lists whose length depends on the trie, not on the method."""


def kind(value: Any, key: str | None = None) -> str:
    """The kind of a JSON value, by its field name where that fixes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    text = str(value)
    if key in QUANTITY_KEYS:
        return "quantity" if QUANTITY.fullmatch(text) else f"bad quantity {text!r}"
    if key in ADDRESS_KEYS:
        return "address" if DATA.fullmatch(text) and len(text) == 42 else f"bad address {text!r}"
    if key == "logsBloom":
        return "bloom" if DATA.fullmatch(text) and len(text) == 514 else f"bad bloom {text!r}"
    if key in HASH_KEYS:
        return "hash" if DATA.fullmatch(text) and len(text) == 66 else f"bad hash {text!r}"
    if DATA.fullmatch(text) or QUANTITY.fullmatch(text):
        return "hex"
    return "string"


def differences(ours: Any, theirs: Any, path: str = "$", key: str | None = None) -> list[str]:
    """Where `ours` and `theirs` differ in shape (empty: same shape)."""
    a, b = kind(ours, key), kind(theirs, key)
    if a != b:
        return [f"{path}: ours is {a}, anvil's is {b} ({_short(ours)} vs {_short(theirs)})"]
    if isinstance(ours, dict):
        out = []
        missing, extra = set(theirs) - set(ours), set(ours) - set(theirs)
        if missing:
            out.append(f"{path}: fields only anvil sends: {sorted(missing)}")
        if extra:
            out.append(f"{path}: fields only we send: {sorted(extra)}")
        for name in sorted(set(ours) & set(theirs)):
            out += differences(ours[name], theirs[name], f"{path}.{name}", name)
        return out
    if isinstance(ours, list):
        if key in PROOF_KEYS:
            return [
                d
                for item in ours + theirs
                for d in differences(item, theirs[0] if theirs else item, f"{path}[]")
            ]
        if len(ours) != len(theirs):
            return [f"{path}: ours has {len(ours)} items, anvil's {len(theirs)}"]
        out = []
        for i, (x, y) in enumerate(zip(ours, theirs, strict=True)):
            out += differences(x, y, f"{path}[{i}]", key)
        return out
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."
