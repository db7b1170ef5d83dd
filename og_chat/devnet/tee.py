"""The devnet TEE's identity and the gateway's signing scheme (og-sdk-wire.md §11).

Two halves:

* Pure functions a *client* can import to check a response — canonical
  request, request/output hashes, the signed message hash, RSA-PSS verify.
  They import only `eth_hash` (keccak) and `cryptography`, never aiohttp or
  web3, so the SDK can mirror or re-export them without paying for either.
* `TeeKeys`: the enclave stand-in. An RSA-2048 signing key made at start, its
  `tee_id = 0x + keccak256(DER SPKI)`, and a self-signed TLS certificate (on
  a separate P-256 key: a small certificate is cheap to store on-chain) that
  the devnet registers so clients can pin it.

The byte-level rules follow the live gateway (`tee_manager.py`,
`chat_controller.py`) and the official SDK's verifier (`tee_verify.py`):
`json.dumps(canonical, sort_keys=True)` with the default separators, and for
tool calls `json.dumps([{id, type, function:{name, arguments}}], sort_keys=True)`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from eth_hash.auto import keccak

PSS_SALT_LENGTH = 32
"""Salt length the gateway signs with; verifiers must use the same."""


class CanonicalRequestError(ValueError):
    """A request body cannot be canonicalised the way the gateway hashes it."""


# ---------------------------------------------------------------------------
# Canonical requests
# ---------------------------------------------------------------------------


def canonical_user_content(content: Any) -> Any:
    """User content as hashed: strings as-is; parts reduced to text or `{type[, filename]}`.

    Attachment bytes are never hashed (they would make the hash depend on
    transport encoding), only the fact that a part of that type was sent.
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return str(content)
    out: list[Any] = []
    for part in content:
        if not isinstance(part, dict):
            out.append({"type": "text", "text": str(part)})
            continue
        if part.get("type") == "text":
            out.append({"type": "text", "text": part.get("text", "") or ""})
            continue
        entry: dict[str, Any] = {"type": part.get("type")}
        file_obj = part.get("file")
        filename = (file_obj.get("filename") if isinstance(file_obj, dict) else None) or part.get(
            "filename"
        )
        if filename:
            entry["filename"] = filename
        out.append(entry)
    return out


def canonical_tool_calls(tool_calls: list[Any]) -> list[dict[str, Any]]:
    """Tool calls as hashed (both in requests and as signed output): no `index`."""
    out = []
    for tc in tool_calls:
        tc = tc if isinstance(tc, dict) else {}
        fn = tc.get("function") if isinstance(tc.get("function"), dict) else {}
        out.append(
            {
                "id": tc.get("id", ""),
                "type": tc.get("type", "function"),
                "function": {"name": fn.get("name", ""), "arguments": fn.get("arguments", "")},
            }
        )
    return out


def canonical_message(message: dict[str, Any]) -> dict[str, Any]:
    """One message shaped exactly as the gateway shapes it before hashing."""
    role = message.get("role")
    if role in ("system", "developer"):  # the gateway treats developer as system
        return {"role": "system", "content": message.get("content")}
    if role == "user":
        return {"role": "user", "content": canonical_user_content(message.get("content"))}
    if role == "assistant":
        out: dict[str, Any] = {"role": "assistant", "content": message.get("content") or ""}
        if message.get("tool_calls"):
            out["tool_calls"] = canonical_tool_calls(list(message["tool_calls"]))
        return out
    if role == "tool":
        return {
            "role": "tool",
            "content": message.get("content"),
            "tool_call_id": message.get("tool_call_id"),
        }
    if role == "function":
        return {"role": "function", "content": message.get("content"), "name": message.get("name")}
    raise CanonicalRequestError(f"unknown message role: {role!r}")


def canonical_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    """The subset of a chat request the gateway commits to in `tee_request_hash`.

    Always `{model, messages, temperature: float}`; plus `max_tokens` when not
    null, `stop`/`tools`/`response_format` when truthy, `web_search: true`.
    `tool_choice` is deliberately not hashed (the live gateway ignores it).
    """
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise CanonicalRequestError("'messages' must be a list")
    temperature = body.get("temperature")
    canonical: dict[str, Any] = {
        "model": body.get("model"),
        "messages": [canonical_message(m) for m in messages],
        "temperature": float(temperature) if temperature is not None else 0.0,
    }
    if body.get("max_tokens") is not None:
        canonical["max_tokens"] = body["max_tokens"]
    if body.get("stop"):
        canonical["stop"] = body["stop"]
    if body.get("tools"):
        canonical["tools"] = body["tools"]
    if body.get("response_format"):
        canonical["response_format"] = body["response_format"]
    if body.get("web_search"):
        canonical["web_search"] = True
    return canonical


