"""TEE trust: what the enclave signs, how to check it, and where to find enclaves.

The gateway signs `keccak(request_hash ‖ output_hash ‖ uint256(timestamp))`
with RSA-PSS; `request_hash` is keccak of the canonical request JSON and
`output_hash` keccak of the answer (reference og-sdk-wire.md §11). The devnet
gateway signs with these same functions, so both sides agree by construction.
"""

from __future__ import annotations

import base64
import json
import random
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import answer_fields, rpc
from .errors import ChainError, ConfigurationError
from .eth import checksum, keccak, word, word32
from .receipt import SignatureStatus

TEE_TYPE_LLM_PROXY = 0
PSS_SALT_LENGTH = 32
"""Salt length the gateway signs with; verifiers must use the same."""


class CanonicalRequestError(ValueError):
    """A request body cannot be canonicalised the way the gateway hashes it."""


def canonical_user_content(content: Any) -> Any:
    """User content as hashed: strings as-is; parts reduced to text or `{type[, filename]}`.

    Attachment bytes are never hashed, only the fact that a part of that type was sent.
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


def canonical_tool_calls(tool_calls: Any) -> list[dict[str, Any]]:
    """Tool calls as hashed (in requests and as signed output): `{id, type, function}`, no `index`."""
    out = []
    for call in tool_calls or []:
        call = call if isinstance(call, dict) else {}
        raw_fn = call.get("function")
        fn: dict[str, Any] = raw_fn if isinstance(raw_fn, dict) else {}
        args = fn.get("arguments", "")
        if not isinstance(args, str):
            args = json.dumps(args)
        out.append(
            {
                "id": call.get("id", ""),
                "type": call.get("type", "function"),
                "function": {"name": fn.get("name", ""), "arguments": args},
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


def _temperature(body: dict[str, Any]) -> float:
    value = body.get("temperature")
    return float(value) if value is not None else 0.0


def canonical_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    """The part of a chat request the TEE commits to in `tee_request_hash`.

    Always `{model, messages, temperature: float}`; plus `max_tokens` when not
    null, `stop`/`tools`/`response_format` when truthy, `web_search: true`.
    `tool_choice` and `stream` are not hashed (the live gateway ignores them).
    """
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise CanonicalRequestError("'messages' must be a list")
    canonical: dict[str, Any] = {
        "model": body.get("model"),
        "messages": [canonical_message(m) for m in messages if isinstance(m, dict)],
        "temperature": _temperature(body),
    }
    if body.get("max_tokens") is not None:
        canonical["max_tokens"] = body["max_tokens"]
    for key in ("stop", "tools", "response_format"):
        if body.get(key):
            canonical[key] = body[key]
    if body.get("web_search"):
        canonical["web_search"] = True
    return canonical


def canonical_completion_request(body: dict[str, Any]) -> dict[str, Any]:
    """`/v1/completions` commits to `{model, prompt, temperature}` plus `max_tokens`, `stop`."""
    canonical: dict[str, Any] = {
        "model": body.get("model"),
        "prompt": body.get("prompt"),
        "temperature": _temperature(body),
    }
    if body.get("max_tokens") is not None:
        canonical["max_tokens"] = body["max_tokens"]
    if body.get("stop"):
        canonical["stop"] = body["stop"]
    return canonical


def canonical_request(body: dict[str, Any]) -> dict[str, Any]:
    """Chat or completion request, canonicalised by its shape."""
    if "messages" not in body and "prompt" in body:
        return canonical_completion_request(body)
    return canonical_chat_request(body)


def hash_canonical(canonical: dict[str, Any]) -> bytes:
    """`keccak(json.dumps(canonical, sort_keys=True))` with Python's default separators."""
    return keccak(json.dumps(canonical, sort_keys=True).encode("utf-8"))


def hash_text(text: str) -> bytes:
    """`keccak(text)`: the output hash of an answer's text."""
    return keccak(text.encode("utf-8"))


