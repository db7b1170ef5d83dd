"""`eth_getProof` answers proofs that verify against the block's state root (EIP-1186).

The proof nodes are checked with the `trie` package's own verifier, independently of
the code that built them: the account (its balance and storage root) for a funded
account, a contract and an empty address, and storage slots set and unset.
"""

from __future__ import annotations

import pytest

from og_chat.devnet.chain import Chain
from og_chat.sdk.addresses import DEVNET_OPERATOR

SLOT_0 = "0x" + "00" * 32
UNSET = "0x" + "00" * 31 + "7f"


@pytest.mark.parametrize("who", ["opg", "test account", "nobody"])
def test_account_and_storage_proofs_verify_against_the_state_root(chain: Chain, who: str) -> None:
    import rlp
    from eth_utils import keccak
    from trie.hexary import HexaryTrie

    address = {
        "opg": chain.addresses.opg,
        "test account": chain.accounts[0].address,
        "nobody": "0x" + "77" * 20,
    }[who]
    proof = chain.rpc("eth_getProof", [address, [SLOT_0, UNSET], "latest"])
    root = bytes.fromhex(chain.rpc("eth_getBlockByNumber", ["latest", False])["stateRoot"][2:])
    nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in proof["accountProof"]]
    account = HexaryTrie.get_from_proof(root, keccak(bytes.fromhex(address[2:])), nodes)
    if who == "nobody":
        assert account == b"" and proof["balance"] == "0x0" and proof["nonce"] == "0x0"
    else:
        nonce, balance, storage_root, code_hash = rlp.decode(account)
        assert int.from_bytes(balance, "big") == int(proof["balance"], 16)
        assert int.from_bytes(nonce, "big") == int(proof["nonce"], 16)
        assert "0x" + storage_root.hex() == proof["storageHash"]
        assert "0x" + code_hash.hex() == proof["codeHash"]
    storage_root = bytes.fromhex(proof["storageHash"][2:])
    for entry in proof["storageProof"]:
        slot_nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in entry["proof"]]
        value = HexaryTrie.get_from_proof(
            storage_root, keccak(bytes.fromhex(entry["key"][2:])), slot_nodes
        )
        proved = int.from_bytes(rlp.decode(value), "big") if value else 0
        assert proved == int(entry["value"], 16)
    if who == "opg":  # slot 0 of OPG holds its owner, the operator
        assert int(proof["storageProof"][0]["value"], 16) == int(DEVNET_OPERATOR, 16)
    assert proof["storageProof"][1]["value"] == "0x0"
