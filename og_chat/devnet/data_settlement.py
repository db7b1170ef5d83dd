"""Each paid call's own on-chain record: `private`, in a Merkle `batch`, or `individual`.

Every paid call has a `call_id` (bytes32 the gateway assigns, inference.py) and leaves
exactly one record on the DataSettlement contract that a stock JSON-RPC client finds from
that id (or, individual mode, the transaction hash) alone:

* private: a `CallRecorded` event, hashes only (no model, no content), posted with the
  other pending ones in one `recordCalls` transaction every `batch_size` calls or
  `batch_interval` seconds, so private mode keeps its throughput;
* batch: the call's leaf (og_chat.sdk.merkle, with the call id) joins the pending batch;
  the transaction posting the batch's root emits one `BatchLeaf` per call, so a lookup of
  the call id leads to the root; `/v1/settlements/{call_id}` then has the proof;
* individual: one `settleIndividual` transaction with the call in full (model id, the
  canonical request as UTF-8 JSON, the answer text, usage, TEE id, hashes, timestamp,
  signature), its hash answered at once in `X-Settlement-Tx-Hash`. The request hash is
  keccak of `json.dumps(json.loads(input), sort_keys=True)` (the ASCII-escaped form the
  TEE signs); posting the readable form keeps non-ASCII prompts readable on-chain.

Records not yet posted also wait in `PendingRecords` (on disk with the devnet's state), so
a restart posts them (`restore()`); records posted in earlier launches are looked up in
the chain's index by their event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from og_chat.sdk import merkle
from og_chat.sdk.addresses import DEVNET_SETTLEMENT
from og_chat.sdk.eth import from_hex, hex0x, keccak

from .background import Background
from .gateway_host import GatewayHost
from .indexer import IndexedLog
from .operator import IndividualCall, PrivateRecord
from .pending_records import PendingRecords
from .sessions import remember

log = logging.getLogger("og_chat.devnet.gateway")

RECORD_EVENTS = ("CallRecorded", "BatchLeaf", "IndividualSettled")
"""The DataSettlement events that are one call's record, each with the call id as topic 1."""


def settlement_mode(header: str | None) -> str:
    """`private`, `batch` or `individual` from `X-SETTLEMENT-TYPE`, with the live aliases."""
    value = (header or "").strip().lower()
    if value in ("private", "pivate"):
        return "private"
    if value in ("individual", "inidvidual"):
        return "individual"
    return "batch"


def private_record(call: IndividualCall) -> PrivateRecord:
    """A call as a private-mode `CallRecorded` event takes it: hashes only."""
    return PrivateRecord(
        call.call_id,
        call.tee_id,
        call.request_hash,
        hex0x(keccak(call.output.encode("utf-8"))),
        call.timestamp,
        hex0x(keccak(call.signature)),
    )


def batch_leaf(call: IndividualCall) -> bytes:
    """A call's batch leaf (og_chat.sdk.merkle)."""
    record = private_record(call)
    return merkle.leaf_hash(
        call_id=record.call_id,
        tee_id=record.tee_id,
        request_hash=record.request_hash,
        output_hash=record.output_hash,
        tee_signature=call.signature,
        tee_timestamp=record.timestamp,
    )


@dataclass(slots=True)
class CallRecord:
    """One call's record: waiting for its transaction, then where it is on-chain.

    Kept small (slots, no proof: a proof is computed from the root transaction's
    `BatchLeaf` events when asked for): the gateway keeps up to KEEP_RECORDS of them.
    """

    call_id: str
    mode: str
    request_hash: str | None = None
    """hex, no 0x, as the gateway sends it (None for a batch leaf restored from the chain)."""
    status: str = "pending"
    """pending → posted (private, batch) | mined (individual) | failed."""
    tx_hash: str | None = None
    block_number: int | None = None
    error: str | None = None
    private: PrivateRecord | None = None
    """What a pending private record will post."""
    leaf: bytes | None = None
    index: int | None = None
    root: bytes | None = None

    def as_json(self, proof: list[bytes] | None = None) -> dict[str, Any]:
        """The `/v1/settlements/{call_id}` document (`proof`: a posted batch leaf's)."""
        doc: dict[str, Any] = {
            "call_id": self.call_id,
            "mode": self.mode,
            "request_hash": self.request_hash,
            "status": self.status,
            "tx_hash": self.tx_hash,
            "block_number": self.block_number,
            "error": self.error,
        }
        if self.mode == "batch":
            doc.update(
                leaf=hex0x(self.leaf) if self.leaf else None,
                proof=[hex0x(p) for p in proof or []],
                root=hex0x(self.root) if self.root else None,
                index=self.index,
            )
        return doc

    def pending_payload(self) -> dict[str, Any]:
        """What `PendingRecords` keeps to post this record after a restart."""
        payload: dict[str, Any] = {"request_hash": self.request_hash}
        if self.leaf is not None:
            payload["leaf"] = hex0x(self.leaf)
        if self.private is not None:
            payload["private"] = dataclasses.asdict(self.private)
        return payload


