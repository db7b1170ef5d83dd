"""x402 wire types and header codecs (v2, with the v1 envelope as a fallback).

Everything from the network is parsed here into pydantic models; the rest of
the code never handles raw header strings. Decoders raise
`MalformedPaymentHeader` and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import MalformedPaymentHeader
from .eth import MAX_UINT_DIGITS, parse_amount

PAYMENT_REQUIRED = "PAYMENT-REQUIRED"
PAYMENT_SIGNATURE = "PAYMENT-SIGNATURE"
PAYMENT_RESPONSE = "PAYMENT-RESPONSE"
X_PAYMENT = "X-PAYMENT"
X_PAYMENT_RESPONSE = "X-PAYMENT-RESPONSE"
UPTO_SESSION = "X-Upto-Session"
MAX_HEADER_BYTES = 64 * 1024
UNSET_TIMEOUT_SECONDS = 3600
"""The authorization lifetime signed when a requirement says `maxTimeoutSeconds: 0`."""

V1_NETWORKS = {
    "base": 8453,
    "base-sepolia": 84532,
    "avalanche": 43114,
    "avalanche-fuji": 43113,
    "polygon": 137,
    "polygon-amoy": 80002,
    "ethereum": 1,
    "iotex": 4689,
    "sei": 1329,
    "celo": 42220,
}
"""Legacy v1 network names → chain ids."""


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=False)

    def wire(self) -> dict[str, Any]:
        """camelCase dict with None fields left out (as the reference encoder does)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class ResourceInfo(_Wire):
    """What is being paid for."""

    url: str
    description: str | None = None
    mime_type: str | None = Field(default=None, alias="mimeType")


class PaymentRequirements(_Wire):
    """One entry of `accepts`: a way the server agrees to be paid."""

    scheme: str
    network: str
    amount: str
    asset: str
    pay_to: str = Field(alias="payTo")
    max_timeout_seconds: int = Field(default=300, alias="maxTimeoutSeconds")
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_is_decimal(cls, v: Any) -> str:
        # ASCII digits only, at most 78 (`parse_uint`): never `isdigit()`, which takes "²".
        if isinstance(v, bool) or not isinstance(v, str | int):
            raise ValueError("amount must be a non-negative decimal integer string")
        try:
            return str(parse_amount(v))
        except ValueError:
            raise ValueError("amount must be a non-negative decimal integer string") from None

    @property
    def chain_id(self) -> int:
        """The chain id named by `network` (CAIP-2 or a v1 name)."""
        return network_chain_id(self.network)

    @property
    def timeout_seconds(self) -> int:
        """How long an authorization for this requirement lives: `maxTimeoutSeconds`, 0 meaning
        unset (an hour)."""
        return self.max_timeout_seconds or UNSET_TIMEOUT_SECONDS

    @property
    def amount_int(self) -> int:
        """`amount` in base units."""
        return int(self.amount)

    @property
    def transfer_method(self) -> str:
        """`permit2` or `eip3009` (the default for exact)."""
        if self.scheme == "upto":
            return "permit2"
        return str(self.extra.get("assetTransferMethod") or "eip3009")


class PaymentRequired(_Wire):
    """The body of `PAYMENT-REQUIRED` (or a v1 402 body, normalised)."""

    x402_version: int = Field(alias="x402Version")
    error: str | None = None
    resource: ResourceInfo | None = None
    accepts: list[PaymentRequirements] = Field(default_factory=list)
    extensions: dict[str, Any] | None = None


class PaymentPayload(_Wire):
    """What the client sends in `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1)."""

    x402_version: int = Field(alias="x402Version")
    payload: dict[str, Any]
    accepted: PaymentRequirements | None = None
    resource: ResourceInfo | None = None
    extensions: dict[str, Any] | None = None
    scheme: str | None = None
    """v1 only."""
    network: str | None = None
    """v1 only."""


class SettleResponse(_Wire):
    """The facilitator's answer to /settle, also sent as `PAYMENT-RESPONSE`."""

    success: bool
    transaction: str = ""
    network: str = ""
    payer: str | None = None
    amount: str | None = None
    error_reason: str | None = Field(default=None, alias="errorReason")
    error_message: str | None = Field(default=None, alias="errorMessage")


