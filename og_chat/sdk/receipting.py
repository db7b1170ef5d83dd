"""Building the `Receipt` of a call: from its answer, from a cut-off stream, from a failure.

Every paid call gets one, written before the call returns or raises, so that
nothing paid is ever lost: the payment fields come from the call's
`PaymentTrace`, the TEE fields from the answer when there is one. A failed call's
typed error is built here too, carrying that receipt.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from . import merkle
from .answer_fields import blob_id, settlement_tx, usage_counts
from .calls import Call
from .errors import GatewayError, PaymentRequired, error_reason
from .eth import hex0x, keccak, parse_amount, word, word32
from .opg import opg_text
from .outputs import StreamUsage
from .receipt import PaymentStatus, Receipt, SignatureStatus
from .signing import PreparedPayment
from .tee import CheckResult, answer_images, normalise_tee_id, output_text, parse_timestamp

if TYPE_CHECKING:  # the client that raises these has loaded httpx already
    import httpx

CALL_COST_HEADER = "x-og-call-cost"
CALL_ID_HEADER = "x-og-call-id"
NOT_FINISHED = "the call had not finished when this receipt was written (before signing)"
"""The write-ahead receipt's `error`, until the call's final receipt replaces it."""


def pending_receipt(call: Call, prepared: PreparedPayment) -> Receipt:
    """The write-ahead receipt of a call about to sign `prepared`: what will be authorized,
    to whom, for which request; payment pending, no answer yet."""
    receipt = base_receipt(call)  # the trace holds no payment yet: it is about to be signed
    receipt.scheme, receipt.asset = prepared.scheme, prepared.requirement.asset
    receipt.pay_to, receipt.authorization_cap = prepared.requirement.pay_to, str(prepared.amount)
    receipt.nonce, receipt.deadline, receipt.payer = (
        prepared.nonce,
        prepared.deadline,
        prepared.payer,
    )
    receipt.authorization_digest = prepared.digest  # no payment_hash: no record yet
    receipt.error, receipt.signature_detail = NOT_FINISHED, "no answer yet"
    return receipt


def base_receipt(call: Call) -> Receipt:
    """What every receipt of `call` holds: what was asked, and the payment it rode on."""
    trace = call.trace
    receipt = Receipt(
        id=call.receipt_id,
        created_at=time.time(),
        model=call.model,
        provider=call.provider,
        network=call.network,
        endpoint=call.endpoint,
        settlement_mode=call.mode,
        conversation_id=call.conversation_id,
        tee_id=call.tee_id,
        upto_session=trace.session,
        request_body_hash=call.body_hash,
        chain_id=call.chain.chain_id,
        chain_genesis=call.chain.genesis_hash,
        chain_instance=call.chain.instance_id,
    )
    payment = trace.payment
    if payment is not None:
        accepted = payment.payload.accepted
        receipt.scheme = payment.scheme
        receipt.asset = accepted.asset if accepted else None
        receipt.pay_to = accepted.pay_to if accepted else None
        receipt.authorization_cap = str(payment.amount)
        receipt.nonce = payment.nonce
        receipt.deadline = payment.deadline
        receipt.payer = payment.payer
        receipt.authorization_digest = payment.digest
        receipt.approval_tx = payment.approval.tx_hash if payment.approval else None
    settle = trace.settle
    if settle is not None and settle.success and settle.transaction:
        receipt.payment_tx = settle.transaction
        receipt.payment_status = PaymentStatus.SETTLED.value
        charged = _base_units(settle.amount)
        if charged is not None:
            receipt.charged_opg = opg_text(charged)
    elif settle is not None and not settle.success:
        receipt.payment_status = PaymentStatus.FAILED.value
    return receipt


def answer_receipt(
    call: Call,
    fields: Mapping[str, Any],
    headers: Mapping[str, str],
    usage: Mapping[str, Any] | StreamUsage | None,
    content: str | None,
    tool_calls: Any,
    finish_reason: str | None,
    status: SignatureStatus,
    checks: list[CheckResult],
) -> Receipt:
    """The receipt of an answered call; `fields` are the answer's TEE and settlement fields."""
    receipt = base_receipt(call)
    receipt.call_id = hash_text(fields.get("call_id") or headers.get(CALL_ID_HEADER))
    receipt.tee_id = normalise_tee_id(fields.get("tee_id") or call.tee_id)
    receipt.request_hash = fields.get("tee_request_hash")
    receipt.output_hash = fields.get("tee_output_hash")
    receipt.tee_signature = fields.get("tee_signature")
    try:
        ts = fields.get("tee_timestamp")
        receipt.tee_timestamp = parse_timestamp(ts) if ts is not None else None
    except (ValueError, TypeError):
        receipt.tee_timestamp = None
    receipt.signature_status = status.value
    receipt.signature_detail = "; ".join(f"{c.name}: {c.detail}" for c in checks)
    receipt.prompt_tokens, receipt.completion_tokens, receipt.total_tokens = _tokens(usage)
    receipt.data_settlement_tx = settlement_tx(fields, headers)
    receipt.blob_id = blob_id(fields, headers)
    receipt.output_text = output_text(content, tool_calls, answer_images(fields))
    receipt.finish_reason = finish_reason
    receipt.price_opg = _opg_amount(headers.get(CALL_COST_HEADER) or fields.get("cost"))
    receipt.payment_hash = record_hash(receipt)
    return receipt


