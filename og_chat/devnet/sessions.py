"""Upto sessions: one authorization spent across calls on one route, and their records.

A session opens on a verified PAYMENT-SIGNATURE, is charged per call, and is settled
on-chain in one Permit2 transfer when it is idle, exhausted or near its deadline;
its settlement record is then kept for `/v1/payments` lookups. Lookups go by session
id, by the raw header (a replay finds the same key), by `(payer, nonce)` and by the
authorization's EIP-712 digest.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict, TypeVar

from og_chat.sdk.x402 import PaymentPayload, PaymentRequirements

K = TypeVar("K")
V = TypeVar("V")

KEEP_RECORDS = 20_000
"""Closed sessions and batch leaves kept for lookups; older ones drop off, so memory stays flat."""


def remember(store: OrderedDict[K, V], key: K, value: V) -> None:
    """Put `key` in `store` as its newest entry, dropping the oldest beyond KEEP_RECORDS."""
    store[key] = value
    store.move_to_end(key)
    while len(store) > KEEP_RECORDS:
        store.popitem(last=False)


@dataclass
class Session:
    """One upto authorization being spent across calls on one route."""

    id: str
    key: str
    """sha256 of the raw PAYMENT-SIGNATURE header: a replay finds the same key."""
    payload: PaymentPayload
    requirements: PaymentRequirements
    payer: str
    nonce: str
    digest: str
    cap: int
    route: tuple[str, str]
    created: float
    last_used: float
    deadline: int = 0
    """The authorization's Permit2 deadline (unix seconds): settle before it passes."""
    accumulated: int = 0
    reserved: int = 0
    calls: int = 0
    in_flight: int = 0
    status: str = "open"
    """open → settling → settled | failed."""
    settlement: asyncio.Future[SettlementRecord] | None = None
    """The one settlement of this session, once started (payments.py)."""

    def record(self, *, amount: int, status: str) -> SettlementRecord:
        """This session's `/v1/payments` document, one shape open or closed: `summary` while
        it is open, and the record `payments.settle` completes with the settlement's outcome."""
        return SettlementRecord(
            session_id=self.id,
            payer=self.payer,
            nonce=self.nonce,
            authorization_digest=self.digest,
            amount=str(amount),
            cap=str(self.cap),
            calls=self.calls,
            route=f"{self.route[0]} {self.route[1]}",
            network=self.requirements.network,
            tx_hash=None,
            settled_at=None,
            status=status,
        )

    def summary(self) -> dict[str, Any]:
        """JSON for `/v1/payments` while the session is open."""
        return dict(self.record(amount=self.accumulated, status=self.status))


class SettlementRecord(TypedDict):
    """A closed session: what was charged and how its settlement went (`/v1/payments`)."""

    session_id: str
    payer: str
    nonce: str
    authorization_digest: str
    amount: str
    cap: str
    calls: int
    route: str
    network: str
    tx_hash: str | None
    settled_at: int | None
    status: str
    """settled | failed."""
    error: NotRequired[str]


class SessionBook:
    """Open sessions, closed sessions' records, and the indexes that find either."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        """Open (and settling) sessions by id."""
        self.records: OrderedDict[str, SettlementRecord] = OrderedDict()
        """Closed sessions' settlement records, by session id."""
        self._by_key: OrderedDict[str, str] = OrderedDict()
        self._by_payer_nonce: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._by_digest: OrderedDict[str, str] = OrderedDict()

    def header_used(self, key: str) -> bool:
        """Whether this PAYMENT-SIGNATURE (by its sha256) opened a session before."""
        return key in self._by_key

    def nonce_used(self, payer: str, nonce: int) -> bool:
        """Whether a session was opened with `payer`'s Permit2 nonce before."""
        return (payer.lower(), nonce) in self._by_payer_nonce

    def open(self, session: Session) -> None:
        """Register a freshly verified session under every lookup key."""
        self.sessions[session.id] = session
        remember(self._by_key, session.key, session.id)
        remember(self._by_payer_nonce, (session.payer.lower(), int(session.nonce)), session.id)
        remember(self._by_digest, session.digest.lower(), session.id)

    def close(self, session: Session, record: SettlementRecord) -> None:
        """The session is settled (or failed): keep its record, forget it as open."""
        session.status = record["status"]
        self.sessions.pop(session.id, None)
        remember(self.records, session.id, record)

    def open_sessions(self) -> list[Session]:
        """Sessions still accepting calls."""
        return [s for s in self.sessions.values() if s.status == "open"]

    def find(self, *, digest: str | None = None, payer: str = "", nonce: int = 0) -> str | None:
        """A session id by authorization digest, or by `(payer, nonce)`."""
        if digest is not None:
            return self._by_digest.get(digest.lower())
        return self._by_payer_nonce.get((payer.lower(), nonce))

    def document(self, session_id: str) -> dict[str, Any] | None:
        """`/v1/payments/{id}`: the settlement record, or the open session's summary."""
        if session_id in self.records:
            return dict(self.records[session_id])
        session = self.sessions.get(session_id)
        return session.summary() if session is not None else None
