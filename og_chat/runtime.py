"""The one core the TUI and the CLI share.

It decides the network (a configured key means mainnet; no key means the
embedded devnet), owns the LLM client and the stores, writes every receipt
before a call returns, tops up the Permit2 allowance by policy, and runs the
settlement tracker. Nothing here imports Textual or Rich.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.types import Receipt, StreamChunk, settlement_mode

Progress = Callable[[str], None]


@dataclass(frozen=True)
class WalletStatus:
    """What the header and the wallet screen show; amounts in base units."""

    network: str
    address: str
    opg: int
    allowance: int
    eth: int


class Runtime:
    """An open og-chat: network, wallet, client, stores and background work."""

    def __init__(self, config: Any, llm: Any, devnet: Any, receipts: Any, sessions: Any) -> None:
        self.config = config
        self.llm = llm
        self.devnet = devnet
        self.receipts = receipts
        self.sessions = sessions
        self.network: str = llm.network
        self.mode: str = settlement_mode(getattr(config, "settlement_mode", "batch")).value
        self._tracker: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """The paying wallet's address."""
        return str(self.llm.address)

    @property
    def devnet_url(self) -> str | None:
        """The devnet in use, if any."""
        if self.devnet is not None:
            return str(self.devnet.url)
        return self.llm._devnet_url if self.network == "devnet" else None

    @classmethod
    async def open(
        cls,
        config: Any = None,
        *,
        network: str | None = None,
        devnet_url: str | None = None,
        mode: str | None = None,
        private_key: str | None = None,
        on_progress: Progress | None = None,
        tokens_per_second: float | None = None,
    ) -> Runtime:
        """Open og-chat: with no key anywhere, start the embedded devnet and use dev account 0."""
        from og_chat.sdk.chain import opg_text
        from og_chat.sdk.client import LLM
        from og_chat.sdk.pricing import table_cost
        from og_chat.store.config import load_config
        from og_chat.store.keystore import env_private_key
        from og_chat.store.receipts import ReceiptStore
        from og_chat.store.sessions import SessionStore

        say = on_progress or (lambda _msg: None)
        config = config if config is not None else load_config()
        key = private_key or env_private_key()
        network = network or _configured_network(config) or ("mainnet" if key else "devnet")
        devnet_url = (
            devnet_url or os.environ.get("OG_DEVNET_URL") or getattr(config, "devnet_url", None)
        )
        if network == "mainnet" and not key:
            raise ConfigurationError(
                "mainnet needs a wallet key",
                hint="set OG_PRIVATE_KEY or create a keystore (`og-chat wallet create`)",
            )
        devnet = None
        if network == "devnet" and not devnet_url:
            from og_chat.devnet import Devnet

            say("starting the embedded devnet…")
            tps = 60.0 if tokens_per_second is None else tokens_per_second
            devnet = await asyncio.to_thread(Devnet.start, tokens_per_second=tps, on_progress=say)
            devnet_url = devnet.url
        receipts = ReceiptStore()
        sessions = SessionStore()
        prices: dict[str, Any] = {}

        def record(receipt: Receipt) -> None:
            # The devnet publishes its price table: show a call's price before it settles.
            if receipt.price_opg is None and receipt.total_tokens:
                cost = table_cost(
                    prices, receipt.model, receipt.prompt_tokens, receipt.completion_tokens
                )
                if cost is not None:
                    receipt.price_opg = opg_text(cost)
            receipts.append(receipt)

        caps = getattr(config, "spend", None)
        llm = LLM(
            key if network == "mainnet" else (key or None),
            network=network,
            devnet_url=devnet_url,
            on_receipt=lambda receipt: record(receipt),
            max_authorization_opg=_first_attr(
                caps, "max_per_authorization_opg", "max_per_authorization"
            ),
            max_deadline_seconds=getattr(caps, "max_deadline_seconds", None),
        )
        say(f"connecting to the {network} gateway…")
        await asyncio.to_thread(llm._resolve_sync)
        doc = llm.profile.extra.get("devnet") if llm.profile.extra else None
        if isinstance(doc, dict) and isinstance(doc.get("prices"), dict):
            prices.update(doc["prices"])
        runtime = cls(config, llm, devnet, receipts, sessions)
        if mode:
            runtime.mode = settlement_mode(mode).value
        if network == "devnet":
            say("approving OPG for Permit2…")
            await runtime.top_up()
        say("ready")
        return runtime

    async def stream_chat(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        mode: str | None = None,
        tools: list[dict[str, Any]] | None = None,
        conversation_id: str | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
    ) -> AsyncIterator[StreamChunk]:
        """Stream one answer; the final chunk carries the receipt, already stored."""
        stream = await self.llm.chat(
            model,
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            tools=tools,
            x402_settlement_mode=mode or self.mode,
            stream=True,
            conversation_id=conversation_id,
        )
        async for chunk in stream:
            yield chunk

    async def wallet(self) -> WalletStatus:
        """Balances of the paying wallet on its payment chain."""
        b = await self.llm.balances()
        return WalletStatus(self.network, b.address, b.opg, b.allowance, b.eth)

    def top_up_policy(self) -> tuple[Decimal, Decimal | None]:
        """(minimum allowance, approve amount) in OPG, from the config."""
        policy = getattr(self.config, "top_up", None)
        minimum = Decimal(str(_first_attr(policy, "min_allowance_opg", "min_allowance") or "1"))
        approve = _first_attr(policy, "approve_opg", "approve_amount")
        return minimum, (Decimal(str(approve)) if approve else None)

    async def top_up(
        self, min_opg: Decimal | None = None, approve_opg: Decimal | None = None
    ) -> str | None:
        """Approve OPG for Permit2 when the allowance is below the minimum; returns the tx hash."""
        minimum, approve = self.top_up_policy()
        result = await self.llm.aensure_opg_approval(min_opg or minimum, approve_opg or approve)
        return result.tx_hash  # type: ignore[no-any-return]

    def record_event(self, receipt_id: str, **fields: Any) -> None:
        """Append a later fact about a receipt (never rewrites it)."""
        self.receipts.append_event(receipt_id, **fields)

    def start_settlement_tracker(
        self,
        on_update: Callable[[str, dict[str, Any]], None] | None = None,
        *,
        interval: float = 2.0,
    ) -> None:
        """Turn pending receipts into settled ones in the background."""
        from og_chat.settlement import SettlementTracker

        if self._tracker is not None:
            return
        tracker = SettlementTracker(self, on_update=on_update)
        self._tracker = asyncio.create_task(tracker.run(interval))

    async def verify_receipt(self, receipt: Receipt) -> list[tuple[str, bool, str]]:
        """Every check of `og-chat receipts verify`, as (name, ok, detail)."""
        from og_chat.verify import verify_receipt

        results = await asyncio.to_thread(verify_receipt, receipt, self.llm.profile)
        return [(r.name, r.ok, r.detail) for r in results]

    async def close(self) -> None:
        """Stop background work, close the client, stop an embedded devnet."""
        if self._tracker is not None:
            self._tracker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._tracker
            self._tracker = None
        await self.llm.close()
        if self.devnet is not None:
            devnet, self.devnet = self.devnet, None
            await asyncio.to_thread(devnet.stop)
        close = getattr(self.receipts, "close", None)
        if close:
            close()


def _configured_network(config: Any) -> str | None:
    value = getattr(config, "network", None)
    if value in (None, "", "auto"):
        return None
    return str(value)


def _first_attr(obj: Any, *names: str) -> Any:
    """The first of `names` that `obj` has set (config keys carry an `_opg` suffix)."""
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None
