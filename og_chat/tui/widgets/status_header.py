"""The top line: network, wallet, balances, settlement mode and backend status."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from og_chat.sdk.opg import opg_display

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
        """The facts that fit, most important first: network, mode and status always stay."""
        sep: tuple[str, str] = ("  │  ", "dim")
        width = self.content_region.width or self.app.size.width
        pieces = self._pieces()
        for drop in range(max(p for p, _, _ in pieces) + 1, 0, -1):
            joined: list[str | tuple[str, str]] = []
            for priority, parts, attached in pieces:
                if priority >= drop or not parts:
                    continue
                if joined and not attached:
                    joined.append(sep)
                joined += parts
            content = Content.assemble(*joined)
            if content.cell_length <= width or drop == 1:
                return content
        return Content("")

    def _pieces(self) -> list[tuple[int, list[str | tuple[str, str]], bool]]:
        """(priority, parts, attached to the previous piece) in display order.

        Priority 0 is never dropped; when the line is too long the highest goes first.
        """
        wallet = self.wallet
        address = wallet.address if wallet else self.address
        marker = {None: ("◌ ", "$warning"), True: ("● ", "$success"), False: ("● ", "$error")}[
            self.status_ok
        ]
        network_style = "bold $error" if self.network.startswith("mainnet") else "bold $accent"
        day_left: list[str | tuple[str, str]] = []
        if wallet is not None and wallet.day_left is not None:
            day_left = [("day left ", "dim"), (opg_display(wallet.day_left), "bold")]
        state, _, detail = self.status.partition(" · ")
        return [
            (4, [("og-chat", "bold $primary")], False),
            (0, [(self.network, network_style)], False),
            (5, [("wallet ", "dim"), short_address(address)], False),
            (2, [("OPG ", "dim"), (opg_display(wallet.opg) if wallet else "—", "bold")], False),
            (6, [("allowance ", "dim"), opg_display(wallet.allowance) if wallet else "—"], False),
            (4, day_left, False),
            (0, [("mode ", "dim"), (self.mode, "bold")], False),
            (0, [marker, state], False),
            (3, [(f" · {detail}", "dim")] if detail else [], True),
        ]
