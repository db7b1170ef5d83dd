"""A call's on-chain record against its receipt: each field the record holds must match.

`records.find_record` reads what the chain holds under a `payment_hash`; this compares it
with the receipt, per mode, and names the first field that differs (an edited receipt, or
a record that is another call's). Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii

from og_chat.sdk import merkle
from og_chat.sdk.tee import CheckResult, normalise_tee_id
from og_chat.sdk.types import Receipt

from .onchain import topic_hex
from .records import CallRecord, request_hash_of, signature_hash

RECORD = "on-chain record"
"""The check's name in every face."""


def check_record(receipt: Receipt, record: CallRecord) -> CheckResult:
    """✓ when `record` is this receipt's call, as its mode promises; ✗ naming what differs."""
    where = f"tx {record.tx_hash} (block {record.block_number})"
    if record.mode != receipt.settlement_mode:
        return _differs(
            f"the record is a {record.mode} record; the receipt says {receipt.settlement_mode}"
        )
    if receipt.call_id and record.call_id != topic_hex(receipt.call_id):
        return _differs(f"the record is of call {record.call_id}, not {receipt.call_id}")
    try:
        problem = _MODES[record.mode](receipt, record)
    except (ValueError, TypeError, binascii.Error):
        problem = "the receipt's TEE id, hashes or signature are not well-formed"
    if problem is not None:
        return _differs(problem)
    what = {
        "private": "CallRecorded: request and output hashes, TEE id, time and signature hash "
        "match (hashes only, by design)",
        "batch": f"BatchLeaf: this receipt's leaf is in root {record.root}, which the same "
        "transaction posted and its leaves rebuild",
        "individual": f"settleIndividual: model {record.model}, the input and the output text, "
        "usage, TEE id, time and signature match",
    }[record.mode]
    return CheckResult(RECORD, True, f"{what}; {where}")


def _differs(detail: str) -> CheckResult:
    return CheckResult(RECORD, False, detail)


def _hex(value: str | None) -> str:
    return topic_hex(value or "0x0")


def _common(receipt: Receipt, record: CallRecord) -> str | None:
    """The TEE fields every record with them carries: id, hashes, time."""
    if normalise_tee_id(receipt.tee_id) != normalise_tee_id(record.tee_id):
        return f"the record was signed by TEE {record.tee_id}, not {receipt.tee_id}"
    if _hex(receipt.request_hash) != _hex(record.request_hash):
        return "the record's request hash is not the receipt's"
    if _hex(receipt.output_hash) != _hex(record.output_hash):
        return "the record's output hash is not the receipt's"
    if receipt.tee_timestamp != record.tee_timestamp:
        return f"the record's TEE time is {record.tee_timestamp}, not {receipt.tee_timestamp}"
    return None


def _private(receipt: Receipt, record: CallRecord) -> str | None:
    problem = _common(receipt, record)
    if problem is None and signature_hash(receipt.tee_signature or "") != record.signature_hash:
        problem = "the record's signature hash is not the receipt signature's"
    return problem


def _batch(receipt: Receipt, record: CallRecord) -> str | None:
    leaf = merkle.receipt_leaf(receipt)
    if leaf is None or leaf != record.leaf:
        return "the record's leaf is not this receipt's (call id, TEE id, hashes, signature, time)"
    if not record.root_checked:
        return f"the root {record.root} was not posted by the leaf's transaction with its leaves"
    if receipt.merkle_proof is not None and receipt.batch_root:
        if topic_hex(receipt.batch_root) != record.root:
            return f"the receipt names root {receipt.batch_root}; the chain, {record.root}"
        if not merkle.verify_proof(leaf, list(receipt.merkle_proof), receipt.batch_root):
            return "the receipt's Merkle proof does not lead from its leaf to its root"
    return None


def _individual(receipt: Receipt, record: CallRecord) -> str | None:
    problem = _common(receipt, record)
    if problem is not None:
        return problem
    if record.model != receipt.model:
        return f"the record's model is {record.model}, not {receipt.model}"
    if record.output != receipt.output_text:
        return "the record's output text is not the receipt's"
    if (
        receipt.request_hash
        and request_hash_of(record.input or "") != _hex(receipt.request_hash)[2:]
    ):
        return "the record's input does not hash to the receipt's request hash"
    if record.signature != base64.b64decode(receipt.tee_signature or "", validate=True):
        return "the record's signature is not the receipt's"
    if (record.prompt_tokens, record.completion_tokens) != (
        receipt.prompt_tokens,
        receipt.completion_tokens,
    ):
        return "the record's token counts are not the receipt's"
    return None


_MODES = {"private": _private, "batch": _batch, "individual": _individual}
