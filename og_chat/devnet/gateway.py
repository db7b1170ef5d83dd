"""The devnet's TEE gateway: the live gateway's HTTP API over a real chain and facilitator.

Mirrors OpenGradient's gateway (og-sdk-wire.md §4, §5.2–5.7, §7, §9–§11). The
`Gateway` holds what its parts share (gateway_host.GatewayHost) and composes them:

* payments.py: the 402 challenge, upto sessions (sessions.py), charging, settlement;
* inference.py: the completion routes, signed with the TEE key (tee.py);
* data_settlement.py: each call's metadata, `private`, in a Merkle `batch`, or `individual`;
* app.py: the aiohttp application, its routes and the devnet's extra endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from .background import Background
from .chain import Chain
from .data_settlement import DataSettlement
from .facilitator import Facilitator
from .faults import Faults
from .gateway_config import GatewayConfig
from .inference import Inference
from .payments import EXTENSIONS, Payments, build_requirement
from .pending_records import PendingRecords
from .responder import Responder
from .sessions import Session, SessionBook, SettlementRecord
from .tee import TeeKeys

log = logging.getLogger("og_chat.devnet.gateway")

TOKEN_PRICES: dict[str, dict[str, str]] = {
    "OPG": {"usd": "0.0500"},
    "ETH": {"usd": "3000.00"},
    "BTC": {"usd": "60000.00"},
    "USDC": {"usd": "1.0000"},
}
"""Fixed USD quotes the devnet serves for the tutorial's `get_token_price` tool.

They are fixtures, not market data: a devnet is offline and must answer the same
way every time.
"""


class Gateway:
    """The TEE gateway; build with `Gateway(...)`, serve with `app.make_app`, stop with `close()`."""

    def __init__(
        self,
        *,
        chain: Chain,
        facilitator: Facilitator,
        tee: TeeKeys,
        pay_to: str,
        responder: Responder,
        config: GatewayConfig | None = None,
        faults: Faults | None = None,
        pending: PendingRecords | None = None,
    ) -> None:
        self.chain = chain
        self.facilitator = facilitator
        self.tee = tee
        self.pay_to = pay_to
        self.responder = responder
        self.config = config or GatewayConfig()
        self.faults = faults or Faults()
        self.base_url = ""
        """Set by the server once bound, e.g. `http://127.0.0.1:8402`."""
        self.requirement = build_requirement(
            chain_id=chain.chain_id,
            asset=chain.addresses.opg,
            pay_to=pay_to,
            facilitator=facilitator.address,
            config=self.config,
        )
        self.background = Background()
        self.book = SessionBook()
        self.sessions: dict[str, Session] = self.book.sessions
        """Open sessions by id (the book's own dict)."""
        self.records: dict[str, SettlementRecord] = self.book.records
        """Closed sessions' settlement records by id (the book's own dict)."""
        self.payments = Payments(self, self.book, self.background)
        self.data = DataSettlement(self, self.background, pending)
        self.inference = Inference(self, self.payments, self.data)
        self._reaper: asyncio.Task[Any] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start_reaper(self) -> None:
        """Start settling idle sessions and posting due batches (on the serving loop)."""
        self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        interval = max(
            0.05, min(0.25, self.config.session_idle / 4, self.config.batch_interval / 4)
        )
        while True:
            await asyncio.sleep(interval)
            try:
                self.payments.reap()
                self.data.reap()
            except Exception:  # the reaper must survive anything one settlement does
                log.exception("reaper pass failed")

    async def close(self) -> None:
        """Settle every open session and post the pending batch, then stop the reaper."""
        if self._reaper:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for _ in range(100):  # let in-flight answers finish charging (≤ 5 s)
            if not any(s.in_flight for s in self.sessions.values()):
                break
            await asyncio.sleep(0.05)
        await self.settle_open_sessions()
        await self.data.flush()
        await self.background.drain()
        self.data.pending_store.close()
        await self.responder.close()

    async def settle_open_sessions(self) -> list[SettlementRecord]:
        """Settle every open session now (what the reaper would do later); their records."""
        return list(
            await asyncio.gather(*(self.payments.settle(s) for s in self.book.open_sessions()))
        )

    async def flush_batch(self) -> None:
        """Post the pending batch root and private records now instead of after the interval."""
        await self.data.flush()

    # -- the network document -----------------------------------------------------------

    def devnet_document(self) -> dict[str, Any]:
        """Everything a client needs to use this devnet (`GET /devnet`).

        Over HTTPS it also carries the served certificate (PEM), so a client can pin
        the gateway and `/rpc` to it; a careful client trusts it only once the TEE
        registry names the same certificate for this endpoint.
        """
        a = self.chain.addresses
        identity = self.chain.identity
        tls = (
            {"tls_certificate": self.tee.certificate_pem}
            if self.base_url.startswith("https")
            else {}
        )
        return {
            "chain_id": self.chain.chain_id,
            "network": f"eip155:{self.chain.chain_id}",
            "genesis_hash": identity.genesis_hash,
            "instance_id": identity.instance_id,
            "persistent": identity.persistent,
            "rpc_url": self.base_url + "/rpc",
            "gateway_url": self.base_url,
            "contracts": {
                "opg": a.opg,
                "permit2": a.permit2,
                "upto_proxy": a.upto_proxy,
                "exact_permit2_proxy": a.exact_permit2_proxy,
                "tee_registry": a.tee_registry,
                "settlement": a.settlement,
            },
            "facilitator_address": self.facilitator.address,
            "pay_to": self.pay_to,
            "extensions": sorted(EXTENSIONS),  # what its 402s advertise
            "tee_id": self.tee.tee_id,
            "token": {"name": "OpenGradient", "version": "1", "decimals": 18, "symbol": "OPG"},
            "session": {
                "cap": str(self.config.session_cap),
                "idle_seconds": self.config.session_idle,
            },
            "settlement": {
                "batch_size": self.config.batch_size,
                "batch_interval_seconds": self.config.batch_interval,
            },
            "accounts": [
                {"address": acct.address, "private_key": acct.private_key}
                for acct in self.chain.accounts
            ],
            "prices": self.payments.prices,
            "token_prices": TOKEN_PRICES,
            "faults": self.faults.as_dict(),
            **tls,
        }
