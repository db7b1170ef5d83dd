"""The receipts side panel: one row per paid call, updated live as payments settle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from og_chat.app.sanitize import neutralize
from og_chat.sdk.models import CATALOGUE
from og_chat.sdk.types import Receipt

from ..amounts import cost_of, show_opg, total_cost

COLUMNS = ("time", "model", "tok", "OPG", "mode", "TEE", "pay")

PAYMENT_MARK = {"settled": "✓", "pending": "○", "failed": "✗", "refused": "⊘"}
"""Single-width marks: emoji like ⏳ are double-width in most terminals and break columns."""
TEE_MARK = {"verified": "✓", "failed": "✗", "self_vouched": "~", "unavailable": "?"}
"""✓ registry-verified, ✗ failed, ~ signed with the key the gateway serves itself (never ✓)."""


def model_label(model_id: str) -> str:
    """A model's display name, or its id when the catalogue does not know it."""
    info = CATALOGUE.get(model_id)
    return info.display_name if info else model_id


def receipt_cells(receipt: Receipt, clock_format: str = "%H:%M:%S") -> tuple[str, ...]:
    """The table cells for a receipt, as plain strings (never parsed as markup)."""
    return (
        datetime.fromtimestamp(receipt.created_at).strftime(clock_format),
        neutralize(model_label(receipt.model)),
        str(receipt.total_tokens or ""),
        show_opg(cost_of(receipt), 6),
        receipt.settlement_mode,
        TEE_MARK.get(receipt.signature_status, "?"),
        PAYMENT_MARK.get(receipt.payment_status, receipt.payment_status),
    )


class ReceiptsPanel(Vertical):
    """Receipts of this run, newest last; Enter opens the detail view."""

    class Open(Message):
        """The user asked for a receipt's details."""

        def __init__(self, receipt: Receipt) -> None:
            self.receipt = receipt
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.receipts: dict[str, Receipt] = {}

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(
            cursor_type="row", zebra_stripes=True, id="receipts-table"
        )
        for label, width in zip(COLUMNS, (8, 13, 5, 8, 10, 3, 3), strict=True):
            table.add_column(label, width=width)
        yield table
        yield Static("", id="receipts-total")

    def on_mount(self) -> None:
        self.border_title = "Receipts"
        self._update_total()

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#receipts-table", DataTable)

    def add_receipt(self, receipt: Receipt) -> None:
        """Append a row (or refresh it if this receipt is already shown)."""
        if receipt.id in self.receipts:
            self.update_receipt(receipt.id, receipt.to_dict())
            return
        self.receipts[receipt.id] = receipt
        self.table.add_row(*receipt_cells(receipt), key=receipt.id)
        self.table.move_cursor(row=self.table.row_count - 1)
        self._update_total()

    def update_receipt(self, receipt_id: str, fields: dict[str, Any]) -> None:
        """Apply later facts (settlement) to a shown receipt and repaint its row."""
        receipt = self.receipts.get(receipt_id)
        if receipt is None:
            return
        for name, value in fields.items():
            if hasattr(receipt, name):
                setattr(receipt, name, value)
        try:
            for column, cell in zip(self.table.columns, receipt_cells(receipt), strict=True):
                self.table.update_cell(receipt_id, column, cell)
        except RowDoesNotExist:
            return
        self._update_total()

    def _update_total(self) -> None:
        receipts = list(self.receipts.values())
        pending = sum(1 for r in receipts if r.payment_status == "pending")
        text = f"{len(receipts)} calls · {show_opg(total_cost(receipts))} OPG"
        if pending:
            text += f" · {pending} pending"
        self.query_one("#receipts-total", Static).update(Content(text))

    @on(DataTable.RowSelected, "#receipts-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (DataTable's own select key) opens its details."""
        receipt = self.receipts.get(str(event.row_key.value))
        if receipt is not None:
            self.post_message(self.Open(receipt))
