"""TLS pinned to one certificate: a devnet served over HTTPS (`og-chat devnet --tls`).

Such a devnet serves its gateway and its `/rpc` with a self-signed certificate that its
TEE registry names. The client pins that one certificate on every link: httpx takes an
`SSLContext`; web3 goes over requests, which takes a CA file, so the PEM is written once
to a private file. The `/devnet` document carries the PEM, and it is trusted only as far
as the registry says: `check_registered` reads the registry over the pinned RPC and
requires the entry for the gateway's own endpoint to name the same certificate.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
import threading

from .errors import ConfigurationError, OGError
from .tee import fetch_active_tees

_files: dict[str, str] = {}
_files_lock = threading.Lock()


def certificate_der(pem: str) -> bytes:
    """The DER bytes of one PEM certificate; ConfigurationError when it is not one."""
    try:
        return ssl.PEM_cert_to_DER_cert(pem)
    except (ValueError, TypeError):
        raise ConfigurationError(
            "the devnet's tls_certificate is not a PEM certificate",
            hint="is the URL pointing at an og-chat devnet started with --tls?",
        ) from None


def pinned_context(pem: str) -> ssl.SSLContext:
    """An SSLContext that trusts only `pem` (no hostname check: the pin is the identity)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=pem)
    return ctx


def pinned_file(pem: str) -> str:
    """A CA file holding only `pem`, for requests' `verify=` (written once per process, 0600).

    requests also checks the hostname against the certificate's names; a devnet's
    certificate names every host it listens on (and 127.0.0.1, localhost).
    """
    digest = hashlib.sha256(pem.encode()).hexdigest()[:32]
    with _files_lock:
        path = _files.get(digest)
        if path is not None and os.path.exists(path):
            return path
        folder = tempfile.mkdtemp(prefix="og-chat-pin-")
        path = os.path.join(folder, f"{digest}.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(pem)
        _files[digest] = path
        return path


def check_registered(pem: str, *, endpoint: str, rpc_url: str, registry: str) -> None:
    """The registry, read over the RPC pinned to `pem`, names `pem` for `endpoint`.

    A document that names one certificate while the registry names another (or no
    entry for this endpoint) is refused: the pin would then rest on the document alone.
    """
    wanted = certificate_der(pem)
    where = endpoint.rstrip("/")
    try:
        tees = fetch_active_tees(rpc_url, registry, verify=pinned_file(pem))
    except OGError as exc:
        raise ConfigurationError(
            f"cannot confirm the TLS certificate of {where}: {exc}",
            hint="the devnet's RPC must answer over HTTPS with the certificate it publishes",
        ) from None
    for tee in tees:
        if tee.endpoint == where and tee.tls_certificate_der == wanted:
            return
    raise ConfigurationError(
        f"the TEE registry names no TEE at {where} with the certificate it serves",
        hint="refusing to pin a certificate only the /devnet document vouches for",
    )