def request_hash(body: dict[str, Any]) -> str:
    """The request hash of a request body, hex without 0x."""
    return hash_canonical(canonical_request(body)).hex()


def output_text(content: str | None, tool_calls: Any = None, images: Any = None) -> str:
    """The exact text the output hash covers: tool calls as sorted JSON, else the content.

    An answer with images (an image model's) covers its text and every image:
    `json.dumps({"content": content, "images": [data URI, ...]}, sort_keys=True)`, so
    the signature vouches for the image bytes themselves, not only for the caption,
    and a receipt keeping this text can be re-checked like any other.
    """
    if tool_calls:
        return json.dumps(canonical_tool_calls(tool_calls), sort_keys=True)
    if images:
        return json.dumps({"content": content or "", "images": list(images)}, sort_keys=True)
    return content or ""


def output_hash(content: str | None, tool_calls: Any = None, images: Any = None) -> str:
    """keccak of the answer text (`output_text`), hex without 0x."""
    return hash_text(output_text(content, tool_calls, images)).hex()


def answer_images(fields: Mapping[str, Any]) -> list[str] | None:
    """The images an answer carries: a streamed final event's `images`, else the body's
    `choices[0].message.images` (where the gateway puts them in a whole answer)."""
    found = fields.get("images")
    if found is None:
        choices = fields.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        found = message.get("images") if isinstance(message, dict) else None
    if not isinstance(found, list):
        return None
    return [str(uri) for uri in found if isinstance(uri, str)] or None


def message_hash(input_hash: bytes, out_hash: bytes, timestamp: int) -> bytes:
    """`keccak(request_hash ‖ output_hash ‖ uint256_be(timestamp))`: what the TEE signs."""
    return keccak(bytes(input_hash) + bytes(out_hash) + word(int(timestamp)))


def signed_message(req_hash: str, out_hash: str, timestamp: int) -> bytes:
    """`message_hash` from the hex hashes a response carries."""
    return message_hash(word32(req_hash), word32(out_hash), timestamp)


def tee_id_for(public_key_der: bytes) -> str:
    """`0x` + keccak of the DER SubjectPublicKeyInfo, as the registry computes it."""
    return "0x" + keccak(bytes(public_key_der)).hex()


def normalise_tee_id(tee_id: object) -> str | None:
    """Lower-case with `0x` (the registry and the body disagree on the prefix); None for
    anything that is not a non-empty string."""
    if not isinstance(tee_id, str) or not tee_id:
        return None
    return "0x" + tee_id.lower().removeprefix("0x")


def parse_timestamp(value: Any) -> int:
    """Whole seconds from the gateway's `tee_timestamp` (int, numeric text or ISO-8601);
    ValueError (`MalformedAnswer`) for anything else, infinity and 2**300 included."""
    return answer_fields.timestamp(value)


def _pss() -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH)


def sign_message(private_key: Any, msg_hash: bytes) -> str:
    """base64 RSA-PSS (SHA-256, MGF1-SHA-256, salt 32) over `msg_hash`; key is a PEM or an RSA key."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = private_key
    if isinstance(private_key, (bytes, str)):
        data = private_key.encode() if isinstance(private_key, str) else private_key
        key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError("TEE signing key must be RSA")
    return base64.b64encode(key.sign(bytes(msg_hash), _pss(), hashes.SHA256())).decode("ascii")


def sign(private_key_pem: bytes, req_hash: str, out_hash: str, timestamp: int) -> str:
    """Sign a response's hex hashes (what a gateway does)."""
    return sign_message(private_key_pem, signed_message(req_hash, out_hash, timestamp))


def load_public_key(key: bytes | str) -> Any:
    """An RSA public key from PEM (str or bytes) or DER bytes."""
    from cryptography.hazmat.primitives import serialization

    data = key.encode() if isinstance(key, str) else key
    if data.lstrip().startswith(b"-----BEGIN"):
        return serialization.load_pem_public_key(data)
    return serialization.load_der_public_key(data)


