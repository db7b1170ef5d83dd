"""The top line: network, wallet, balances, settlement mode and backend status."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from ..amounts import show_opg
from ..backend import WalletView


def short_address(address: str | None) -> str:
    """`0xf39F…2266`: enough to recognise a wallet, short enough for a header."""
    if not address:
        return "—"
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


class StatusHeader(Widget):
    """One line of facts the user needs before they pay for a call."""

    DEFAULT_CSS = """
    StatusHeader { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    network: reactive[str] = reactive("devnet")
    """The network's label: `mainnet`, `devnet (embedded)` or `devnet host:port`."""
    wallet: reactive[WalletView | None] = reactive(None)
    """Latest balances; None until the runtime has read them."""
    mode: reactive[str] = reactive("batch")
    """Settlement mode sent with the next call."""
    status: reactive[str] = reactive("starting…")
    """What the backend is doing: starting, ready, failed."""
    status_ok: reactive[bool | None] = reactive(None)
    """None while starting, then True (ready) or False (failed)."""
    address: reactive[str] = reactive("")

    def render(self) -> Content:
        sep = ("  │  ", "dim")
        wallet = self.wallet
        address = wallet.address if wallet else self.address
        marker = {None: ("◌ ", "$warning"), True: ("● ", "$success"), False: ("● ", "$error")}[
            self.status_ok
        ]
        network_style = "bold $error" if self.network.startswith("mainnet") else "bold $accent"
        budget: list[tuple[str, str] | str] = []
        if wallet is not None and wallet.day_left is not None:
            budget = [sep, ("day left ", "dim"), (show_opg(wallet.day_left, 4), "bold")]
        return Content.assemble(
            ("og-chat", "bold $primary"),
            sep,
            (self.network, network_style),
            sep,
            ("wallet ", "dim"),
            short_address(address),
            sep,
            ("OPG ", "dim"),
            (show_opg(wallet.opg, 2) if wallet else "—", "bold"),
            sep,
            ("allowance ", "dim"),
            show_opg(wallet.allowance, 2) if wallet else "—",
            *budget,
            sep,
            ("mode ", "dim"),
            (self.mode, "bold"),
            sep,
            marker,
            self.status,
        )
