"""The TEE's keys kept in a devnet's state directory, so the TEE is the same one every run.

An enclave would keep its key sealed; the devnet keeps it in two PEM files (0600) beside
its chain, so the registry entry made at the chain's first start and every signature
made since stay valid after a restart. Only these devnet keys live here; they sign
answers, they hold no funds.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .state_dir import StateDir
from .tee import TeeKeys


def load_or_create(state: StateDir, hosts: tuple[str, ...]) -> TeeKeys:
    """The keys kept in `state`, or new ones (then kept there)."""
    signing, tls = state.signing_key_path, state.tls_key_path
    if signing.exists() and tls.exists():
        key = serialization.load_pem_private_key(signing.read_bytes(), password=None)
        tls_key = serialization.load_pem_private_key(tls.read_bytes(), password=None)
        if isinstance(key, rsa.RSAPrivateKey) and isinstance(tls_key, ec.EllipticCurvePrivateKey):
            return TeeKeys(key, hosts, tls_key)
    keys = TeeKeys.generate(hosts)
    signing_pem = keys.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(signing, signing_pem)
    _write_private(tls, keys.tls_key_pem())
    return keys


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path`, readable by its owner only, replacing it atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
