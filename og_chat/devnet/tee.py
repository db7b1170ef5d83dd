"""The devnet TEE's identity and the gateway's signing scheme (og-sdk-wire.md §11).

The signing scheme itself (canonical request, hashes, RSA-PSS) is the sdk's
(`og_chat.sdk.tee`), so client and devnet agree by construction; this module adds
`TeeKeys`, the enclave stand-in: an RSA-2048 signing key made at start, its
`tee_id = 0x + keccak256(DER SPKI)`, and a self-signed TLS certificate (on a
separate P-256 key: a small certificate is cheap to store on-chain) that the
devnet registers so clients can pin it.

The byte-level rules follow the live gateway (`tee_manager.py`,
`chat_controller.py`) and the official SDK's verifier (`tee_verify.py`):
`json.dumps(canonical, sort_keys=True)` with the default separators, and for
tool calls `json.dumps([{id, type, function:{name, arguments}}], sort_keys=True)`.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from dataclasses import asdict, dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from og_chat.sdk.tee import (
    hash_canonical,
    hash_text,
    message_hash,
    sign_message,
    tee_id_for,
    verify_message,
)


def pem_from_der(public_key_der: bytes) -> str:
    """A DER SPKI public key (as the registry stores it) as PEM."""
    key = serialization.load_der_public_key(bytes(public_key_der))
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def verify_response(
    *,
    canonical_request: dict[str, Any],
    output: str,
    response: dict[str, Any],
    public_key_pem: str,
) -> bool:
    """Check a response's `tee_*` fields against what was sent and received.

    `response` is the non-stream body or the final SSE event. Recomputes both
    hashes rather than trusting the reported ones.
    """
    try:
        ts = int(response["tee_timestamp"])
        in_hash = hash_canonical(canonical_request)
        out_hash = hash_text(output)
        if str(response["tee_request_hash"]).removeprefix("0x") != in_hash.hex():
            return False
        if str(response["tee_output_hash"]).removeprefix("0x") != out_hash.hex():
            return False
        return verify_message(
            public_key_pem, str(response["tee_signature"]), message_hash(in_hash, out_hash, ts)
        )
    except (KeyError, TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# The enclave stand-in
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """The `tee_*` fields of one response, named as the gateway's response body names them."""

    tee_signature: str
    tee_request_hash: str
    """hex, no 0x (as the gateway sends it)."""
    tee_output_hash: str
    tee_timestamp: int
    tee_id: str

    def fields(self) -> dict[str, Any]:
        """The response-body fields (the dataclass's own names: no second list to keep in step)."""
        return asdict(self)


class TeeKeys:
    """An RSA-2048 signing key, its TEE id and a self-signed TLS certificate.

    Made fresh on every start, as an enclave would; the registry entry is the
    only place a client learns to trust either.
    """

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey,
        hosts: tuple[str, ...] = ("127.0.0.1",),
        tls_key: ec.EllipticCurvePrivateKey | None = None,
    ):
        self.private_key = private_key
        self.tls_key = tls_key or ec.generate_private_key(ec.SECP256R1())
        self.public_key_der: bytes = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key_pem: str = pem_from_der(self.public_key_der)
        self.tee_id: str = tee_id_for(self.public_key_der)
        self.hosts = hosts
        self.certificate: x509.Certificate = _self_signed_certificate(self.tls_key, hosts)
        self.certificate_der: bytes = self.certificate.public_bytes(serialization.Encoding.DER)
        self.certificate_pem: str = self.certificate.public_bytes(
            serialization.Encoding.PEM
        ).decode("ascii")

    @classmethod
    def generate(cls, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TeeKeys:
        """A new key and certificate (RSA-2048, e = 65537)."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), hosts)

    def tls_key_pem(self) -> bytes:
        """PKCS#8 PEM of the TLS key, for the HTTPS server only (never logged)."""
        return self.tls_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def sign_hash(self, msg_hash: bytes) -> str:
        """base64 RSA-PSS(SHA-256, MGF1-SHA256, salt 32) over `msg_hash`."""
        return sign_message(self.private_key, msg_hash)

    def sign(self, canonical_request: dict[str, Any], output: str, timestamp: int) -> Signed:
        """Sign one response: hash request and output, then sign the combined hash."""
        in_hash = hash_canonical(canonical_request)
        out_hash = hash_text(output)
        signature = self.sign_hash(message_hash(in_hash, out_hash, timestamp))
        return Signed(signature, in_hash.hex(), out_hash.hex(), int(timestamp), self.tee_id)


def _self_signed_certificate(
    key: ec.EllipticCurvePrivateKey, hosts: tuple[str, ...]
) -> x509.Certificate:
    """A self-signed server certificate for `hosts`; clients pin it, hostnames unchecked."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "og-chat devnet"),
            x509.NameAttribute(NameOID.COMMON_NAME, "og-chat devnet TEE"),
        ]
    )
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    now = _dt.datetime.now(_dt.UTC)
    public = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(public)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
