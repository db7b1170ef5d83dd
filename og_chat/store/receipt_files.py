"""Receipts in files of their own: the JSON and CSV exports, and reading an export back.

`og-chat receipts export` writes these and `receipts verify FILE` reads them, so a
receipt can be checked on another machine. The reader also takes the output of
`og-chat ask --json` (its `receipt` object) and a single receipt object.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.types import Receipt

from .receipt_records import FIELDS


def export_json(receipts: Iterable[Receipt]) -> str:
    """Receipts as a pretty JSON array, for sharing or archiving."""
    return json.dumps([r.to_dict() for r in receipts], indent=2, ensure_ascii=False, default=str)


def export_csv(receipts: Iterable[Receipt]) -> str:
    """Receipts as CSV, one column per Receipt field; lists are JSON-encoded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in receipts:
        row = []
        for name in FIELDS:
            value = getattr(r, name)
            if value is None:
                row.append("")
            elif isinstance(value, list | dict):
                row.append(json.dumps(value, default=str))
            else:
                row.append(str(value))
        writer.writerow(row)
    return buffer.getvalue()


def read_receipts_file(path: Path) -> list[Receipt]:
    """The receipts in a file from `receipts export` (a list), `ask --json`, or one receipt.

    Raises ConfigurationError naming the file when it is not JSON or holds something
    that is not a complete receipt; OSError when it cannot be read.
    """
    try:
        data = json.loads(path.read_text("utf-8"))
    except (ValueError, RecursionError):
        raise ConfigurationError(
            f"{path} is not JSON", hint="give a file from `og-chat receipts export`"
        ) from None
    items = data if isinstance(data, list) else [data]
    if isinstance(data, dict) and isinstance(data.get("receipt"), dict):  # `ask --json` output
        items = [data["receipt"]]
    out = []
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            raise ConfigurationError(f"{path} holds something that is not a receipt")
        try:
            out.append(Receipt.from_dict(item))
        except TypeError as exc:
            raise ConfigurationError(f"{path}: not a complete receipt ({exc})") from None
    return out
