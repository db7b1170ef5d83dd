"""Settling each call's metadata on-chain: `private`, a Merkle `batch`, or `individual`.

`private` settles payment only. `batch` adds the call's leaf (og_chat.sdk.merkle) to
the pending batch, whose root is posted when it is full or old enough; every leaf
then gets its proof for `/v1/settlements/{request_hash}`. `individual` sends one
`settleIndividual` transaction per call and answers with its hash at once.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from og_chat.sdk import merkle
from og_chat.sdk.eth import hex0x

from .background import Background
from .gateway_host import GatewayHost
from .operator import CallMetadata
from .sessions import remember
from .tee import Signed

log = logging.getLogger("og_chat.devnet.gateway")


def settlement_mode(header: str | None) -> str:
    """`private`, `batch` or `individual` from `X-SETTLEMENT-TYPE`, with the live aliases."""
    value = (header or "").strip().lower()
    if value in ("private", "pivate"):
        return "private"
    if value in ("individual", "inidvidual"):
        return "individual"
    return "batch"


@dataclass
class LeafRecord:
    """One call's place in a batch."""

    leaf: bytes
    request_hash: str
    index: int | None = None
    root: bytes | None = None
    proof: list[bytes] = field(default_factory=list)
    tx_hash: str | None = None
    block_number: int | None = None
    status: str = "pending"
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The `/v1/settlements/{request_hash}` document."""
        return {
            "request_hash": self.request_hash,
            "leaf": hex0x(self.leaf),
            "proof": [hex0x(p) for p in self.proof],
            "root": hex0x(self.root) if self.root else None,
            "tx_hash": self.tx_hash,
            "block_number": self.block_number,
            "index": self.index,
            "status": self.status,
            "error": self.error,
        }


class IndividualRecord(TypedDict):
    """An individual settlement's outcome (`/v1/settlements/{request_hash}`)."""

    mode: str
    request_hash: str
    tx_hash: str
    status: NotRequired[str]
    """mined | failed."""
    block_number: NotRequired[int]
    error: NotRequired[str]


class DataSettlement:
    """The pending batch, its posted roots and proofs, and individual settlements."""

    def __init__(self, host: GatewayHost, background: Background) -> None:
        self.host = host
        self.background = background
        self.leaves: OrderedDict[str, LeafRecord] = OrderedDict()
        """Batch leaves by request hash (the newest call wins)."""
        self.individual: OrderedDict[str, IndividualRecord] = OrderedDict()
        """Individual settlements by request hash, once mined."""
        self._pending: list[LeafRecord] = []
        self._pending_since: float | None = None
        self._batch_lock = asyncio.Lock()
        self._flush_task: asyncio.Task[Any] | None = None

    def lookup(self, request_hash: str) -> dict[str, Any] | None:
        """`/v1/settlements/{request_hash}` (hex, no 0x): a batch leaf or an individual record."""
        record = self.leaves.get(request_hash)
        if record is not None:
            return record.as_json()
        individual = self.individual.get(request_hash)
        return dict(individual) if individual is not None else None

    async def settle(self, mode: str, signed: Signed) -> dict[str, str]:
        """Settle one call's metadata per `mode`; the `X-Settlement-*` headers to send."""
        if mode == "private":
            return {}
        if mode == "batch":
            self._add_leaf(signed)
            return {}
        headers = {
            "X-Settlement-Type": "individual",
            "X-Settlement-Job-ID": str(uuid.uuid4()),
            "X-Settlement-Queue": "devnet",
            "X-Settlement-Signer-Address": self.host.chain.operator.address,
            "X-TEE-ID": signed.tee_id,
            "X-TEE-Timestamp": str(signed.timestamp),
            "X-TEE-Request-Hash": signed.request_hash,
            "X-TEE-Output-Hash": signed.output_hash,
        }
        try:
            tx_hash = await self.host.chain.operator.submit_individual(
                CallMetadata(
                    tee_id=signed.tee_id,
                    request_hash=signed.request_hash,
                    output_hash=signed.output_hash,
                    signature=base64.b64decode(signed.signature),
                    timestamp=signed.timestamp,
                )
            )
            headers["X-Settlement-Status"] = "submitted"
            headers["X-Settlement-Tx-Hash"] = tx_hash
            self.background.spawn(self._confirm_individual(signed.request_hash, tx_hash))
        except Exception as exc:
            log.warning("individual settlement failed: %s", exc)
            headers["X-Settlement-Status"] = "failed"
        return headers

    async def _confirm_individual(self, request_hash: str, tx_hash: str) -> None:
        """Record whether an individual settlement was mined successfully."""
        record = IndividualRecord(mode="individual", request_hash=request_hash, tx_hash=tx_hash)
        try:
            tx = await self.host.chain.wait_for_tx(tx_hash)
            record["status"] = "mined" if tx.status == 1 else "failed"
            record["block_number"] = tx.block_number
        except Exception as exc:
            record["status"] = "failed"
            record["error"] = str(exc)
        remember(self.individual, request_hash, record)

    # -- batches ---------------------------------------------------------------------------

    def _add_leaf(self, signed: Signed) -> None:
        leaf = merkle.leaf_hash(
            tee_id=signed.tee_id,
            request_hash=signed.request_hash,
            output_hash=signed.output_hash,
            tee_signature=signed.signature,
            tee_timestamp=signed.timestamp,
        )
        record = LeafRecord(leaf=leaf, request_hash=signed.request_hash)
        remember(self.leaves, signed.request_hash, record)
        self._pending.append(record)
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        if len(self._pending) >= self.host.config.batch_size:
            self._kick_flush()

    def reap(self) -> None:
        """Post the pending batch once it has waited `batch_interval`."""
        since = self._pending_since
        waited = time.monotonic() - since if since is not None else 0.0
        if self._pending and waited >= self.host.config.batch_interval:
            self._kick_flush()

    def _kick_flush(self) -> None:
        """Start a batch post unless one is already running (it picks up what piles up)."""
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = self.background.spawn(self.flush_batch())

    async def flush_batch(self) -> None:
        """Post the Merkle root of every pending leaf (again while a full batch piles up)."""
        async with self._batch_lock:
            while self._pending:
                await self._post_batch()
                if len(self._pending) < self.host.config.batch_size:
                    break

    async def _post_batch(self) -> None:
        """Post one root over all pending leaves and give each leaf its proof."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._pending_since = None
        levels = merkle.build_levels([r.leaf for r in batch])
        root = levels[-1][0]
        for i, r in enumerate(batch):
            r.index, r.root, r.proof = i, root, merkle.proof_for(levels, i)
        try:
            tx = await self.host.chain.operator.post_batch_root(root, len(batch))
        except Exception as exc:
            log.warning("posting batch root failed: %s", exc)
            for r in batch:
                r.status, r.error = "failed", str(exc)
            return
        for r in batch:
            r.tx_hash, r.block_number = tx.tx_hash, tx.block_number
            r.status = "posted" if tx.status == 1 else "failed"
