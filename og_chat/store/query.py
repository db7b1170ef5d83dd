"""Which receipts to show: one filter and one time parser for the CLI and the TUI."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.models import CATALOGUE, resolve_model
from og_chat.sdk.types import Receipt

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
SINCE_FORMS = "2026-07-31, 2026-07-31T12:00, unix seconds, or an age: 30m, 12h, 7d, 2w"


def parse_since(text: str | None, *, now: float | None = None) -> float | None:
    """A point in time from `--since` or `since:`: an ISO date/time, unix seconds or an age.

    Blank means no limit. Anything else that is not a time raises ConfigurationError, so
    a filter is never silently dropped.
    """
    if text is None or not text.strip():
        return None
    value = text.strip()
    unit = value[-1:].lower()
    number = value[:-1]
    if unit in _UNITS and _is_number(number):
        return (time.time() if now is None else now) - float(number) * _UNITS[unit]
    if _is_number(value):
        return float(value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(f"{text!r} is not a time", hint=f"use {SINCE_FORMS}") from None
    if when.tzinfo is None:
        when = when.astimezone()  # a bare date means local time
    return when.timestamp()


def _is_number(text: str) -> bool:
    """ASCII digits with at most one decimal point (`isdigit()` alone accepts "²" and "٣")."""
    digits = text.replace(".", "", 1)
    return bool(digits) and digits.isascii() and digits.isdigit()


@dataclass(frozen=True)
class ReceiptQuery:
    """Criteria a receipt must all meet; empty fields match everything.

    `model` is one rule for every face: a name the catalogue knows (full id, bare
    name or enum name) picks exactly that model; any other word picks the models
    whose id or display name contains it (case-insensitive).
    """

    model: str = ""
    provider: str = ""
    mode: str = ""
    status: str = ""
    since: float | None = None

    @property
    def empty(self) -> bool:
        """True when nothing is filtered."""
        return not (self.model or self.provider or self.mode or self.status) and (
            self.since is None
        )

    def _model_test(self) -> tuple[str | None, str]:
        if not self.model:
            return None, ""
        try:
            return resolve_model(self.model).id, ""
        except ConfigurationError:
            return None, self.model.lower()

    def apply(self, receipts: Iterable[Receipt]) -> list[Receipt]:
        """The matching receipts, in their order."""
        exact, needle = self._model_test()
        out: list[Receipt] = []
        for r in receipts:
            if exact is not None and r.model != exact:
                continue
            if needle and needle not in r.model.lower():
                info = CATALOGUE.get(r.model)
                if info is None or needle not in info.display_name.lower():
                    continue
            if self.provider and r.provider != self.provider:
                continue
            if self.mode and r.settlement_mode != self.mode:
                continue
            if self.status and r.payment_status != self.status:
                continue
            if self.since is not None and r.created_at < self.since:
                continue
            out.append(r)
        return out
