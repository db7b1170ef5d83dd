"""Turn pending receipts into settled ones, in the background.

A paid call returns before its payment settles: the gateway settles an upto
session in one transfer once it is idle or exhausted (og-sdk-wire.md §5.7),
so the receipt first carries only the authorization digest (`payment_tx` empty;
its `payment_hash` names the call's own record, which the session's transfer never
replaces). The tracker finds the settlement afterwards and appends it as an event:

1. `PAYMENT-RESPONSE` — already folded into the receipt by the client.
2. The devnet's `GET /v1/payments?payer=&nonce=` — the gateway's own record.
3. On-chain — the Permit2 nonce is consumed, then the OPG `Transfer`
   payer → payTo in recent blocks whose transaction carries that nonce.

An authorization that never paid is not left pending for ever: once its deadline
has passed and Permit2 never used its nonce, it can never pay, and the tracker
records `payment_status = "expired"` (a refused or failed one too). The spend caps
count such an authorization as 0 from then on (`og_chat.sdk.spend`).

For `batch` receipts it also fetches the Merkle proof (devnet
`GET /v1/settlements/{call_id}`) and records it only after the proof
leads from this receipt's own leaf to a root the chain has stored. For every
mode it records when the call's own record is on-chain (`record_block`; private
mode's posting transaction as `data_settlement_tx`), so each face shows the record
go from pending to on-chain; `on_update` fires with every such event.

Nothing here imports Textual or Rich; chain and HTTP work stays off the
event loop (httpx.AsyncClient, asyncio.to_thread).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from og_chat.sdk import merkle
from og_chat.sdk.eth import parse_amount, web3_http
from og_chat.sdk.networks import NetworkProfile
from og_chat.sdk.opg import opg_text
from og_chat.sdk.types import PaymentStatus, Receipt
from og_chat.store.receipts import ReceiptStore

from .costs import PriceTable, table_price
from .onchain import (
    authorization_dead,
    batch_root_posted,
    find_payment_onchain,
    settlement_address,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("og_chat.app.settlement")

EventFields = dict[str, object]
"""Receipt fields an event sets (`ReceiptStore.append_event`), e.g. `payment_status`."""

UpdateCallback = Callable[[str, EventFields], object]
"""Called with `(receipt_id, fields)` after each event the tracker records."""


class SettlementHost(Protocol):
    """What the tracker needs from the runtime it works for (`Runtime` is one)."""

    @property
    def receipts(self) -> ReceiptStore: ...

    @property
    def network(self) -> str: ...

    @property
    def devnet_url(self) -> str | None: ...

    @property
    def profile(self) -> NetworkProfile: ...

    @property
    def prices(self) -> PriceTable: ...

    def record_event(self, receipt_id: str, **fields: object) -> None: ...


class SettlementTracker:
    """Resolves pending payments and batch proofs for the receipts of one host.

    `on_update(receipt_id, fields)` runs after every event recorded (the TUI
    refreshes its receipts table from it).
    """

    def __init__(self, host: SettlementHost, on_update: UpdateCallback | None = None) -> None:
        self.host = host
        self.on_update = on_update
        self._given_up: set[str] = set()
        """Batch receipts whose proof can never be attached (another call took the leaf), and
        refused or failed ones whose nonce was used anyway (nothing left to look for)."""
        self._http: httpx.AsyncClient | None = None
        """The client `run` keeps between passes: a new one loads the CA certificates again
        (~60 ms of CPU every two seconds, while the TUI streams the answer being settled)."""
        self._keep_client = False

    async def run(self, interval: float = 2.0) -> None:
        """Poll until cancelled; one failing pass never stops the loop."""
        self._keep_client = True
        try:
            while True:
                try:
                    await self.poll_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("settlement tracker pass failed")
                await asyncio.sleep(interval)
        finally:
            self._keep_client = False
            if self._http is not None:
                http, self._http = self._http, None
                await http.aclose()

    def outstanding(self, receipts: list[Receipt] | None = None) -> list[Receipt]:
        """Receipts of this network that still wait for a payment or a batch proof."""
        receipts = receipts if receipts is not None else self.host.receipts.load()
        network = self.host.network
        now = time.time()
        return [
            r
            for r in receipts
            if r.network == network
            and (
                self._wants_payment(r)
                or self._wants_proof(r)
                or self._wants_record(r)
                or self._may_expire(r, now)
            )
        ]

    @staticmethod
    def _wants_payment(r: Receipt) -> bool:
        return r.payment_status == PaymentStatus.PENDING.value and bool(r.payer and r.nonce)

    def _may_expire(self, r: Receipt, now: float) -> bool:
        """An unpaid authorization past its deadline: it may be dead (see the module doc)."""
        unpaid = (
            PaymentStatus.PENDING.value,
            PaymentStatus.REFUSED.value,
            PaymentStatus.FAILED.value,
        )
        return (
            r.payment_status in unpaid
            and r.id not in self._given_up
            and bool(r.payer and r.nonce)
            and isinstance(r.deadline, int)
            and r.deadline < now
        )

    def _wants_record(self, r: Receipt) -> bool:
        """A private or individual call whose record was not seen on-chain yet (a batch
        call's record arrives with its proof)."""
        return (
            r.settlement_mode in ("private", "individual")
            and r.record_block is None
            and bool(r.call_id)
            and r.error is None
            and r.id not in self._given_up
            and self.host.devnet_url is not None
        )

    def _wants_proof(self, r: Receipt) -> bool:
        return (
            r.settlement_mode == "batch"
            and r.merkle_leaf is None
            and bool(r.call_id)
            and r.error is None
            and r.id not in self._given_up
            and self.host.devnet_url is not None
        )

    async def poll_once(self) -> int:
        """One pass over the outstanding receipts; returns how many events were recorded."""
        receipts = await asyncio.to_thread(self.host.receipts.load)
        todo = self.outstanding(receipts)
        if not todo:
            return 0
        if not self._keep_client:
            async with self._new_client() as http:
                return await self._pass(http, todo)
        if self._http is None:
            self._http = self._new_client()
        return await self._pass(self._http, todo)

    def _new_client(self) -> httpx.AsyncClient:
        import httpx  # with its CLI extras installed it costs 0.1 s: only once there is work

        return httpx.AsyncClient(timeout=15, verify=self.host.profile.http_verify())

    async def _pass(self, http: httpx.AsyncClient, todo: list[Receipt]) -> int:
        recorded = 0
        dead: dict[tuple[str, str], bool] = {}
        for receipt in todo:
            fields: EventFields = {}
            if self._wants_payment(receipt):
                fields.update(await self._resolve_payment(http, receipt))
            if not fields and self._may_expire(receipt, time.time()):
                fields.update(await self._expired(receipt, dead))
            if self._wants_proof(receipt):
                fields.update(await self._resolve_proof(http, receipt))
            elif self._wants_record(receipt):
                fields.update(await self._resolve_record(http, receipt))
            if fields:
                await asyncio.to_thread(self.host.record_event, receipt.id, **fields)
                recorded += 1
                if self.on_update is not None:
                    self.on_update(receipt.id, fields)
        return recorded

    # -- payments ----------------------------------------------------------------

    async def _resolve_payment(self, http: httpx.AsyncClient, receipt: Receipt) -> EventFields:
        url = self.host.devnet_url
        if url:
            try:
                resp = await http.get(
                    url.rstrip("/") + "/v1/payments",
                    params={"payer": receipt.payer or "", "nonce": receipt.nonce or ""},
                )
            except Exception as exc:  # the devnet may be gone; fall back to the chain
                log.debug("payment lookup failed: %s", exc)
            else:
                if resp.status_code == 200:
                    try:
                        record = resp.json()
                    except ValueError:
                        record = None
                    return self._from_record(receipt, record)
        try:
            found = await asyncio.to_thread(find_payment_onchain, self.host.profile, receipt)
        except Exception as exc:
            log.debug("on-chain payment lookup failed: %s", exc)
            return {}
        if found is None:
            return {}
        return self._settled(found.tx_hash, None)  # the session's total, not this call's share

    async def _expired(self, receipt: Receipt, seen: dict[tuple[str, str], bool]) -> EventFields:
        """`payment_status = expired` once the chain shows the authorization can never pay."""
        key = (str(receipt.payer).lower(), str(receipt.nonce))
        if key not in seen:
            try:
                seen[key] = await asyncio.to_thread(
                    authorization_dead, self.host.profile, receipt, time.time()
                )
            except Exception as exc:
                log.debug("nonce lookup failed: %s", exc)
                return {}
        if seen[key]:
            return {"payment_status": PaymentStatus.EXPIRED.value}
        if receipt.payment_status != PaymentStatus.PENDING.value:
            self._given_up.add(receipt.id)  # its nonce was used: not dead, not ours to settle
        return {}

    def _from_record(self, receipt: Receipt, record: object) -> EventFields:
        """The event for the devnet's own record of a payment (`GET /v1/payments`).

        One transfer settles a whole upto session. When the session held this call
        alone the transfer amount is the call's charge; otherwise the call's share
        is its price × usage from the devnet's price table.
        """
        if not isinstance(record, dict):
            return {}
        status = record.get("status")
        if status == "settled" and isinstance(record.get("tx_hash"), str):
            try:  # the gateway's numbers, read strictly (ASCII digits, at most 78)
                amount = parse_amount(record.get("amount") or 0)
                calls = None if record.get("calls") is None else parse_amount(record["calls"])
            except ValueError:
                return {}
            single = calls == 1
            charged = opg_text(amount) if single else table_price(receipt, self.host.prices)
            return self._settled(str(record["tx_hash"]), charged)
        if status == "failed":
            reason = str(record.get("error") or "unknown reason")[:300]
            return {
                "payment_status": PaymentStatus.FAILED.value,
                "error": f"settlement failed: {reason}",
            }
        return {}

    @staticmethod
    def _settled(tx_hash: str, charged_opg: str | None) -> EventFields:
        """The event for a found settlement (what this call was charged, when known)."""
        fields: EventFields = {
            "payment_status": PaymentStatus.SETTLED.value,
            "payment_tx": tx_hash,
        }  # never the payment_hash: that names the call's own record, not its session's
        if charged_opg is not None:
            fields["charged_opg"] = charged_opg
        return fields

    # -- batch proofs --------------------------------------------------------------

    async def _record_doc(self, http: httpx.AsyncClient, receipt: Receipt) -> dict[str, Any]:
        """The devnet's `/v1/settlements/{call_id}` document of the call; {} when none."""
        url = self.host.devnet_url
        assert url is not None and receipt.call_id is not None
        key = receipt.call_id.lower().removeprefix("0x")
        try:
            resp = await http.get(f"{url.rstrip('/')}/v1/settlements/{key}")
            doc = resp.json() if resp.status_code == 200 else {}
        except Exception as exc:
            log.debug("record lookup failed: %s", exc)
            return {}
        return doc if isinstance(doc, dict) else {}

    async def _resolve_record(self, http: httpx.AsyncClient, receipt: Receipt) -> EventFields:
        """`record_block` once the devnet says the call's record is in a block."""
        doc = await self._record_doc(http, receipt)
        block, tx = doc.get("block_number"), doc.get("tx_hash")
        if doc.get("status") not in ("posted", "mined") or not isinstance(block, int):
            if doc.get("status") == "failed":
                self._given_up.add(receipt.id)
            return {}
        fields: EventFields = {"record_block": block}
        if receipt.settlement_mode == "private" and isinstance(tx, str):
            fields["data_settlement_tx"] = tx
        return fields

    async def _resolve_proof(self, http: httpx.AsyncClient, receipt: Receipt) -> EventFields:
        doc = await self._record_doc(http, receipt)
        if doc.get("status") != "posted" or not doc.get("root"):
            return {}
        mine = merkle.receipt_leaf(receipt)
        if mine is None or str(doc.get("leaf", "")).lower() != mine:
            # Not this receipt's leaf: the gateway's proof is for another call.
            self._given_up.add(receipt.id)
            return {}
        return await asyncio.to_thread(self._checked_proof, mine, doc)

    def _checked_proof(self, leaf: str, doc: dict[str, Any]) -> EventFields:
        """Record the proof only if it leads to the root and the chain holds that root."""
        proof = [str(p) for p in doc.get("proof") or []]
        root = str(doc["root"])
        if not merkle.verify_proof(leaf, proof, root):
            log.warning("devnet sent a Merkle proof that does not lead to its root %s", root)
            return {}
        profile = self.host.profile
        settlement = settlement_address(profile)
        if settlement is None:
            return {}
        try:
            w3 = web3_http(profile.rpc_url, verify=profile.rpc_verify)
            posted = batch_root_posted(w3, settlement, root)
        except Exception as exc:
            log.debug("batchRoots lookup failed: %s", exc)
            return {}
        if not posted:
            return {}
        block = doc.get("block_number")
        return {
            "merkle_leaf": leaf,
            "merkle_proof": proof,
            "batch_root": root,
            "batch_root_tx": doc.get("tx_hash"),
            "record_block": block if isinstance(block, int) else None,
        }