def canonical_completion_request(body: dict[str, Any]) -> dict[str, Any]:
    """`/v1/completions` commits to `{model, prompt, temperature}` plus `max_tokens`, `stop`."""
    temperature = body.get("temperature")
    canonical: dict[str, Any] = {
        "model": body.get("model"),
        "prompt": body.get("prompt"),
        "temperature": float(temperature) if temperature is not None else 0.0,
    }
    if body.get("max_tokens") is not None:
        canonical["max_tokens"] = body["max_tokens"]
    if body.get("stop"):
        canonical["stop"] = body["stop"]
    return canonical


# ---------------------------------------------------------------------------
# Hashes and signatures
# ---------------------------------------------------------------------------


def request_hash(canonical_request: dict[str, Any]) -> bytes:
    """`keccak256(json.dumps(canonical_request, sort_keys=True))` — default separators."""
    return keccak(json.dumps(canonical_request, sort_keys=True).encode("utf-8"))


def output_text(content: str | None, tool_calls: list[Any] | None = None) -> str:
    """The exact string the gateway hashes as output: the text, or the tool calls as JSON."""
    if tool_calls:
        return json.dumps(canonical_tool_calls(tool_calls), sort_keys=True)
    return content or ""


def output_hash(text: str) -> bytes:
    """`keccak256(text)`."""
    return keccak(text.encode("utf-8"))


def message_hash(input_hash: bytes, out_hash: bytes, timestamp: int) -> bytes:
    """`keccak256(input_hash ‖ output_hash ‖ uint256_be(timestamp))` — what is signed."""
    return keccak(bytes(input_hash) + bytes(out_hash) + int(timestamp).to_bytes(32, "big"))


def tee_id_for_der(public_key_der: bytes) -> str:
    """`0x` + keccak256 of a DER SubjectPublicKeyInfo: the registry's TEE id."""
    return "0x" + keccak(bytes(public_key_der)).hex()


def pem_from_der(public_key_der: bytes) -> str:
    """A DER SPKI public key (as the registry stores it) as PEM."""
    key = serialization.load_der_public_key(bytes(public_key_der))
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def verify_signature(public_key_pem: str, signature_b64: str, msg_hash: bytes) -> bool:
    """True when `signature_b64` is the RSA-PSS (SHA-256, MGF1, salt 32) signature of `msg_hash`."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        key.verify(
            base64.b64decode(signature_b64, validate=True),
            bytes(msg_hash),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


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
        in_hash = request_hash(canonical_request)
        out_hash = output_hash(output)
        if str(response["tee_request_hash"]).removeprefix("0x") != in_hash.hex():
            return False
        if str(response["tee_output_hash"]).removeprefix("0x") != out_hash.hex():
            return False
        return verify_signature(
            public_key_pem, str(response["tee_signature"]), message_hash(in_hash, out_hash, ts)
        )
    except (KeyError, TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# The enclave stand-in
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """The `tee_*` fields of one response."""

    signature: str
    request_hash: str
    """hex, no 0x (as the gateway sends it)."""
    output_hash: str
    timestamp: int
    tee_id: str

    def fields(self) -> dict[str, Any]:
        """The response-body fields, named as the gateway names them."""
        return {
            "tee_signature": self.signature,
            "tee_request_hash": self.request_hash,
            "tee_output_hash": self.output_hash,
            "tee_timestamp": self.timestamp,
            "tee_id": self.tee_id,
        }


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
        self.tee_id: str = tee_id_for_der(self.public_key_der)
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
        sig = self.private_key.sign(
            bytes(msg_hash),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH),
            hashes.SHA256(),
        )
        return base64.b64encode(sig).decode("ascii")

    def sign(self, canonical_request: dict[str, Any], output: str, timestamp: int) -> Signed:
        """Sign one response: hash request and output, then sign the combined hash."""
        in_hash = request_hash(canonical_request)
        out_hash = output_hash(output)
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