def record_hash(receipt: Receipt) -> str | None:
    """The answered call's `payment_hash`: the name of its own record, never another call's.

    The rule per mode (design-receipts.md): `individual` → the call's own settlement
    transaction (`X-Settlement-Tx-Hash`, on the devnet and on mainnet alike); `batch`,
    `private` on the devnet → the call id, an indexed topic of its `BatchLeaf` /
    `CallRecorded` event; `batch` elsewhere → the call's Merkle leaf; otherwise (mainnet
    private, which posts nothing per call) → `local_call_id`.
    """
    mode = receipt.settlement_mode
    tx = hash_text(receipt.data_settlement_tx)
    if mode == "individual" and tx:
        return tx
    if receipt.network == "devnet" and receipt.call_id:
        return receipt.call_id
    if mode == "batch":
        leaf = merkle.receipt_leaf(receipt)
        if leaf is not None:
            return leaf
    return local_call_id(receipt)


def local_call_id(receipt: Receipt) -> str:
    """A per-call id computed here, for a call whose network posts no record of it:
    `keccak256(authorization_digest ‖ request_hash ‖ output_hash ‖ uint256(tee_timestamp) ‖
    tee_signature)` — every piece is on the receipt, so anyone can recompute it. A call
    the TEE did not sign has no such pieces: the receipt's own id stands in for them."""
    pieces = (receipt.request_hash, receipt.output_hash, receipt.tee_signature)
    digest = word32_or_empty(receipt.authorization_digest)
    if all(pieces) and receipt.tee_timestamp is not None:
        try:
            body = (
                word32(str(receipt.request_hash))
                + word32(str(receipt.output_hash))
                + word(int(receipt.tee_timestamp))
                + base64.b64decode(str(receipt.tee_signature))
            )
        except (ValueError, TypeError, OverflowError):
            body = receipt.id.encode()
    else:
        body = receipt.id.encode()
    return hex0x(keccak(digest + body))


def word32_or_empty(value: str | None) -> bytes:
    """A 32-byte hash from a receipt field, or nothing when it is absent or malformed."""
    try:
        return word32(value) if value else b""
    except (ValueError, TypeError):
        return b""


def hash_text(value: object) -> str | None:
    """A server's 32-byte hash (`0x` + 64 hex digits), lower case; None for anything else
    (a hostile server's text never becomes a receipt's hash)."""
    if not isinstance(value, str) or len(value) != 66 or not value.startswith(("0x", "0X")):
        return None
    digits = value[2:]
    if not (digits.isascii() and all(c in "0123456789abcdefABCDEF" for c in digits)):
        return None
    return "0x" + digits.lower()


