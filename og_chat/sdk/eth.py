"""Ethereum helpers the client, the app and the devnet share: one of each.

Addresses, hex, 32-byte words, strict unsigned integers, keccak, and the one
factory for a Web3 over HTTP. web3 and eth-utils are imported inside the
functions that need them (they cost ~0.9 s to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web3 import Web3

UINT256_MAX = 2**256 - 1
MAX_UINT_DIGITS = 78
"""len(str(2**256 - 1)): no uint256 has more decimal digits."""


def is_address(value: object) -> bool:
    """True for a 20-byte hex address (`0x` and 40 hex digits, any case)."""
    if not isinstance(value, str) or len(value) != 42 or not value.startswith(("0x", "0X")):
        return False
    digits = value[2:]
    return digits.isascii() and all(c in "0123456789abcdefABCDEF" for c in digits)


def checksum(address: str | bytes) -> str:
    """EIP-55 checksum form of a hex address (or 20 raw bytes); ValueError otherwise.

    Written out (keccak of the lower-case hex picks each letter's case) rather than
    imported from eth_utils, which costs a third of a second to load.
    """
    if isinstance(address, bytes | bytearray):
        if len(address) != 20:
            raise ValueError(f"not an address: {len(address)} bytes")
        lower = bytes(address).hex()
    elif is_address(address):
        lower = address[2:].lower()
    else:
        raise ValueError(f"not an address: {address!r}")
    mask = keccak(lower.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if int(m, 16) >= 8 else c for c, m in zip(lower, mask[:40], strict=True)
    )


def hex0x(value: Any) -> str:
    """`0x`-prefixed hex of bytes, HexBytes or a hex string (HexBytes 2 drops the `0x`)."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if hasattr(value, "to_0x_hex"):
        return str(value.to_0x_hex())
    text = str(value)
    return text if text.startswith(("0x", "0X")) else "0x" + text


def from_hex(value: str | bytes) -> bytes:
    """Bytes from (0x-)hex; bytes pass through. ValueError on anything else."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return bytes.fromhex(value.removeprefix("0x").removeprefix("0X"))


def word(value: bytes | int | str) -> bytes:
    """A 32-byte big-endian word from an int, bytes or hex (shorter values are left-padded)."""
    if isinstance(value, bool):
        raise ValueError("a word is not a bool")
    if isinstance(value, int):
        if not 0 <= value <= UINT256_MAX:
            raise ValueError("a word holds 0 to 2**256 - 1")
        return value.to_bytes(32, "big")
    raw = from_hex(value)
    if len(raw) > 32:
        raise ValueError(f"expected at most 32 bytes, got {len(raw)}")
    return raw.rjust(32, b"\x00")


def word32(value: bytes | str) -> bytes:
    """Exactly 32 bytes from bytes or hex (a hash, an id); ValueError on any other length."""
    raw = from_hex(value)
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw


def parse_uint(value: object) -> int:
    """A uint256 from the wire: an int, ASCII decimal digits (≤ 78) or 0x-hex (≤ 64 digits).

    Strict on purpose: `int()` accepts "١٢", "1_000" and " 12 ", and `isdigit()`
    accepts "²"; an amount or a nonce from a server must be none of those.
    """
    if isinstance(value, bool):
        raise ValueError("not an unsigned integer: a bool")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value
        if text[:2] in ("0x", "0X"):
            digits = text[2:]
            if not (0 < len(digits) <= 64) or not all(
                c in "0123456789abcdefABCDEF" for c in digits
            ):
                raise ValueError(f"not a hex uint256: {text[:80]!r}")
            number = int(digits, 16)
        else:
            if not (0 < len(text) <= MAX_UINT_DIGITS) or not (text.isascii() and text.isdigit()):
                raise ValueError(f"not a decimal uint256: {text[:80]!r}")
            number = int(text)
    else:
        raise ValueError(f"not an unsigned integer: {type(value).__name__}")
    if not 0 <= number <= UINT256_MAX:
        raise ValueError("out of the uint256 range")
    return number


def parse_amount(value: object) -> int:
    """A token amount from the wire: an int, or ASCII decimal digits (≤ 78), within uint256.

    `parse_uint` without the hex form: x402 writes amounts in decimal, and a server
    that sends `0x...` or `"١٢"` for one is not read generously.
    """
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        raise ValueError(f"not a decimal amount: {value[:80]!r}")
    return parse_uint(value)


def typed_fields(spec: str) -> list[dict[str, str]]:
    """A field list (EIP-712 struct members, ABI inputs/outputs) from `"name:type name:type"`."""
    pairs = (item.split(":") for item in spec.split())
    return [{"name": name, "type": kind} for name, kind in pairs]


def abi_function(
    name: str, inputs: str, outputs: str | list[dict[str, Any]], *, view: bool = False
) -> dict[str, Any]:
    """One function's ABI entry; `inputs`/`outputs` as for `typed_fields` (`":uint256"`)."""
    return {
        "name": name,
        "type": "function",
        "stateMutability": "view" if view else "nonpayable",
        "inputs": typed_fields(inputs),
        "outputs": typed_fields(outputs) if isinstance(outputs, str) else outputs,
    }


def keccak(data: bytes) -> bytes:
    """keccak-256 (Ethereum's, not SHA3-256)."""
    from eth_hash.auto import keccak as _keccak

    return bytes(_keccak(data))


def web3_http(rpc_url: str, *, timeout: float = 30.0, verify: bool | str = True) -> Web3:
    """The one Web3 over HTTP(S); `verify` may name a PEM file to pin (a `--tls` devnet's)."""
    from web3 import HTTPProvider, Web3

    return Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout, "verify": verify}))
