"""The one core the TUI and the CLI share.

It takes the network `choose_network` picks (through `app.network`), owns the LLM
client and the receipt store, writes every paid call's receipt ahead of its
signature and completes it before the call returns, enforces the spend caps across
processes (`spending.StoreSpendGuard`), tops up the Permit2 allowance by the
config's policy (one process at a time, asking first where a confirmation is due),
and runs the settlement tracker. Nothing here imports Textual or Rich.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from og_chat import sdk
from og_chat.sdk import embedded
from og_chat.sdk.devnet_process import DevnetProcess
from og_chat.sdk.embedded import EmbeddedDevnet
from og_chat.sdk.errors import ConfigurationError, PaymentError, UntrustedNetwork
from og_chat.sdk.network_choice import NetworkChoice, NetworkRequest
from og_chat.sdk.networks import NetworkProfile
from og_chat.sdk.opg import opg_display, to_base_units
from og_chat.sdk.sink import Durable
from og_chat.sdk.tee import CheckResult
from og_chat.sdk.trust import needs_confirmation
from og_chat.sdk.types import Receipt, StreamChunk, TextGenerationOutput, settlement_mode
from og_chat.store.config import Config, load_config
from og_chat.store.keystore import env_private_key
from og_chat.store.locks import APPROVAL_LOCK, file_lock
from og_chat.store.paths import data_dir
from og_chat.store.receipts import ReceiptStore

from . import network as networks
from .costs import PriceTable, table_price
from .settlement import SettlementTracker, UpdateCallback
from .spending import StoreSpendGuard, limits_from
from .verify import verify_receipt

if TYPE_CHECKING:
    from og_chat.sdk.client import LLM

Progress = Callable[[str], None]
Confirm = Callable[[str], Awaitable[bool]]
"""Asks the user a yes/no question (the CLI on its terminal, the TUI in a dialog)."""


class AllowanceShort(PaymentError):
    """The Permit2 allowance is below the minimum and the policy says not to approve."""


class _Recorder:
    """The runtime's `ReceiptSink`: the receipt log, with the devnet's price filled in."""

    def __init__(self, store: ReceiptStore, prices: Callable[[], PriceTable]) -> None:
        self._store = store
        self._prices = prices

    def write_ahead(self, receipt: Receipt) -> Durable:
        return self._store.write_ahead(receipt)

    def complete(self, receipt: Receipt) -> None:
        # The devnet publishes its price table: show a call's price before it settles.
        if receipt.price_opg is None and receipt.total_tokens:
            receipt.price_opg = table_price(receipt, self._prices())
        self._store.complete(receipt)


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
        guard: StoreSpendGuard | None = None,
    ) -> None:
        self.config = config
        self.llm = llm
        self.devnet = devnet
        """The embedded devnet this runtime started (None for a URL or mainnet)."""
        self.receipts = receipts
        self.network: str = llm.network
        self.mode: str = settlement_mode(config.settlement_mode).value
        """The settlement mode of a call that names none (each face names its own)."""
        self.choice: NetworkChoice | None = None
        """The network choice this runtime was opened with (`app.network.choose`)."""
        self.guard = guard or StoreSpendGuard(receipts, limits_from(config.spend))
        """The spend caps, counted over the receipt log (the one the client asks)."""
        self.allowance_short = False
        """True when the allowance is below the minimum and the policy said not to approve."""
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

    @property
    def day_left(self) -> Decimal | None:
        """OPG that may still be authorized today under `max_per_day_opg` (None: no cap)."""
        return self.guard.day_left()

    @classmethod
    async def open(
        cls,
        config: Config | None = None,
        request: NetworkRequest = NetworkRequest(),
        *,
        private_key: str | None = None,
        on_progress: Progress | None = None,
        tokens_per_second: float | None = None,
        confirm: Confirm | None = None,
        top_up: bool = True,
        devnet_process: DevnetProcess | None = None,
    ) -> Runtime:
        """Open og-chat on the network `app.network.choose` picks from `request`, the
        environment and the config: with no key anywhere, the embedded devnet.

        `private_key` is the wallet's key when the face unlocked it (mainnet, or a devnet in
        `request.trusted_devnets` / the config's list); a devnet otherwise pays with its
        first test key. `confirm` asks before a transaction needs the user's word (see
        `top_up`); `top_up=False` opens without approving anything. `devnet_process`: a
        devnet child spawned earlier (`DevnetProcess.spawn`, loading since): it runs the
        embedded devnet if the choice is the embedded devnet, and is stopped if it is not.
        """
        say = on_progress or (lambda _msg: None)
        config = config if config is not None else load_config()
        key = private_key
        choice = networks.choose(
            request.network, request.devnet_url, config, has_key=bool(key) or None
        )
        if choice.name == "mainnet":
            key = key or env_private_key()
            if not key:
                raise ConfigurationError(
                    "mainnet needs a wallet key",
                    hint="set OG_PRIVATE_KEY or create a keystore (`og-chat wallet create`)",
                )
        trusted = networks.trusted(config, request.trusted_devnets)
        devnet: EmbeddedDevnet | None = None
        url = choice.devnet_url
        if choice.name == "devnet" and not url:
            say("starting the embedded devnet…")
            state_dir = data_dir(create=True) / "devnet"  # its chain is kept, like receipts
            if devnet_process is None:
                devnet = await asyncio.to_thread(
                    embedded.start, tokens_per_second=tokens_per_second, on_progress=say,
                    state_dir=state_dir,
                )  # fmt: skip
            else:
                devnet_process.start(tokens_per_second=tokens_per_second, state_dir=state_dir)
                try:
                    devnet = await asyncio.to_thread(devnet_process.wait, say)
                except BaseException:
                    await asyncio.to_thread(devnet_process.stop)
                    raise
            url = devnet.url
        elif devnet_process is not None:  # spawned in case; this network needs none
            await asyncio.to_thread(devnet_process.stop)
        receipts = ReceiptStore()
        runtime: Runtime | None = None
        recorder = _Recorder(receipts, lambda: runtime.prices if runtime is not None else {})
        guard = StoreSpendGuard(receipts, limits_from(config.spend))
        try:
            llm = sdk.LLM(  # the package loads the client (httpx, x402) on first use
                key,
                network=choice.name,
                devnet_url=url,
                receipt_sink=recorder,
                spend_guard=guard,
                trusted_devnets=trusted,
                max_authorization_opg=config.spend.max_per_authorization_opg,
                max_deadline_seconds=config.spend.max_deadline_seconds,
                # A payment may carry a gas-sponsored approval only where the policy approves
                # without asking ("ask" asks first, "never" never approves).
                sponsored_approval=config.top_up.mode_for(choice.name) == "auto",
            )
            say(f"connecting to the {choice.name} gateway…")
            await asyncio.to_thread(llm.resolve)
        except BaseException:
            if devnet is not None:
                await asyncio.to_thread(embedded.stop, devnet)
            raise
        runtime = cls(config, llm, devnet, receipts, guard=guard)
        runtime.choice = choice
        if top_up:
            try:
                await runtime.top_up_by_policy(confirm, on_progress=say)
            except BaseException:
                await runtime.close()
                raise
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
        sdk's default; `system_prompt`, when given, is sent first, before `messages`. With
        the allowance short and top-up off, an `AllowanceShort` error comes first (nothing
        is signed or sent).
        """
        if self.allowance_short:
            await self._check_allowance()
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

    @property
    def needs_confirmation(self) -> bool:
        """Whether an approval from this wallet goes to an RPC a server named (a devnet at a
        URL paid with the user's own key): the faces ask before sending it."""
        return needs_confirmation(self.profile, self.llm.key_kind)

    async def top_up(
        self, min_opg: Decimal | None = None, approve_opg: Decimal | None = None
    ) -> str | None:
        """Approve OPG for Permit2 when the allowance is below the minimum; returns the tx hash.

        One process at a time per data directory (`store.locks.APPROVAL_LOCK`): others
        wait, then find the allowance approved and send nothing (no nonce races).
        """
        minimum, approve = self.top_up_policy()
        lock = self.receipts.directory / APPROVAL_LOCK

        def approve_once() -> str | None:
            with file_lock(lock):
                return self.llm.ensure_opg_approval(
                    min_opg or minimum, approve_opg or approve
                ).tx_hash

        return await asyncio.to_thread(approve_once)

    async def top_up_by_policy(
        self, confirm: Confirm | None, *, on_progress: Progress | None = None
    ) -> str | None:
        """What `open` does: approve when the allowance is short, as `[top_up]` says.

        `auto` approves (inside the first payment when its gateway sponsors the gas:
        `LLM.sponsors_approval`); `ask` approves once `confirm` says yes (without a way to
        ask, nothing is approved); `never` approves nothing and a short allowance becomes an
        `AllowanceShort` error on the next call. A transaction from the user's own key to
        an RPC a server named is asked about in any mode: without `confirm` it is refused.
        """
        say = on_progress or (lambda _msg: None)
        minimum, approve = self.top_up_policy()
        mode = self.config.top_up.mode_for(self.network)
        if self.llm.sponsors_approval:
            return None  # the first payment carries a gas-sponsored approval: no separate step
        status = await self.llm.balances()
        if status.allowance >= to_base_units(minimum):
            return None
        if mode == "never":
            self.allowance_short = True
            return None
        if self.needs_confirmation or mode == "ask":
            question = (
                f"Approve {approve} OPG for Permit2 from {status.address} on {self.network}"
                f" ({self.profile.rpc_url})?"
            )
            if confirm is None:
                if self.needs_confirmation:
                    raise UntrustedNetwork(
                        f"refusing to send an approval signed with your key to "
                        f"{self.profile.rpc_url}, an RPC the devnet named, without your "
                        "confirmation",
                        url=self.profile.gateway_url,
                        chain_id=self.profile.chain_id,
                        what=f"approve(Permit2, {approve} OPG)",
                        hint="run on a terminal to be asked, or pass --yes",
                    )
                self.allowance_short = True
                return None
            if not await confirm(question):
                self.allowance_short = True
                return None
        say("approving OPG for Permit2…")
        return await self.top_up()

    async def _check_allowance(self) -> None:
        """Raise AllowanceShort while the allowance stays below the minimum."""
        minimum, _ = self.top_up_policy()
        status = await self.llm.balances()
        if status.allowance >= to_base_units(minimum):
            self.allowance_short = False
            return
        mode = self.config.top_up.mode_for(self.network)
        raise AllowanceShort(
            f"the Permit2 allowance is {opg_display(status.allowance, base_units=True)} OPG, below the "
            f"{minimum} OPG minimum, and top_up.{self.network} is {mode!r}: nothing was sent",
            hint="approve OPG in the TUI's wallet screen (ctrl+b, then t), or set "
            f'top_up.{self.network} = "auto"',
        )

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

    async def verify_receipt(self, receipt: Receipt) -> list[CheckResult]:
        """Every check of `og-chat receipts verify` (`check_mark` marks each)."""
        return await asyncio.to_thread(verify_receipt, receipt, self.profile)

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
            await asyncio.to_thread(embedded.stop, devnet)
        self.receipts.close()