def verify_message(public_key: bytes | str, signature_b64: str, msg_hash: bytes) -> bool:
    """True when `signature_b64` is the TEE's RSA-PSS signature over `msg_hash`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = load_public_key(public_key)
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        key.verify(
            base64.b64decode(signature_b64, validate=True), bytes(msg_hash), _pss(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def verify_signature(
    public_key: bytes | str, signature_b64: str, req_hash: str, out_hash: str, timestamp: int
) -> bool:
    """True when `signature_b64` is the TEE's signature over these hex hashes."""
    try:
        msg = signed_message(req_hash, out_hash, timestamp)
    except ValueError:
        return False
    return verify_message(public_key, signature_b64, msg)


@dataclass(frozen=True)
class CheckResult:
    """One named check with its outcome, for receipts and `receipts verify`."""

    name: str
    ok: bool
    detail: str


def check_response(
    *,
    public_key: bytes | str | None,
    request_body: dict[str, Any] | None,
    content: str | None,
    tool_calls: Any,
    tee_request_hash: str | None,
    tee_output_hash: str | None,
    tee_signature: str | None,
    tee_timestamp: Any,
    images: list[str] | None = None,
) -> list[CheckResult]:
    """Every check a response's TEE fields must pass; empty when nothing was signed."""
    results: list[CheckResult] = []
    if not tee_signature or not tee_request_hash or not tee_output_hash or tee_timestamp is None:
        return [CheckResult("tee signature", False, "the response carries no TEE signature")]
    if request_body is not None:
        mine = request_hash(request_body)
        same = mine == tee_request_hash.lower().removeprefix("0x")
        results.append(
            CheckResult(
                "request hash", same, "matches what was sent" if same else f"expected {mine}"
            )
        )
    if content is not None or tool_calls or images:
        mine = output_hash(content, tool_calls, images)
        same = mine == tee_output_hash.lower().removeprefix("0x")
        results.append(
            CheckResult("output hash", same, "matches the answer" if same else f"expected {mine}")
        )
    if public_key is None:
        results.append(CheckResult("tee signature", False, "no TEE public key to check against"))
        return results
    try:
        ts = parse_timestamp(tee_timestamp)
        ok = verify_signature(public_key, tee_signature, tee_request_hash, tee_output_hash, ts)
    except (ValueError, TypeError) as exc:
        ok, why = False, str(exc)
    else:
        why = "RSA-PSS signature valid" if ok else "signature does not match the TEE key"
    results.append(CheckResult("tee signature", ok, why))
    return results


def check_answer(
    public_key: bytes | str | None,
    request_body: dict[str, Any],
    content: str | None,
    tool_calls: Any,
    fields: Mapping[str, Any],
) -> tuple[list[CheckResult], SignatureStatus]:
    """The checks of one answer's TEE fields (`tee_signature`, hashes, timestamp) and the verdict.

    UNAVAILABLE when the answer is unsigned or no key could be found to check it
    with; FAILED when any check fails.
    """
    if not fields.get("tee_signature"):
        return [CheckResult("tee signature", False, "no signature in the response")], (
            SignatureStatus.UNAVAILABLE
        )
    if public_key is None:
        return [CheckResult("tee signature", False, "the TEE key could not be fetched")], (
            SignatureStatus.UNAVAILABLE
        )
    checks = check_response(
        public_key=public_key,
        request_body=request_body,
        content=content,
        tool_calls=tool_calls,
        tee_request_hash=fields.get("tee_request_hash"),
        tee_output_hash=fields.get("tee_output_hash"),
        tee_signature=fields.get("tee_signature"),
        tee_timestamp=fields.get("tee_timestamp"),
        images=answer_images(fields),
    )
    ok = all(c.ok for c in checks)
    return checks, SignatureStatus.VERIFIED if ok else SignatureStatus.FAILED


