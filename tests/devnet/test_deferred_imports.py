"""py_ecc's pairing tables wait for their first use (og_chat/sdk/deferred_imports.py).

In a fresh interpreter (this one has imported py_ecc long ago): a started devnet chain has
not run any pairing module's code, and the two pairing precompiles, called through the
chain's JSON-RPC afterwards, still give the right answers (a pairing product that is one
and one that is not, for BN128 and BLS12-381), after which the modules they use have run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from og_chat.sdk import deferred_imports
    from og_chat.devnet.chain import Chain

    chain = Chain.start()
    try:
        pending = [name for name in deferred_imports.DEFERRED if name in sys.modules]
        assert pending, "py-evm imported no pairing module"
        assert all(deferred_imports.is_deferred(sys.modules[n]) for n in pending), pending

        from py_ecc.optimized_bls12_381 import optimized_curve as bls
        from py_ecc.optimized_bn128 import optimized_curve as bn

        def word(n, size=32):
            return int(n).to_bytes(size, "big")

        def bn_pair(p, q):
            (x, y), (qx, qy) = bn.normalize(p), bn.normalize(q)
            return b"".join(word(v.n) for v in (x, y)) + b"".join(
                word(c) for c in (qx.coeffs[1], qx.coeffs[0], qy.coeffs[1], qy.coeffs[0])
            )

        def bls_pair(p, q):
            (x, y), (qx, qy) = bls.normalize(p), bls.normalize(q)
            return b"".join(word(v.n, 64) for v in (x, y)) + b"".join(
                word(c, 64) for c in (*qx.coeffs, *qy.coeffs)
            )

        def call(address, data):
            return chain.rpc("eth_call", [{"to": address, "data": "0x" + data.hex()}, "latest"])

        one, zero = "0x" + "00" * 31 + "01", "0x" + "00" * 32
        for address, pair, curve in (
            ("0x" + "00" * 19 + "08", bn_pair, bn),
            ("0x" + "00" * 19 + "0f", bls_pair, bls),
        ):
            p, q = curve.multiply(curve.G1, 5), curve.G2
            assert call(address, pair(p, q) + pair(curve.neg(p), q)) == one, address
            assert call(address, pair(p, q) + pair(p, q)) == zero, address
        for used in ("optimized_bn128", "optimized_bls12_381"):  # what the precompiles run
            assert not deferred_imports.is_deferred(sys.modules[f"py_ecc.{used}.optimized_pairing"])
    finally:
        chain.stop()
    print("ok")
    """
)


def test_pairing_tables_wait_for_a_pairing_and_the_precompiles_still_answer() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
