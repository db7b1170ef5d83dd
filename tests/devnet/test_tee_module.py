"""The signing scheme module stays importable by clients without the devnet's heavy stack."""

from __future__ import annotations

import subprocess
import sys

from og_chat.devnet import tee as devtee
from og_chat.sdk import merkle
from og_chat.sdk.tee import canonical_chat_request, tee_id_for


def test_tee_and_merkle_import_without_aiohttp_or_web3() -> None:
    code = (
        "import sys, og_chat.devnet.tee, og_chat.sdk.merkle, og_chat.devnet.faults\n"
        "heavy = [m for m in ('aiohttp', 'web3', 'eth_account', 'eth_tester') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_sign_and_verify_round_trip() -> None:
    keys = devtee.TeeKeys.generate()
    body = {"model": "gpt-5", "messages": [{"role": "developer", "content": "be brief"}]}
    canonical = canonical_chat_request(body)
    assert canonical == {
        "model": "gpt-5",
        "messages": [{"role": "system", "content": "be brief"}],
        "temperature": 0.0,
    }
    signed = keys.sign(canonical, "hello", 1_795_000_000)
    response = signed.fields()
    assert response["tee_id"] == tee_id_for(keys.public_key_der)
    assert devtee.verify_response(
        canonical_request=canonical,
        output="hello",
        response=response,
        public_key_pem=keys.public_key_pem,
    )
    assert not devtee.verify_response(
        canonical_request=canonical,
        output="hullo",
        response=response,
        public_key_pem=keys.public_key_pem,
    )


def test_merkle_proofs_for_every_tree_size() -> None:
    for n in range(1, 12):
        leaves = [bytes([i]) * 32 for i in range(n)]
        levels = merkle.build_levels(leaves)
        root = levels[-1][0]
        for i, leaf in enumerate(leaves):
            assert merkle.verify_proof(leaf, merkle.proof_for(levels, i), root)
        assert not merkle.verify_proof(b"\xff" * 32, merkle.proof_for(levels, 0), root)