@dataclass(frozen=True)
class TEEInfo:
    """One enclave from the registry."""

    tee_id: str
    endpoint: str
    payment_address: str
    public_key_der: bytes
    tls_certificate_der: bytes

    def ssl_context(self) -> ssl.SSLContext:
        """Trust only the registry's certificate; endpoints are IPs, so no hostname check."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=ssl.DER_cert_to_PEM_cert(self.tls_certificate_der))
        return ctx


def fetch_active_tees(
    rpc_url: str,
    registry_address: str,
    tee_type: int = TEE_TYPE_LLM_PROXY,
    *,
    verify: bool | str = True,
) -> list[TEEInfo]:
    """Read `getActiveTEEs(tee_type)`; skip entries without endpoint or certificate.

    One `eth_call`, decoded here (`rpc`): no web3 on the way to a chat answer. `verify`
    pins an HTTPS RPC to one certificate (a CA file, tls.py), as requests takes it.
    """
    try:
        checksum(registry_address)
        call = rpc.call_data("getActiveTEEs(uint8)", tee_type)
        data = rpc.eth_call(rpc_url, registry_address, call, timeout=20, verify=verify)
        rows = _tee_rows(data)
    except (ChainError, ValueError) as exc:
        raise ChainError(
            f"could not read the TEE registry at {registry_address} via {rpc_url}: {exc}",
            hint="check the registry RPC (OG_REGISTRY_RPC) and your network connection",
        ) from None
    out = []
    for payment_address, endpoint, public_key, cert, enabled in rows:
        if not endpoint or not cert or not enabled:
            continue
        out.append(
            TEEInfo(
                tee_id=tee_id_for(public_key),
                endpoint=endpoint.rstrip("/"),
                payment_address=payment_address,
                public_key_der=public_key,
                tls_certificate_der=cert,
            )
        )
    return out


def _tee_rows(data: bytes) -> list[tuple[str, str, bytes, bytes, bool]]:
    """(paymentAddress, endpoint, publicKey, tlsCertificate, enabled) of each `_TEE_ENTRY` in
    the ABI-encoded `tuple[]` an `eth_call` of `getActiveTEEs` returns.

    Layout: an offset to the array; its length; one offset per entry (the entry holds
    dynamic members); each entry's head has 11 words, the dynamic ones (endpoint,
    publicKey, tlsCertificate, ohttpConfig) as offsets from the entry's start.
    """
    array = rpc.uint_at(data, 0)
    if array != 32:  # one return value: its data follows its offset word
        raise ChainError("the registry's answer is not ABI-encoded tuple[]")
    count = int.from_bytes(data[array : array + 32], "big")
    if count > 10_000 or len(data) < array + 32 + 32 * count:
        raise ChainError("the registry's answer is not a list of TEEs")
    elements = array + 32
    rows = []
    for i in range(count):
        start = elements + int.from_bytes(data[elements + 32 * i : elements + 32 * i + 32], "big")
        head = data[start:]
        payment = checksum(head[32 + 12 : 64])
        endpoint = rpc.dynamic_bytes(data, start + rpc.uint_at(head, 2)).decode("utf-8", "replace")
        public_key = rpc.dynamic_bytes(data, start + rpc.uint_at(head, 3))
        cert = rpc.dynamic_bytes(data, start + rpc.uint_at(head, 4))
        rows.append((payment, endpoint, public_key, cert, rpc.uint_at(head, 7) != 0))
    return rows


def pick_tee(tees: list[TEEInfo], exclude: set[str] | None = None) -> TEEInfo:
    """A random active TEE, avoiding ones that just failed."""
    candidates = [t for t in tees if t.tee_id not in (exclude or set())] or tees
    if not candidates:
        raise ConfigurationError(
            "no active LLM TEE in the registry", hint="the network may be down; try again later"
        )
    return random.choice(candidates)