class VerifyResponse(_Wire):
    """The facilitator's answer to /verify."""

    is_valid: bool = Field(alias="isValid")
    invalid_reason: str | None = Field(default=None, alias="invalidReason")
    invalid_message: str | None = Field(default=None, alias="invalidMessage")
    payer: str | None = None


class FacilitatorRequest(_Wire):
    """Body of /verify and /settle."""

    x402_version: int = Field(default=2, alias="x402Version")
    payment_payload: PaymentPayload = Field(alias="paymentPayload")
    payment_requirements: PaymentRequirements = Field(alias="paymentRequirements")


def network_chain_id(network: str) -> int:
    """Chain id of a CAIP-2 id (`eip155:8453`) or a v1 name (`base`); ValueError otherwise."""
    if network.startswith("eip155:"):
        tail = network.split(":", 1)[1]
        if 0 < len(tail) <= MAX_UINT_DIGITS and tail.isascii() and tail.isdecimal():
            return int(tail)
        raise ValueError(f"bad CAIP-2 network {network[:80]!r}")
    if network in V1_NETWORKS:
        return V1_NETWORKS[network]
    raise ValueError(f"unknown network {network!r}")


def b64_json_encode(obj: Any) -> str:
    """Standard base64 (with padding) of compact JSON."""
    raw = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(raw).decode("ascii")


def b64_json_decode(value: str, header: str) -> Any:
    """Decode a base64-JSON header value; MalformedPaymentHeader on any problem."""
    if not isinstance(value, str) or not value.strip():
        raise MalformedPaymentHeader(header, "empty value")
    if len(value) > MAX_HEADER_BYTES:
        raise MalformedPaymentHeader(header, f"longer than {MAX_HEADER_BYTES} bytes")
    text = value.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPaymentHeader(header, "not valid base64") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise MalformedPaymentHeader(header, "not valid JSON") from None


def _parse(model: type[Any], data: Any, header: str) -> Any:
    if not isinstance(data, dict):
        raise MalformedPaymentHeader(header, "not a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise MalformedPaymentHeader(header, f"{where}: {first.get('msg', 'invalid')}") from None


def _normalise_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A v1 402 body → v2 shape (`maxAmountRequired` → `amount`, resource hoisted)."""
    out = dict(data)
    accepts = []
    resource = None
    for entry in data.get("accepts") or []:
        if not isinstance(entry, dict):
            continue
        item = dict(entry)
        if "amount" not in item and "maxAmountRequired" in item:
            item["amount"] = item.pop("maxAmountRequired")
        if resource is None and isinstance(item.get("resource"), str):
            resource = {"url": item["resource"], "description": item.get("description")}
        accepts.append(item)
    out["accepts"] = accepts
    if resource and "resource" not in out:
        out["resource"] = {k: v for k, v in resource.items() if v is not None}
    return out


def decode_payment_required(header_value: str) -> PaymentRequired:
    """Parse a `PAYMENT-REQUIRED` header."""
    data = b64_json_decode(header_value, PAYMENT_REQUIRED)
    result: PaymentRequired = _parse(PaymentRequired, data, PAYMENT_REQUIRED)
    return result


def decode_payment_required_body(body: bytes | str) -> PaymentRequired | None:
    """Parse a v1 402 JSON body; None when the body is not an x402 v1 document."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("x402Version") != 1:
        return None
    result: PaymentRequired = _parse(PaymentRequired, _normalise_v1(data), "402 body")
    return result


def encode_payment_signature(payload: PaymentPayload) -> str:
    """The `PAYMENT-SIGNATURE` / `X-PAYMENT` header value."""
    return b64_json_encode(payload.wire())


def decode_payment_signature(header_value: str, header: str = PAYMENT_SIGNATURE) -> PaymentPayload:
    """Parse a `PAYMENT-SIGNATURE` (or v1 `X-PAYMENT`) header."""
    result: PaymentPayload = _parse(PaymentPayload, b64_json_decode(header_value, header), header)
    return result


def encode_payment_required(required: PaymentRequired) -> str:
    """The `PAYMENT-REQUIRED` header value."""
    return b64_json_encode(required.wire())


def decode_payment_response(header_value: str, header: str = PAYMENT_RESPONSE) -> SettleResponse:
    """Parse a `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE` header."""
    result: SettleResponse = _parse(SettleResponse, b64_json_decode(header_value, header), header)
    return result