def malformed(call: Call, url: str, status: int, reason: str, text: str = "") -> GatewayError:
    """A paid answer the client cannot read: a GatewayError carrying the call's receipt
    (with whatever text arrived before the bad field)."""
    receipt = failed_receipt(call, f"malformed answer: {reason}")
    if receipt is not None and text:
        receipt.output_text = text
    return GatewayError(status, f"malformed answer: {reason}", url=url, receipt=receipt)


def interrupted_receipt(call: Call, text: str, reason: str) -> Receipt:
    """The receipt of a stream cut off after `text`: the partial answer, marked unsigned."""
    receipt = base_receipt(call)
    receipt.output_text = text
    receipt.error = f"stream interrupted: {reason}"
    receipt.signature_status = SignatureStatus.UNAVAILABLE.value
    receipt.signature_detail = "the stream ended before the TEE signed it"
    return receipt


def failed_receipt(
    call: Call, error: str, payment_status: PaymentStatus | None = None
) -> Receipt | None:
    """The receipt of a call that failed once a payment was involved; None when none was."""
    if call.trace.payment is None and call.trace.session is None:
        return None
    receipt = base_receipt(call)
    receipt.error = error
    if payment_status is not None:
        receipt.payment_status = payment_status.value
    receipt.signature_detail = "the call failed before the TEE signed an answer"
    return receipt


def transport_failure(call: Call, url: str, exc: httpx.TransportError) -> GatewayError:
    """No answer came: the error says the call is not retried (never, once it was paid)."""
    import httpx  # loaded by the client that raised `exc`; not at this module's import

    paid = call.trace.paid
    after = " after paying" if paid else ""
    if isinstance(exc, httpx.TimeoutException):
        why = ", to avoid paying twice" if paid else ""
        receipt = failed_receipt(call, f"timed out{after}: {exc!r}")
        message = f"timed out{after} ({exc!r}); not retried{why}"
        return GatewayError(0, message, url=url, receipt=receipt)
    receipt = failed_receipt(call, f"connection failed{after}: {exc!r}")
    return GatewayError(0, f"connection failed{after}: {exc!r}", url=url, receipt=receipt)


def status_failure(call: Call, status: int, url: str, body: bytes) -> GatewayError:
    """The gateway answered with an error status."""
    reason = error_reason(body)
    receipt = failed_receipt(call, f"gateway error {status}: {reason}")
    return GatewayError(status, reason, url=url, receipt=receipt)


def cut_off(call: Call, url: str, exc: httpx.HTTPError) -> GatewayError:
    """The answer's body broke off while it was read."""
    receipt = failed_receipt(call, f"the answer was cut off: {exc!r}")
    return GatewayError(
        0, f"the answer was cut off ({exc!r}); not retried", url=url, receipt=receipt
    )


def refusal(call: Call, exc: PaymentRequired) -> PaymentRequired:
    """A 402 from the payment flow; once a payment was sent, it carries the refused receipt."""
    if call.trace.paid:
        error = f"payment refused by the gateway: {exc.reason}"
        exc.receipt = failed_receipt(call, error, PaymentStatus.REFUSED)
    return exc


def _tokens(usage: Mapping[str, Any] | StreamUsage | None) -> tuple[int, int, int]:
    if isinstance(usage, StreamUsage):
        return usage.prompt_tokens, usage.completion_tokens, usage.total_tokens
    return usage_counts(usage) or (0, 0, 0)  # checked when the answer was read


def _base_units(value: object) -> int | None:
    """A base-unit amount from a server (`PAYMENT-RESPONSE`'s amount): strict, else None."""
    if value is None:
        return None
    try:
        return parse_amount(value)
    except ValueError:
        return None


def _opg_amount(value: object) -> str | None:
    """An OPG decimal from a server (the call's price): ASCII digits and one point, else None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    digits = text.replace(".", "", 1)
    if not (0 < len(text) <= 100 and digits.isascii() and digits.isdecimal()):
        return None
    try:
        return format(Decimal(text), "f")
    except InvalidOperation:
        return None
