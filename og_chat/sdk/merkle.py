"""Merkle batches of call metadata, for `batch` settlement.

Leaf (one per call):

    leaf = keccak256( call_id           (bytes32; the gateway's id for the call)
                    ‖ tee_id            (bytes32)
                    ‖ request_hash      (bytes32)
                    ‖ output_hash       (bytes32)
                    ‖ keccak256(signature_bytes)   (bytes32; the raw RSA-PSS bytes, base64-decoded)
                    ‖ uint256_be(tee_timestamp) )  (32 bytes)

i.e. `keccak256(abi.encode(bytes32, bytes32, bytes32, bytes32, bytes32, uint256))`. The
signature is folded in by its hash so every leaf field is one 32-byte word. The call id
makes every leaf unique, even for the same prompt answered the same way twice in one
second; a call without one (a gateway that assigns none) has the five-word leaf.

Tree: OpenZeppelin `MerkleProof` style — an inner node is
`keccak256(min(a, b) ‖ max(a, b))` (sorted pair), so a proof is a flat list of
siblings and needs no left/right flags. An unpaired last node on a level is
carried up unchanged. A single leaf is its own root (empty proof).
"""

from __future__ import annotations

import base64

from .eth import keccak, word, word32
from .receipt import Receipt


def leaf_hash(
    *,
    call_id: bytes | str | None = None,
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
    prefix = word32(call_id) if call_id is not None else b""
    return keccak(
        prefix
        + word32(tee_id)
        + word32(request_hash)
        + word32(output_hash)
        + keccak(sig)
        + word(int(tee_timestamp))
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
    node = word32(leaf)
    for sibling in proof:
        node = hash_pair(node, word32(sibling))
    return node == word32(root)


LEAF_FIELDS = ("call_id", "tee_id", "request_hash", "output_hash", "tee_signature", "tee_timestamp")
"""`leaf_hash`'s arguments, which a `Receipt` carries under the same names."""


def receipt_leaf(receipt: Receipt) -> str | None:
    """A receipt's batch leaf as `0x` hex, recomputed from its own TEE fields.

    None when a field is missing or malformed: the settlement tracker then attaches no
    proof and `receipts verify` reports the leaf as not this receipt's, so a stored
    leaf is never trusted without being recomputed. Only `call_id` may be missing (the
    five-word leaf of a gateway that assigns none).
    """
    fields = {name: getattr(receipt, name) for name in LEAF_FIELDS}
    if not all(fields[name] for name in LEAF_FIELDS[1:-1]) or fields["tee_timestamp"] is None:
        return None
    try:
        leaf = leaf_hash(**fields)
    except (ValueError, TypeError, OverflowError):  # a hand-edited receipt: not a leaf
        return None
    return "0x" + leaf.hex()
