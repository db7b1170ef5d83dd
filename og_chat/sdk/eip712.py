"""EIP-712 hashing for the structs og-chat signs, without eth_account.

eth_account costs about a second to import (it loads eth-keyfile, which builds BLS
curve tables), which is most of what `og-chat ask` spends before its first byte.
Signing a Permit2 or EIP-3009 authorization needs only the EIP-712 digest and a
secp256k1 signature: the digest is computed here, the signature by coincurve
(`signing.sign_typed_data`). tests/sdk/test_vectors.py checks both against the
shared vectors byte for byte, and against eth_account on random messages.

Supported member types: structs defined in `types`, `address`, `bool`, `string`,
`bytes`, `bytes1`..`bytes32`, `uint8`..`uint256`, `int8`..`int256` (what x402 and
Permit2 use; arrays are refused rather than guessed at).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .eth import from_hex, keccak

Types = Mapping[str, list[dict[str, str]]]
"""`{"StructName": [{"name": ..., "type": ...}, ...]}` as in an EIP-712 message."""


def _dependencies(primary: str, types: Types, found: set[str]) -> set[str]:
    if primary in found or primary not in types:
        return found
    found.add(primary)
    for member in types[primary]:
        _dependencies(member["type"], types, found)
    return found


def encode_type(primary: str, types: Types) -> str:
    """`Primary(type name,...)Dep(...)`: the primary type, then its dependencies sorted."""
    deps = sorted(_dependencies(primary, types, set()) - {primary})
    return "".join(
        name + "(" + ",".join(m["type"] + " " + m["name"] for m in types[name]) + ")"
        for name in [primary, *deps]
    )


def type_hash(primary: str, types: Types) -> bytes:
    """keccak of `encode_type`."""
    return keccak(encode_type(primary, types).encode())


def _integer(kind: str, value: Any) -> bytes:
    if isinstance(value, bool):
        raise ValueError(f"{kind} is not a bool")
    number = int(value, 0) if isinstance(value, str) else int(value)
    bits = int(kind.removeprefix("u").removeprefix("int") or 256)
    if kind.startswith("uint"):
        if not 0 <= number < 2**bits:
            raise ValueError(f"{number} does not fit {kind}")
        return number.to_bytes(32, "big")
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise ValueError(f"{number} does not fit {kind}")
    return (number % 2**256).to_bytes(32, "big")


def _raw_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return from_hex(value)
    raise ValueError(f"not bytes: {type(value).__name__}")


def encode_value(kind: str, value: Any, types: Types) -> bytes:
    """One member, encoded to the 32 bytes `encodeData` concatenates."""
    if kind in types:
        return keccak(encode_data(kind, value, types))
    if kind == "string":
        return keccak(str(value).encode("utf-8"))
    if kind == "bytes":
        return keccak(_raw_bytes(value))
    if kind == "address":
        raw = _raw_bytes(value)
        if len(raw) != 20:
            raise ValueError(f"not an address: {value!r}")
        return raw.rjust(32, b"\x00")
    if kind == "bool":
        return (1 if value else 0).to_bytes(32, "big")
    if kind.startswith("bytes"):
        raw = _raw_bytes(value)
        size = int(kind[5:])
        if not 1 <= size <= 32 or len(raw) != size:
            raise ValueError(f"{kind} needs {size} bytes, got {len(raw)}")
        return raw.ljust(32, b"\x00")
    if kind.startswith(("uint", "int")):
        return _integer(kind, value)
    raise ValueError(f"EIP-712 type {kind!r} is not supported here")


def encode_data(primary: str, data: Mapping[str, Any], types: Types) -> bytes:
    """`typeHash ‖ enc(member₁) ‖ …`."""
    return type_hash(primary, types) + b"".join(
        encode_value(m["type"], data[m["name"]], types) for m in types[primary]
    )


def hash_struct(primary: str, data: Mapping[str, Any], types: Types) -> bytes:
    """keccak of `encode_data`."""
    return keccak(encode_data(primary, data, types))


def hashes(full_message: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """(domain separator, struct hash) of a full EIP-712 message (`types`, `primaryType`,
    `domain`, `message`)."""
    types: Types = full_message["types"]
    domain = hash_struct("EIP712Domain", full_message["domain"], types)
    struct = hash_struct(full_message["primaryType"], full_message["message"], types)
    return domain, struct


def digest(full_message: Mapping[str, Any]) -> bytes:
    """`keccak(0x1901 ‖ domainSeparator ‖ hashStruct(message))`: what is signed."""
    domain, struct = hashes(full_message)
    return keccak(b"\x19\x01" + domain + struct)