class DataSettlement:
    """Pending records and batches, their posts, and the lookups of every call's record."""

    def __init__(
        self, host: GatewayHost, background: Background, pending: PendingRecords | None = None
    ) -> None:
        self.host = host
        self.background = background
        self.pending_store = pending or PendingRecords()
        self.records: OrderedDict[str, CallRecord] = OrderedDict()
        """The records not on-chain yet by call id (0x hex, lower case), newest last; a
        posted or mined one leaves (the chain's index has it)."""
        self._batch: list[CallRecord] = []
        self._private: list[CallRecord] = []
        self._since: dict[str, float] = {}
        """Queue name → when its oldest pending record arrived."""
        self._lock = asyncio.Lock()
        self._flush_task: asyncio.Task[Any] | None = None

    # -- lookups -------------------------------------------------------------------------

    def lookup(self, call_id: str) -> dict[str, Any] | None:
        """`/v1/settlements/{call_id}` (hex, with or without 0x): the call's record.

        Only records not on-chain yet (pending, failed, an individual transaction not mined)
        are held in memory; a posted one is read from its event in the chain's index, as a
        record of an earlier launch is, so the gateway's memory does not grow per call.
        """
        key = "0x" + call_id.lower().removeprefix("0x")
        record = self.records.get(key) or self._from_chain(key)
        if record is None:
            return None
        if record.mode == "batch" and record.status == "posted" and record.tx_hash:
            return record.as_json(self._proof_from_chain(record))
        return record.as_json()

    def _from_chain(self, call_id: str) -> CallRecord | None:
        """The posted record of `call_id`, from its event in the chain's index."""
        return next(iter(self._posted({call_id})), None)

    def _posted(self, call_ids: set[str]) -> list[CallRecord]:
        """The records of `call_ids` (0x hex, lower case) that are on-chain, oldest first."""
        topics = self._topics()
        names = {t: n for n, t in topics.items()}
        index = self.host.chain.index
        wanted: list[set[str] | None] = [set(names), call_ids]
        return [
            _posted_record(names[entry.topics[0]], entry)
            for entry in index.logs(0, index.head, {DEVNET_SETTLEMENT.lower()}, wanted)
        ]

    def _proof_from_chain(self, record: CallRecord) -> list[bytes]:
        """A posted leaf's proof, from its root transaction's `BatchLeaf` events."""
        assert record.tx_hash is not None
        topic = self._topics()["BatchLeaf"]
        leaves = {
            _uint(log, 1): _word(log, 0)
            for log in self.host.chain.index.logs_of(record.tx_hash)
            if log.topics and log.topics[0] == topic
        }
        levels = merkle.build_levels([leaves[i] for i in sorted(leaves)])
        return merkle.proof_for(levels, record.index or 0)

    # -- settling one call -----------------------------------------------------------------

    async def settle(self, mode: str, call: IndividualCall) -> dict[str, str]:
        """Record one answered, signed call per `mode`; the `X-Settlement-*` headers to send.

        `call` is the call in full (what individual mode posts); private and batch mode
        post only its hashes.
        """
        key = call.call_id.lower()
        request_hash = call.request_hash.removeprefix("0x")
        if mode in ("private", "batch"):
            record = CallRecord(key, mode, request_hash=request_hash)
            if mode == "private":
                record.private = private_record(call)
            else:
                record.leaf = batch_leaf(call)
            self._enqueue(record)
            self.pending_store.add(key, record.mode, record.pending_payload())
            return {}
        headers = {
            "X-Settlement-Type": "individual",
            "X-Settlement-Job-ID": str(uuid.uuid4()),
            "X-Settlement-Queue": "devnet",
            "X-Settlement-Signer-Address": self.host.chain.operator.address,
            "X-TEE-ID": call.tee_id,
            "X-TEE-Timestamp": str(call.timestamp),
            "X-TEE-Request-Hash": request_hash,
            "X-TEE-Output-Hash": keccak(call.output.encode("utf-8")).hex(),
        }
        record = CallRecord(key, "individual", request_hash=request_hash)
        try:
            tx_hash = await self.host.chain.operator.submit_individual(call)
        except Exception as exc:
            log.warning("individual settlement failed: %s", exc)
            headers["X-Settlement-Status"] = "failed"
            record.status, record.error = "failed", str(exc)
            remember(self.records, key, record)
            return headers
        headers["X-Settlement-Status"] = "submitted"
        headers["X-Settlement-Tx-Hash"] = tx_hash
        record.tx_hash = tx_hash
        remember(self.records, key, record)
        self.background.spawn(self._confirm_individual(record))
        return headers

    async def _confirm_individual(self, record: CallRecord) -> None:
        """Record whether an individual settlement was mined successfully."""
        assert record.tx_hash is not None
        try:
            tx = await self.host.chain.wait_for_tx(record.tx_hash)
            record.status = "mined" if tx.status == 1 else "failed"
            record.block_number = tx.block_number
        except Exception as exc:
            record.status, record.error = "failed", str(exc)
        if record.status == "mined":  # its IndividualSettled event is the record now
            self.records.pop(record.call_id, None)

    def _enqueue(self, record: CallRecord, since: float | None = None) -> None:
        """Queue a record for its post; a full queue is posted at once (on the serving loop)."""
        remember(self.records, record.call_id, record)
        queue = self._private if record.mode == "private" else self._batch
        queue.append(record)
        self._since.setdefault(record.mode, time.monotonic() if since is None else since)
        if since is None and len(queue) >= self.host.config.batch_size:
            self._kick_flush()

    # -- posting pending records -------------------------------------------------------------

    def reap(self) -> None:
        """Post pending records and batches once the oldest has waited `batch_interval`."""
        now = time.monotonic()
        due = any(now - t >= self.host.config.batch_interval for t in self._since.values())
        if due:
            self._kick_flush()

    def _kick_flush(self) -> None:
        """Start posting unless a post is already running (it picks up what piles up)."""
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = self.background.spawn(self.flush())

    async def flush(self) -> None:
        """Post everything pending: private records and the batch (again while full ones pile up)."""
        async with self._lock:
            while self._private or self._batch:
                if self._private:
                    await self._post("private", self._take("private"))
                if self._batch:
                    await self._post("batch", self._take("batch"))
                size = self.host.config.batch_size
                if len(self._private) < size and len(self._batch) < size:
                    break

    def _take(self, mode: str) -> list[CallRecord]:
        self._since.pop(mode, None)
        if mode == "private":
            taken, self._private = self._private, []
        else:
            taken, self._batch = self._batch, []
        return taken

    async def _post(self, mode: str, records: list[CallRecord]) -> None:
        """One transaction for `records`; each record then says where it is (or that it failed)."""
        operator = self.host.chain.operator
        try:
            if mode == "private":
                tx = await operator.record_calls([r.private for r in records if r.private])
            else:
                levels = merkle.build_levels([r.leaf or b"" for r in records])
                root = levels[-1][0]
                for i, r in enumerate(records):
                    r.index, r.root = i, root
                pairs = [(r.call_id, r.leaf or b"") for r in records]
                tx = await operator.post_batch_root(root, pairs)
        except Exception as exc:
            log.warning("posting %d %s record(s) failed: %s", len(records), mode, exc)
            for r in records:
                r.status, r.error = "failed", str(exc)
        else:
            for r in records:
                r.tx_hash, r.block_number = tx.tx_hash, tx.block_number
                r.status, r.private = "posted", None
                self.records.pop(r.call_id, None)  # its event in the chain's index is the record
        self.pending_store.remove(r.call_id for r in records)

    # -- after a restart -----------------------------------------------------------------------

    def restore(self) -> int:
        """After a restart: queue the records kept in `PendingRecords` again; how many.

        A record the chain already has (a stop between its post and this bookkeeping) is
        dropped instead of posted twice. Records posted in earlier launches are not loaded
        here: `lookup` finds them in the chain's index when asked.
        """
        kept = self.pending_store.load()
        posted = {r.call_id for r in self._posted({c for c, _, _ in kept})} if kept else set()
        queued = 0
        for call_id, mode, payload in kept:
            if call_id in posted:
                self.pending_store.remove([call_id])
                continue
            record = CallRecord(call_id, mode, request_hash=payload.get("request_hash"))
            if mode == "private":
                record.private = PrivateRecord(**payload["private"])
            else:
                record.leaf = from_hex(payload["leaf"])
            self._enqueue(record, since=0.0)  # overdue: the reaper's first pass posts it
            queued += 1
        return queued

    def _topics(self) -> dict[str, str]:
        """The record events' topic0, from the contract's ABI."""
        events = self.host.chain.node.events.events
        return {name: t for t, (name, _) in events.items() if name in RECORD_EVENTS}


def _word(log: IndexedLog, i: int) -> bytes:
    """Data word `i` of a log."""
    data = from_hex(log.data)
    return data[32 * i : 32 * (i + 1)]


def _uint(log: IndexedLog, i: int) -> int:
    return int.from_bytes(_word(log, i), "big")


def _posted_record(name: str, entry: IndexedLog) -> CallRecord:
    """A record posted in an earlier launch, from its event (topic 1 is the call id)."""
    record = CallRecord(
        entry.topics[1].lower(),
        "individual",
        tx_hash=entry.tx_hash,
        block_number=entry.block_number,
    )
    if name == "CallRecorded":
        record.mode, record.status, record.request_hash = "private", "posted", _word(entry, 0).hex()
    elif name == "BatchLeaf":
        record.mode, record.status = "batch", "posted"
        record.leaf, record.index = _word(entry, 0), _uint(entry, 1)
        record.root = from_hex(entry.topics[2])
    else:
        record.status, record.request_hash = "mined", entry.topics[3].removeprefix("0x")
    return record
