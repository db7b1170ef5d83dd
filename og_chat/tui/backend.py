"""The one seam between the TUI and `og_chat.app.runtime`.

Every call the TUI makes into the runtime goes through `Backend`, so a change in the
runtime's API is a change in this file only. The runtime (web3, eth-account, the devnet)
is imported in a thread by `Backend.open()`, after the first frame is painted
(`deferred.py`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from og_chat.sdk.devnet_process import DevnetProcess
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.network_choice import NetworkChoice, NetworkRequest
from og_chat.sdk.types import Receipt

from . import deferred
from .amounts import opg

if TYPE_CHECKING:  # loaded after the first frame (deferred.py); annotations only
    from og_chat.app.runtime import Runtime
    from og_chat.sdk.tee import CheckResult
    from og_chat.store.config import Config
    from og_chat.store.receipts import ReceiptStore


PACE_ENV = "OG_DEVNET_TOKENS_PER_SECOND"
"""Pace of the embedded devnet's answers (0 = unpaced; unset = the devnet's default, a hosted
model's speed). For tests and benchmarks that drive the real `og-chat` in a terminal."""


def devnet_pace(environ: Mapping[str, str] | None = None) -> float | None:
    """The embedded devnet's tokens per second from `OG_DEVNET_TOKENS_PER_SECOND`, if set."""
    value = (os.environ if environ is None else environ).get(PACE_ENV, "").strip()
    if not value:
        return None
    try:
        pace = float(value)
    except ValueError:
        raise ConfigurationError(
            f"{PACE_ENV}={value!r} is not a number", hint="tokens per second; 0 = unpaced"
        ) from None
    if pace < 0:
        raise ConfigurationError(f"{PACE_ENV} must be ≥ 0", hint="tokens per second; 0 = unpaced")
    return pace


@dataclass(frozen=True, slots=True)
class WalletView:
    """Wallet balances as the UI shows them (never the key)."""

    address: str
    network: str
    opg: Decimal | None
    allowance: Decimal | None
    eth: Decimal | None
    day_left: Decimal | None = None
    """OPG that may still be authorized today under `max_per_day_opg` (None: no day cap)."""


class Backend:
    """A Runtime opened lazily, with the calls the TUI needs."""

    def __init__(
        self,
        request: NetworkRequest = NetworkRequest(),
        *,
        config: Config | None = None,
    ) -> None:
        self.request = request
        """The network the command line named (None where it named none)."""
        self.config = config
        """A loaded Config for `open()`; None (the App's case) lets the runtime read the file
        itself, so the runtime starts opening at the first frame, not after the TUI's own
        read of the config."""
        self.choice: NetworkChoice | None = None
        """The network choice (set by the App once the config is read; the runtime opens it)."""
        self.runtime: Runtime | None = None
        self.devnet_process: DevnetProcess | None = None
        """A devnet child the CLI spawned at its start (loading while the UI paints): the
        runtime runs the embedded devnet in it, or stops it if the choice needs none."""
        self._key: Callable[[], str | None] = lambda: None

    def set_private_key(self, key: str | None) -> None:
        """A key unlocked from the keystore; held in a closure so no repr or screen shows it."""
        self._key = lambda: key

    @property
    def ready(self) -> bool:
        """True once `open()` has finished."""
        return self.runtime is not None

    @property
    def opened(self) -> Runtime:
        """The open runtime (what a paid call goes through); ConfigurationError before."""
        if self.runtime is None:
            raise ConfigurationError(
                "the runtime is not open yet", hint="wait for the header to say “ready”"
            )
        return self.runtime

    async def open(
        self,
        on_progress: Callable[[str], None] | None = None,
        confirm: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        """Open the runtime: load the key or start the embedded devnet.

        The heavy imports the first call needs (the config models, the client,
        eth-account: `deferred.PRELOAD`) run in a thread first, so the event loop
        keeps painting while they load. `confirm` asks the user before an
        approval that needs their word.
        """
        await asyncio.to_thread(deferred.preload)
        choice = self.choice
        request = self.request
        if choice is not None:
            request = replace(request, network=choice.name, devnet_url=choice.devnet_url)
        self.runtime = await deferred.runtime().open(
            self.config,
            request,
            private_key=self._key(),
            on_progress=on_progress,
            tokens_per_second=devnet_pace(),
            confirm=confirm,
            devnet_process=self.devnet_process,
        )
        # Not awaited (the user types their first prompt meanwhile); it never raises.
        asyncio.get_running_loop().run_in_executor(None, deferred.warm_highlighting)

    @property
    def network(self) -> str:
        return self.runtime.network if self.runtime else (self.request.network or "devnet")

    @property
    def network_label(self) -> str:
        """What the header shows: `mainnet`, `devnet (embedded)` or `devnet host:port`."""
        if self.runtime is not None and self.runtime.choice is not None:
            return self.runtime.choice.label
        if self.choice is not None:
            return self.choice.label
        return self.network

    @property
    def address(self) -> str:
        return self.runtime.address if self.runtime else ""

    @property
    def devnet_url(self) -> str | None:
        """The devnet's base URL when on the devnet (embedded or given)."""
        if self.runtime is not None:
            return self.runtime.devnet_url or None
        return self.request.devnet_url

    @property
    def gateway(self) -> str:
        """A short description of where calls go, for the header."""
        if self.runtime is None:
            return ""
        if self.runtime.devnet is not None:
            return "embedded devnet"
        return self.devnet_url or "gateway"

    @property
    def receipts(self) -> ReceiptStore:
        """The runtime's ReceiptStore."""
        return self.opened.receipts

    async def wallet(self) -> WalletView:
        """Balances and allowance, converted to OPG."""
        runtime = self.opened
        status = await runtime.wallet()
        day_left = await asyncio.to_thread(lambda: runtime.day_left)
        return WalletView(
            address=status.address,
            network=status.network,
            opg=opg(status.opg),
            allowance=opg(status.allowance),
            eth=opg(status.eth),
            day_left=day_left,
        )

    async def top_up(self, min_opg: Decimal, approve_opg: Decimal | None = None) -> str | None:
        """Approve Permit2 up to the given amounts; returns the tx hash if one was sent."""
        return await self.opened.top_up(min_opg, approve_opg)

    def start_settlement_tracker(self, on_update: Callable[[str, dict[str, Any]], object]) -> None:
        """Have the runtime report pending payments as they settle."""
        self.opened.start_settlement_tracker(on_update)

    async def verify_receipt(self, receipt: Receipt) -> list[CheckResult]:
        """Re-run every check on a stored receipt: (check, ok, detail)."""
        return await self.opened.verify_receipt(receipt)

    async def close(self) -> None:
        """Stop the tracker, the devnet and the HTTP clients."""
        if self.runtime is not None:
            runtime, self.runtime = self.runtime, None
            await runtime.close()
