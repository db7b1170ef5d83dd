"""The receipt log's lines, and how they fold into receipts.

One record per line (`RECORD_VERSION` is the envelope's ``v``):

    {"type":"receipt","v":1,"receipt":{...Receipt.to_dict()...}}
    {"type":"event","v":1,"id":"<id>","at":<unix time>,"fields":{"payment_status":"settled"}}

`Fold` turns complete lines into `Receipt` objects in append order, applying
events to the receipt they name; a line that is not a record at all raises
`BadLine` (the file is damaged; `ReceiptStore` repairs it). Receipts are built
without running ``__init__`` (`make_receipt`): that is what keeps loading 100,000
receipts fast, so the checks here are the ``type(x) is`` kind, not validation.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from og_chat.sdk.types import Receipt

RECORD_VERSION = 1
"""Version of the line envelope (``v``); a reader skips lines from a newer version."""

FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Receipt))
_FIELD_SET = frozenset(FIELDS)
FIELD_NAMES = {name: sys.intern(name) for name in FIELDS}
REPEATING = (
    "model",
    "provider",
    "network",
    "endpoint",
    "settlement_mode",
    "conversation_id",
    "signature_status",
    "scheme",
    "asset",
    "pay_to",
    "payer",
    "upto_session",
    "payment_status",
    "finish_reason",
    "price_opg",
    "charged_opg",
    "authorization_cap",
    "signature_detail",
    "error",
)
"""Fields whose values recur across receipts (shared in the snapshot)."""
_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(Receipt) if f.default is not dataclasses.MISSING
}
_REQUIRED = frozenset(_FIELD_SET - _DEFAULTS.keys())
EVENT_FIELDS = frozenset(_FIELD_SET - {"id", "schema", "created_at"})
"""Fields an event may change: everything but the identity and the time of the call."""
_TEXT_FIELDS = frozenset(
    {"model", "provider", "network", "endpoint", "settlement_mode", "payment_status"}
    | {"signature_status"}
)
"""Fields queries compare as text; a record with anything else there is damaged."""


LATEST_TIME = 32503680000.0
"""1 January 3000 (UTC): a receipt's `created_at` after this is no time a call was made."""
_KINDS = {
    "str": (str, False),
    "str | None": (str, True),
    "int": (int, False),
    "int | None": (int, True),
    "float": (float, False),
    "list[str] | None": (list, True),
}
_FIELD_KINDS = {f.name: _KINDS[str(f.type)] for f in dataclasses.fields(Receipt)}
"""Each Receipt field's type and whether it may be None, read off the dataclass."""


def receipt_problem(receipt: Receipt) -> str | None:
    """What is wrong with a stored receipt, or None: every field of the type the dataclass
    declares (counts non-negative, times finite and plausible, lists of strings).

    Loading is fast because it trusts the `type(x) is` checks of `Fold`; what a face
    shows goes through this first, so a hand-edited or hostile line (`created_at` NaN or
    1e20, `total_tokens` null) is reported and skipped, never a crash.
    """
    values = receipt.__dict__
    for name, (kind, nullable) in _FIELD_KINDS.items():
        value = values.get(name)
        if value is None:
            if nullable:
                continue
            return f"{name} is missing"
        if kind is float:
            if type(value) not in (int, float) or not (0 <= value <= LATEST_TIME):
                return f"{name} {value!r:.40} is not a time"
            continue
        if type(value) is not kind:
            return f"{name} is a {type(value).__name__}, not {kind.__name__}"
        if isinstance(value, int) and value < 0:
            return f"{name} {value} is negative"
        if isinstance(value, list) and not all(type(item) is str for item in value):
            return f"{name} holds something that is not text"
    return None


@dataclass(frozen=True, slots=True)
class ReceiptWarning:
    """Something loading noticed and worked around; shown to the user, never fatal."""

    kind: str
    """``torn`` (incomplete last line), ``quarantined`` (damaged file moved aside),
    ``skipped`` (line from a newer version), ``duplicate``, ``orphan_event``, ``repair_failed``."""
    message: str
    line: int | None = None
    path: Path | None = None
    """The quarantine file, for ``quarantined``."""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}"


def encode_record(record: dict[str, Any]) -> bytes:
    """One record as one compact JSON line (the bytes an append writes)."""
    return (
        json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
    ).encode("utf-8")


def make_receipt(data: dict[str, Any]) -> Receipt:
    """Build a Receipt from a validated dict without the cost of ``__init__``."""
    receipt: Receipt = object.__new__(Receipt)
    if len(data) == len(FIELDS) and data.keys() <= _FIELD_SET:
        receipt.__dict__ = data  # the usual case: written by this version
    else:
        values = dict(_DEFAULTS)
        values.update((k, v) for k, v in data.items() if k in _FIELD_SET)
        receipt.__dict__ = values
    return receipt


class BadLine(Exception):
    """A line that is not a record at all: the file is damaged."""


class Fold:
    """Receipts folded from records, in append order, with what was noticed on the way."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.by_id: dict[str, Receipt] = {}
        self.warnings: list[ReceiptWarning] = []
        self.handed_out = False
        """Whether callers hold these Receipt objects (then they are not snapshotted)."""

    def add_line(self, raw: bytes, line: int) -> None:
        """Fold one complete line in; raises `BadLine` if it is not a record."""
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            if raw.strip():
                raise BadLine from None
            return  # blank lines carry nothing
        if type(record) is not dict:
            raise BadLine
        kind = record.get("type")
        version = record.get("v")
        if type(kind) is not str or type(version) is not int:
            raise BadLine
        if version > RECORD_VERSION or kind not in ("receipt", "event"):
            self.warnings.append(
                ReceiptWarning(
                    "skipped", f"{kind!r} record of version {version} is from a newer og-chat", line
                )
            )
            return
        if version < 1:
            raise BadLine
        if kind == "receipt":
            self._add_receipt(record.get("receipt"), line)
        else:
            self._add_event(record, line)

    def _add_receipt(self, data: object, line: int) -> None:
        if type(data) is not dict:
            raise BadLine
        rid = data.get("id")
        created = data.get("created_at")
        if (
            type(rid) is not str
            or not rid
            or type(created) not in (int, float)
            or not data.keys() >= _REQUIRED
            or any(type(data.get(k, "")) is not str for k in _TEXT_FIELDS)
        ):
            raise BadLine
        if rid in self.by_id:
            self.warnings.append(
                ReceiptWarning("duplicate", f"receipt {rid} appears again; kept the first", line)
            )
            return
        receipt = make_receipt(data)
        self.receipts.append(receipt)
        self.by_id[rid] = receipt

    def _add_event(self, record: dict[str, Any], line: int) -> None:
        rid = record.get("id")
        fields = record.get("fields")
        if type(rid) is not str or type(fields) is not dict:
            raise BadLine
        receipt = self.by_id.get(rid)
        if receipt is None:
            self.warnings.append(
                ReceiptWarning("orphan_event", f"event for unknown receipt {rid}", line)
            )
            return
        values = receipt.__dict__
        for key, value in fields.items():
            if key in EVENT_FIELDS and (key not in _TEXT_FIELDS or type(value) is str):
                values[key] = value


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while building many dicts (it would rescan them all)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
