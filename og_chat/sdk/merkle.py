"""Merkle batches of call metadata, for `batch` settlement.

Leaf (one per call):

    leaf = keccak256( tee_id            (bytes32)
                    ‖ request_hash      (bytes32)
                    ‖ output_hash       (bytes32)
                    ‖ keccak256(signature_bytes)   (bytes32; the raw RSA-PSS bytes, base64-decoded)
                    ‖ uint256_be(tee_timestamp) )  (32 bytes)

i.e. `keccak256(abi.encode(bytes32, bytes32, bytes32, bytes32, uint256))`. The
signature is folded in by its hash so every leaf field is one 32-byte word.

Tree: OpenZeppelin `MerkleProof` style — an inner node is
`keccak256(min(a, b) ‖ max(a, b))` (sorted pair), so a proof is a flat list of
siblings and needs no left/right flags. An unpaired last node on a level is
carried up unchanged. A single leaf is its own root (empty proof).
"""

from __future__ import annotations

import base64

from eth_hash.auto import keccak


def _word(value: bytes | str) -> bytes:
    """A 32-byte word from bytes or (0x-)hex."""
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw


def leaf_hash(
    *,
    tee_id: bytes | str,
    request_hash: bytes | str,
    output_hash: bytes | str,
    tee_signature: str | bytes,
    tee_timestamp: int,
) -> bytes:
    """The leaf for one call (formula in the module docstring).

    `tee_signature` is the base64 string from the response (or raw bytes).
    """
    sig = (
        base64.b64decode(tee_signature) if isinstance(tee_signature, str) else bytes(tee_signature)
    )
    return keccak(
        _word(tee_id)
        + _word(request_hash)
        + _word(output_hash)
        + keccak(sig)
        + int(tee_timestamp).to_bytes(32, "big")
    )


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Sorted-pair node hash, as OpenZeppelin's `_hashPair`."""
    return keccak(a + b) if a <= b else keccak(b + a)


def build_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """All levels, leaves first, root last."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        nxt = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        levels.append(nxt)
    return levels


def proof_for(levels: list[list[bytes]], index: int) -> list[bytes]:
    """Sibling hashes from leaf `index` up to the root."""
    proof = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def verify_proof(leaf: bytes | str, proof: list[bytes] | list[str], root: bytes | str) -> bool:
    """True when folding `proof` into `leaf` gives `root` (OpenZeppelin `MerkleProof.verify`)."""
    node = _word(leaf)
    for sibling in proof:
        node = hash_pair(node, _word(sibling))
    return node == _word(root)
