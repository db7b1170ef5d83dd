"""The spend caps over the receipt log: what every og-chat process has authorized today.

The sdk defines the seam (`og_chat.sdk.spend.SpendGuard`) and the accounting; this
guard feeds that accounting the receipts of the data directory, so the day's total
holds across processes (the TUI, `og-chat ask` in a loop, a script). The check and
the write-ahead receipt that records the new authorization happen under one
`flock` (`store.locks.SPEND_LOCK`): two processes cannot both fit under the cap.

A conversation is the TUI's (its id is on every receipt, so its total survives a
restart); calls without one (`og-chat ask`, a script) count for this runtime.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from decimal import Decimal

from og_chat.sdk.opg import to_base_units
from og_chat.sdk.spend import SpendLimits, check_day, check_session, day_exposure, opg, utc_day
from og_chat.sdk.types import Receipt
from og_chat.store.config import SpendCaps
from og_chat.store.locks import SPEND_LOCK, file_lock
from og_chat.store.receipts import ReceiptStore


def limits_from(caps: SpendCaps) -> SpendLimits:
    """The config's `[spend]` totals in base units."""
    session, day = caps.max_per_session_opg, caps.max_per_day_opg
    return SpendLimits(
        per_session=None if session is None else to_base_units(session),
        per_day=None if day is None else to_base_units(day),
    )


class StoreSpendGuard:
    """A `SpendGuard` whose history is the receipt log (shared by every process)."""

    def __init__(self, store: ReceiptStore, limits: SpendLimits) -> None:
        self.store = store
        self.limits = limits
        self._mine: dict[str, Receipt] = {}
        """This runtime's receipts without a conversation (its own "session")."""

    def _session(self, conversation_id: str | None) -> list[Receipt]:
        if conversation_id is None:
            return list(self._mine.values())
        return [r for r in self.store.load() if r.conversation_id == conversation_id]

    @contextmanager
    def _checked(self, amount: int, conversation_id: str | None) -> Iterator[None]:
        with file_lock(self.store.directory / SPEND_LOCK):
            check_day(self.limits, self.store.load(), amount, time.time())
            check_session(self.limits, self._session(conversation_id), amount)
            yield  # the write-ahead receipt lands in the log before the lock is let go

    def before_authorization(
        self, amount: int, conversation_id: str | None
    ) -> AbstractContextManager[None]:
        if not self.limits.any:
            return nullcontext()
        return self._checked(amount, conversation_id)

    def before_call(self, worst: int, conversation_id: str | None) -> None:
        if self.limits.per_session is not None:
            check_session(self.limits, self._session(conversation_id), worst)

    def authorized(self, receipt: Receipt) -> None:
        if receipt.conversation_id is None and self.limits.any:
            self._mine[receipt.id] = receipt

    def settled(self, receipt: Receipt) -> None:
        if receipt.conversation_id is None and self.limits.any:
            self._mine[receipt.id] = receipt

    def day_left(self) -> Decimal | None:
        """OPG that may still be authorized today (None without a day cap)."""
        if self.limits.per_day is None:
            return None
        spent = day_exposure(self.store.load(), utc_day(time.time()))
        return opg(max(0, self.limits.per_day - spent))
