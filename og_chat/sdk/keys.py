"""secp256k1 for Ethereum: an address from a key, a recoverable signature, a recovery,
and a signed EIP-1559 transaction.

coincurve (libsecp256k1, deterministic RFC 6979 nonces, low-s) does the curve work and
`rlp` the transaction encoding; they import in about 0.1 s, where eth_account takes about
a second. The bytes are the same as eth_account's (tests/sdk/test_vectors.py compares them).
"""

from __future__ import annotations

from dataclasses import dataclass

from .eth import checksum, from_hex, keccak

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _secret(private_key: str | bytes) -> bytes:
    raw = from_hex(private_key) if isinstance(private_key, str) else bytes(private_key)
    if len(raw) != 32 or not 0 < int.from_bytes(raw, "big") < SECP256K1_N:
        raise ValueError("not a secp256k1 private key")  # never the key itself
    return raw


def _address(public_uncompressed: bytes) -> str:
    return checksum(keccak(public_uncompressed[1:])[-20:])


def address_of(private_key: str | bytes) -> str:
    """The checksummed address of a private key (hex or 32 bytes)."""
    from coincurve import PublicKey

    return _address(PublicKey.from_secret(_secret(private_key)).format(compressed=False))


def sign_digest(private_key: str | bytes, digest: bytes) -> bytes:
    """65 bytes `r ‖ s ‖ v` over a 32-byte digest, v ∈ {27, 28}, s in the lower half."""
    from coincurve import PrivateKey

    if len(digest) != 32:
        raise ValueError("a digest is 32 bytes")
    signature = PrivateKey(_secret(private_key)).sign_recoverable(digest, hasher=None)
    return signature[:64] + bytes([signature[64] + 27])


def recover(digest: bytes, r: bytes, s: bytes, v: int) -> str:
    """The checksummed address whose key made `(v, r, s)` over `digest`; ValueError if none."""
    from coincurve import PublicKey

    if v not in (27, 28):
        raise ValueError(f"v={v} is not 27 or 28")
    try:
        public = PublicKey.from_signature_and_message(
            bytes(r) + bytes(s) + bytes([v - 27]), digest, hasher=None
        )
    except Exception as exc:  # coincurve raises ValueError or its own errors for bad points
        raise ValueError(f"signature does not recover: {exc}") from None
    return _address(public.format(compressed=False))


@dataclass(frozen=True)
class TxFees:
    """Where a type-2 transaction sits in its sender's sequence and what it pays per gas (wei):
    read together from the chain (`ChainClient.next_transaction_fees`) and signed together, so
    the two fees (both ints) are named, never passed in an order to remember."""

    nonce: int
    max_fee: int
    """The most it pays per gas, base fee and tip together."""
    max_priority_fee: int
    """The tip per gas."""


def sign_eip1559(
    private_key: str | bytes, *, chain_id: int, fees: TxFees, gas: int, to: str, data: bytes
) -> bytes:
    """The raw bytes of a signed type-2 transaction (no access list, no value), ready to
    broadcast."""
    import rlp

    tip, cap = fees.max_priority_fee, fees.max_fee
    fields = [chain_id, fees.nonce, tip, cap, gas, from_hex(to), 0, data, []]
    digest = keccak(b"\x02" + rlp.encode(fields))
    signature = sign_digest(private_key, digest)
    r, s, v = signature[:32], signature[32:64], signature[64] - 27
    signed = [*fields, v, int.from_bytes(r, "big"), int.from_bytes(s, "big")]
    return b"\x02" + bytes(rlp.encode(signed))
