"""The wallet screen: address, balances, Permit2 allowance and top-up."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from og_chat.sdk.opg import opg_display

from ..backend import WalletView
from ..host import HostModal
from ..keymap import bindings
from ..messages import WalletUpdated
from ..widgets.key_footer import KeyFooter
from ..workers import background
from .dialogs import AskText, Confirm


def wallet_content(wallet: WalletView | None, network: str) -> Content:
    """The wallet facts, one per line (the key is never among them)."""
    if wallet is None:
        return Content("reading balances…")
    rows = [
        ("network", wallet.network or network),
        ("address", wallet.address),
        ("OPG", opg_display(wallet.opg)),
        ("Permit2 allowance", opg_display(wallet.allowance) + " OPG"),
        ("ETH (gas)", opg_display(wallet.eth)),
    ]
    parts: list[str | tuple[str, str]] = []
    for name, value in rows:
        parts += [(f"{name:<19}", "$secondary"), (value, "bold"), "\n"]
    return Content.assemble(*parts)


class WalletScreen(HostModal):
    """Balances of the paying wallet; top-up approves more OPG for Permit2."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("wallet")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="wallet-dialog"):
            yield Static(wallet_content(None, ""), id="wallet-facts")
            yield Static(
                Content("r: refresh · t: top up (approve OPG for Permit2) · Esc: close"),
                classes="field-label",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#wallet-dialog").border_title = "Wallet"
        self.action_refresh_wallet()

    def action_refresh_wallet(self) -> None:
        self.app.refresh_wallet()

    def on_wallet_updated(self, message: WalletUpdated) -> None:
        self.query_one("#wallet-facts", Static).update(
            wallet_content(message.wallet, self.app.backend.network)
        )

    @background("Top-up", group="top-up", exclusive=True)
    async def action_top_up(self) -> None:
        """Ask how much to approve, confirm on mainnet, then send the approval."""
        app = self.app
        answer = await app.push_screen_wait(
            AskText("Approve how many OPG for Permit2?", "100", "amount in OPG")
        )
        if not answer:
            return
        try:
            amount = Decimal(answer.strip())
        except InvalidOperation:
            self.notify(f"{answer!r} is not a number", severity="error")
            return
        if amount <= 0:
            self.notify("the amount must be positive", severity="error")
            return
        await app.wait_for_backend()
        if app.backend.network == "mainnet":
            question = (
                f"Approve {amount} OPG on MAINNET for Permit2? This sends a real transaction "
                "and pays gas."
            )
            if not await app.push_screen_wait(Confirm(question, "Approve")):
                return
        self.notify(
            f"approving {amount} OPG: sending the transaction and waiting for it to be mined…"
        )
        self.loading = True  # the screen shows a spinner until the receipt is in
        try:
            tx = await app.backend.top_up(amount, amount)
        finally:
            self.loading = False
        self.notify(f"approval mined: {tx}" if tx else "allowance already sufficient", timeout=6)
        app.refresh_wallet()
