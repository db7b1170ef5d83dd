"""Spend caps: what may still be authorized today, and what a conversation may still spend.

The payment flow asks a `SpendGuard` before it signs an authorization and before it
sends a call; the guard raises `SpendCapExceeded` (nothing signed, nothing sent).
The accounting is one set of functions over receipts, so the in-memory default here
and the app's guard over the receipt log (shared by every process) count alike:

- **exposure**: a signed authorization counts its full amount until it settles (then
  what was charged) or is provably dead (`PaymentStatus.EXPIRED`: its deadline passed
  and Permit2 never used its nonce, then 0). A gateway that answers 402 to every
  paid request therefore collects signatures worth at most the day's cap.
- **day**: the exposure of the authorizations signed on this UTC day;
  `exposure + amount ≤ max_per_day` before signing `amount`.
- **session** (one conversation; calls without one count for the client): what its
  calls cost (charged, else the price), a call of unknown cost (a refused payment,
  mainnet before settlement) counting its whole authorization once; before sending a
  call `spent + worst case ≤ max_per_session`, and before signing for one
  `spent + amount ≤ max_per_session` (a signature exposes its whole amount, so a
  gateway refusing every payment cannot collect more than the cap either).

Amounts are base units inside; the error speaks OPG (Decimal).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from .errors import SpendCapExceeded
from .eth import parse_uint
from .opg import ONE_OPG
from .pricing import table_cost
from .receipt import PaymentStatus, Receipt

DAY_CAP = "max_per_day_opg"
SESSION_CAP = "max_per_session_opg"
AUTHORIZATION_CAP = "max_per_authorization_opg"
TOKENS_PER_MESSAGE = 16
"""Template tokens a chat format adds per message, on top of its text."""


def opg(base_units: int) -> Decimal:
    """Base units as an exact OPG Decimal (for the error's fields)."""
    return Decimal(base_units) / Decimal(ONE_OPG)


def base_units(opg_text: object) -> int | None:
    """An OPG decimal string (a receipt's price or charge) in base units; None if it is not one."""
    if not isinstance(opg_text, str | int) or isinstance(opg_text, bool):
        return None
    try:
        value = Decimal(str(opg_text))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value > 10**30:
        return None
    return int(value * ONE_OPG)


def utc_day(timestamp: float) -> str:
    """`2026-07-31`: the UTC day a cap's total belongs to."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class SpendLimits:
    """The caps, in base units; None means no cap."""

    per_session: int | None = None
    per_day: int | None = None

    @property
    def any(self) -> bool:
        """True when at least one cap applies (else the guard has nothing to count)."""
        return self.per_session is not None or self.per_day is not None


def _amount(receipt: Receipt) -> int:
    try:
        return parse_uint(receipt.authorization_cap)
    except ValueError:
        return 0


def _authorizations(receipts: Iterable[Receipt]) -> dict[tuple[str, str], list[Receipt]]:
    """Receipts grouped by the authorization they rode on (payer, nonce)."""
    groups: dict[tuple[str, str], list[Receipt]] = {}
    for r in receipts:
        if r.authorization_cap and r.payer and r.nonce:
            groups.setdefault((str(r.payer).lower(), str(r.nonce)), []).append(r)
    return groups


def exposure(group: list[Receipt]) -> int:
    """What one authorization can still cost or has cost: see the module docstring."""
    amount = max(_amount(r) for r in group)
    if any(r.payment_status == PaymentStatus.EXPIRED.value for r in group):
        return 0
    settled = [r for r in group if r.payment_status == PaymentStatus.SETTLED.value]
    if settled:
        charged = [base_units(r.charged_opg) for r in settled]
        if all(c is not None for c in charged):
            return min(amount, sum(c for c in charged if c is not None))
    return amount


def day_exposure(receipts: Iterable[Receipt], day: str) -> int:
    """The exposure of the authorizations first recorded on UTC `day`."""
    total = 0
    for group in _authorizations(receipts).values():
        first = min(r.created_at for r in group)
        if utc_day(first) == day:
            total += exposure(group)
    return total


def session_spent(receipts: Iterable[Receipt]) -> int:
    """What a conversation's calls cost: known costs, plus each authorization of a call whose
    cost is unknown, counted in full once."""
    total = 0
    unknown: dict[tuple[str, str], int] = {}
    for r in receipts:
        cost = base_units(r.charged_opg) if r.charged_opg else base_units(r.price_opg)
        if cost is not None:
            total += cost
        elif r.authorization_cap and r.payer and r.nonce:
            unknown[(str(r.payer).lower(), str(r.nonce))] = _amount(r)
    return total + sum(unknown.values())


def prompt_token_bound(body: Mapping[str, Any]) -> int:
    """An upper bound on a request's prompt tokens: one per byte of its text, plus the chat
    template's per message (no tokenizer makes a token of less than a byte)."""
    content = body.get("messages", body.get("prompt", ""))
    raw = json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")
    messages = len(content) if isinstance(content, list) else 1
    return len(raw) + TOKENS_PER_MESSAGE * messages


def worst_case(
    model: str,
    body: Mapping[str, Any],
    prices: Mapping[str, Any] | None,
    *,
    fallback: int,
) -> int:
    """The most a call can cost: its prompt bound and `max_tokens` at the model's price, or
    `fallback` (the authorization it will ride on) where no price is known (mainnet)."""
    max_tokens = body.get("max_tokens")
    completion = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 0
    cost = table_cost(prices, model, prompt_token_bound(body), completion)
    return fallback if cost is None else cost


class SpendGuard(Protocol):
    """What the payment flow asks before it signs or sends (the app keeps it in the receipt log).

    `before_authorization` returns a context held while the pending receipt is written
    and the authorization signed, so that two processes cannot both fit under one cap.
    """

    def before_authorization(
        self, amount: int, conversation_id: str | None
    ) -> AbstractContextManager[None]:
        """Raise SpendCapExceeded if signing `amount` would exceed the day's or the session's cap."""
        ...

    def before_call(self, worst: int, conversation_id: str | None) -> None:
        """Raise SpendCapExceeded if a call costing up to `worst` would exceed the session cap."""
        ...

    def authorized(self, receipt: Receipt) -> None:
        """A new authorization was signed; `receipt` is its write-ahead receipt."""
        ...

    def settled(self, receipt: Receipt) -> None:
        """A call finished (answered or failed); its receipt says what it cost, if known."""
        ...


def check_day(limits: SpendLimits, receipts: Iterable[Receipt], amount: int, now: float) -> None:
    """SpendCapExceeded when `amount` more would take today's exposure over the day cap."""
    if limits.per_day is None:
        return
    spent = day_exposure(receipts, utc_day(now))
    if spent + amount > limits.per_day:
        raise SpendCapExceeded(DAY_CAP, opg(limits.per_day), opg(spent), opg(amount))


def check_session(limits: SpendLimits, receipts: Iterable[Receipt], worst: int) -> None:
    """SpendCapExceeded when a call of cost up to `worst` would take the session over its cap."""
    if limits.per_session is None:
        return
    spent = session_spent(receipts)
    if spent + worst > limits.per_session:
        raise SpendCapExceeded(SESSION_CAP, opg(limits.per_session), opg(spent), opg(worst))


class MemorySpendGuard:
    """The SDK's default guard: this client's own receipts, in memory.

    A "session" without a conversation id is the client itself.
    """

    def __init__(self, limits: SpendLimits) -> None:
        self.limits = limits
        self._receipts: dict[str, Receipt] = {}

    def _of(self, conversation_id: str | None) -> list[Receipt]:
        return [r for r in self._receipts.values() if r.conversation_id == conversation_id]

    @contextmanager
    def _checked(self, amount: int, conversation_id: str | None) -> Iterator[None]:
        check_day(self.limits, self._receipts.values(), amount, time.time())
        check_session(self.limits, self._of(conversation_id), amount)
        yield

    def before_authorization(
        self, amount: int, conversation_id: str | None
    ) -> AbstractContextManager[None]:
        return self._checked(amount, conversation_id)

    def before_call(self, worst: int, conversation_id: str | None) -> None:
        check_session(self.limits, self._of(conversation_id), worst)

    def authorized(self, receipt: Receipt) -> None:
        if self.limits.any:
            self._receipts[receipt.id] = receipt

    def settled(self, receipt: Receipt) -> None:
        if self.limits.any:
            self._receipts[receipt.id] = receipt
