"""The one core the TUI and the CLI share.

It decides the network (a configured key means mainnet; no key means the
embedded devnet), owns the LLM client and the receipt store, writes every receipt
before a call returns, tops up the Permit2 allowance by policy, and runs the
settlement tracker. Nothing here imports Textual or Rich.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from og_chat import sdk
from og_chat.sdk import embedded
from og_chat.sdk.embedded import EmbeddedDevnet
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.networks import NetworkProfile
from og_chat.sdk.types import Receipt, StreamChunk, TextGenerationOutput, settlement_mode
from og_chat.store.config import Config, load_config
from og_chat.store.keystore import env_private_key
from og_chat.store.paths import data_dir
from og_chat.store.receipts import ReceiptStore

from .costs import PriceTable, table_price
from .network import devnet_url as given_devnet_url
from .settlement import SettlementTracker, UpdateCallback
from .verify import verify_receipt

if TYPE_CHECKING:
    from og_chat.sdk.client import LLM

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
    """An open og-chat: network, wallet, client, receipts and background work.

    The one typed seam between the faces (TUI, CLI) and the layers below: they
    hold a Runtime and call these methods; nothing reaches past it into the
    client or the stores' internals.
    """

    def __init__(
        self,
        config: Config,
        llm: LLM,
        devnet: EmbeddedDevnet | None,
        receipts: ReceiptStore,
        *,
        mode: str | None = None,
    ) -> None:
        self.config = config
        self.llm = llm
        self.devnet = devnet
        """The embedded devnet this runtime started (None for a URL or mainnet)."""
        self.receipts = receipts
        self.network: str = llm.network
        self.mode: str = settlement_mode(mode or config.settlement_mode).value
        self._tracker: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """The paying wallet's address."""
        return self.llm.address

    @property
    def profile(self) -> NetworkProfile:
        """The payment network in use."""
        return self.llm.profile

    @property
    def devnet_url(self) -> str | None:
        """The devnet in use (embedded or given), None on mainnet."""
        if self.devnet is not None:
            return self.devnet.url
        return self.llm.devnet_url

    @property
    def prices(self) -> PriceTable:
        """The devnet's published price table (empty on mainnet)."""
        doc = self.profile.extra.get("devnet") if self.profile.extra else None
        prices = doc.get("prices") if isinstance(doc, dict) else None
        return prices if isinstance(prices, dict) else {}

    @classmethod
    async def open(
        cls,
        config: Config | None = None,
        *,
        network: str | None = None,
        devnet_url: str | None = None,
        mode: str | None = None,
        private_key: str | None = None,
        on_progress: Progress | None = None,
        tokens_per_second: float | None = None,
    ) -> Runtime:
        """Open og-chat: with no key anywhere, start the embedded devnet and use dev account 0."""
        say = on_progress or (lambda _msg: None)
        config = config if config is not None else load_config()
        key = private_key or env_private_key()
        network = network or config.effective_network(has_key=bool(key))
        devnet_url = given_devnet_url(devnet_url, config)
        if network == "mainnet" and not key:
            raise ConfigurationError(
                "mainnet needs a wallet key",
                hint="set OG_PRIVATE_KEY or create a keystore (`og-chat wallet create`)",
            )
        devnet = None
        if network == "devnet" and not devnet_url:
            say("starting the embedded devnet…")
            devnet = await asyncio.to_thread(
                embedded.start,
                tokens_per_second=tokens_per_second,
                on_progress=say,
                state_dir=data_dir(create=True) / "devnet",  # its chain is kept, like receipts
            )
            devnet_url = devnet.url
        receipts = ReceiptStore()
        runtime: Runtime | None = None

        def record(receipt: Receipt) -> None:
            # The devnet publishes its price table: show a call's price before it settles.
            if receipt.price_opg is None and receipt.total_tokens and runtime is not None:
                receipt.price_opg = table_price(receipt, runtime.prices)
            receipts.append(receipt)

        llm = sdk.LLM(  # the package loads the client (httpx, x402) on first use
            key,
            network=network,
            devnet_url=devnet_url,
            on_receipt=record,
            max_authorization_opg=config.spend.max_per_authorization_opg,
            max_deadline_seconds=config.spend.max_deadline_seconds,
        )
        say(f"connecting to the {network} gateway…")
        await asyncio.to_thread(llm.resolve)
        runtime = cls(config, llm, devnet, receipts, mode=mode)
        if network == "devnet" and not llm.sponsors_approval:
            # Otherwise the first payment carries a gas-sponsored approval: no separate step.
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
        max_tokens: int | None = None,
        temperature: float | None = None,
        system_prompt: str | None = None,
    ) -> AsyncIterator[StreamChunk]:
        """Stream one answer; the final chunk carries the receipt, already stored.

        `max_tokens` defaults to the config's `max_tokens`, `temperature` to the
        sdk's default; `system_prompt`, when given, is sent first, before `messages`.
        """
        if system_prompt:
            messages = [{"role": "system", "content": system_prompt}, *messages]
        options: dict[str, Any] = {} if temperature is None else {"temperature": temperature}
        stream = await self.llm.chat(
            model,
            messages,
            max_tokens=self.config.max_tokens if max_tokens is None else max_tokens,
            tools=tools,
            x402_settlement_mode=mode or self.mode,
            stream=True,
            conversation_id=conversation_id,
            **options,
        )
        assert not isinstance(stream, TextGenerationOutput)
        async for chunk in stream:
            yield chunk

    async def wallet(self) -> WalletStatus:
        """Balances of the paying wallet on its payment chain."""
        b = await self.llm.balances()
        return WalletStatus(self.network, b.address, b.opg, b.allowance, b.eth)

    def top_up_policy(self) -> tuple[Decimal, Decimal]:
        """(minimum allowance, approve amount) in OPG, from the config."""
        policy = self.config.top_up
        return policy.min_allowance_opg, policy.approve_opg

    async def top_up(
        self, min_opg: Decimal | None = None, approve_opg: Decimal | None = None
    ) -> str | None:
        """Approve OPG for Permit2 when the allowance is below the minimum; returns the tx hash."""
        minimum, approve = self.top_up_policy()
        result = await self.llm.aensure_opg_approval(min_opg or minimum, approve_opg or approve)
        return result.tx_hash

    def record_event(self, receipt_id: str, **fields: object) -> None:
        """Append a later fact about a receipt (never rewrites it)."""
        self.receipts.append_event(receipt_id, **fields)

    def start_settlement_tracker(
        self,
        on_update: UpdateCallback | None = None,
        *,
        interval: float = 2.0,
    ) -> None:
        """Turn pending receipts into settled ones in the background."""
        if self._tracker is not None:
            return
        tracker = SettlementTracker(self, on_update=on_update)
        self._tracker = asyncio.create_task(tracker.run(interval))

    async def verify_receipt(self, receipt: Receipt) -> list[tuple[str, bool, str]]:
        """Every check of `og-chat receipts verify`, as (name, ok, detail)."""
        results = await asyncio.to_thread(verify_receipt, receipt, self.profile)
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
        self.receipts.close()
