"""Where a client's receipts go: written ahead of every signature, completed after the call.

The payment flow builds a pending receipt (what will be authorized, to whom, for
which request) before it signs, and hands it to `ReceiptSink.write_ahead`; raising
there means "cannot record", and then nothing is signed. The final receipt
(answer, hashes, or failure) goes to `complete` under the same id.

`write_ahead` returns a `Durable`: the sink may finish making the record durable
(an fsync) while the flow signs, and the flow calls it before the signature leaves
the client; if it raises, the signature is dropped unsent. That is how the
write-ahead costs a paid call almost nothing: the fsync overlaps the signing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .receipt import Receipt

Durable = Callable[[], None]
"""Blocks until the write-ahead record is on disk; raises `ReceiptStoreUnavailable` if not."""


def already_durable() -> None:
    """The `Durable` of a sink that wrote synchronously (or keeps nothing)."""


class ReceiptSink(Protocol):
    """Receives a client's receipts: the pending one before signing, the final one after."""

    def write_ahead(self, receipt: Receipt) -> Durable:
        """Record `receipt` (payment pending, no answer yet) before its authorization is signed.

        Raise `ReceiptStoreUnavailable` when it cannot be recorded: nothing is signed then.
        """
        ...

    def complete(self, receipt: Receipt) -> None:
        """The call's final receipt (the same id when it was written ahead)."""
        ...


class CallbackSink:
    """`LLM(on_receipt=...)`: the simple hook, as a sink. Only final receipts are handed over
    (a pending one would be a second receipt for one call); nothing is written ahead."""

    def __init__(self, on_receipt: Callable[[Receipt], None] | None) -> None:
        self._on_receipt = on_receipt

    def write_ahead(self, receipt: Receipt) -> Durable:
        return already_durable

    def complete(self, receipt: Receipt) -> None:
        if self._on_receipt is not None:
            self._on_receipt(receipt)
