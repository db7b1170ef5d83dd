"""The receipts side panel: one row per paid call, updated live as payments settle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellDoesNotExist

from og_chat.app.sanitize import neutralize
from og_chat.sdk.models import CATALOGUE
from og_chat.sdk.opg import opg_display
from og_chat.sdk.types import Receipt

from ..amounts import cost_of, total_cost

Column = tuple[str, int]
"""A panel column: the cell's name in `receipt_cells` (also its header) and its width."""

COLUMN_SETS: tuple[tuple[Column, ...], ...] = (
    (("time", 8), ("model", 13), ("tok", 5), ("OPG", 10), ("mode", 10), ("TEE", 3), ("pay", 3)),
    (("time", 5), ("model", 12), ("OPG", 10), ("TEE", 3), ("pay", 3)),
    (("time", 5), ("OPG", 9), ("TEE", 3), ("pay", 3)),
    (("OPG", 9), ("TEE", 3), ("pay", 3)),
)
"""Richest first: the panel shows the first set that fits its width (a cell pads 1 a side)."""


def columns_for(width: int) -> tuple[Column, ...]:
    """The richest column set whose cells fit in `width` columns."""
    for columns in COLUMN_SETS:
        if sum(w + 2 for _, w in columns) <= width:
            return columns
    return COLUMN_SETS[-1]


PAYMENT_MARK = {"settled": "✓", "pending": "○", "failed": "✗", "refused": "⊘"}
"""Single-width marks: emoji like ⏳ are double-width in most terminals and break columns."""
TEE_MARK = {"verified": "✓", "failed": "✗", "self_vouched": "~", "unavailable": "?"}
"""✓ registry-verified, ✗ failed, ~ signed with the key the gateway serves itself (never ✓)."""


def model_label(model_id: str) -> str:
    """A model's display name, or its id when the catalogue does not know it."""
    info = CATALOGUE.get(model_id)
    return info.display_name if info else model_id


def receipt_cells(receipt: Receipt, clock_width: int = 8) -> dict[str, str]:
    """The table cells for a receipt by column name, plain strings (never parsed as markup)."""
    clock = "%H:%M:%S" if clock_width >= 8 else "%H:%M"
    return {
        "time": datetime.fromtimestamp(receipt.created_at).strftime(clock),
        "model": neutralize(model_label(receipt.model)),
        "tok": str(receipt.total_tokens or ""),
        "OPG": opg_display(cost_of(receipt)),
        "mode": receipt.settlement_mode,
        "TEE": TEE_MARK.get(receipt.signature_status, "?"),
        "pay": PAYMENT_MARK.get(receipt.payment_status, receipt.payment_status),
    }


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
        self.columns: tuple[Column, ...] = COLUMN_SETS[0]
        """The columns shown: the richest set that fits the panel's width."""

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True, id="receipts-table")
        yield Static("", id="receipts-total")

    def on_resize(self, event: events.Resize) -> None:
        columns = columns_for(event.size.width)
        if columns != self.columns or not self.table.columns:
            self.columns = columns
            self._rebuild()

    def _cells(self, receipt: Receipt) -> list[str]:
        cells = receipt_cells(receipt, dict(self.columns).get("time", 8))
        return [cells[name] for name, _ in self.columns]

    def _rebuild(self) -> None:
        """Columns for the current width, and every row again (a run holds few receipts)."""
        table = self.table
        cursor = table.cursor_row
        table.clear(columns=True)
        for name, width in self.columns:
            table.add_column(name, width=width, key=name)
        for receipt in self.receipts.values():
            table.add_row(*self._cells(receipt), key=receipt.id)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

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
        if not self.table.columns:  # not laid out yet: the first resize adds every row
            return
        self.table.add_row(*self._cells(receipt), key=receipt.id)
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
            for (name, _), cell in zip(self.columns, self._cells(receipt), strict=True):
                self.table.update_cell(receipt_id, name, cell)
        except CellDoesNotExist:
            pass  # not laid out yet (the first resize adds it) or a column set changed
        self._update_total()

    def _update_total(self) -> None:
        receipts = list(self.receipts.values())
        pending = sum(1 for r in receipts if r.payment_status == "pending")
        calls = "1 call" if len(receipts) == 1 else f"{len(receipts)} calls"
        text = f"{calls} · {opg_display(total_cost(receipts))} OPG"
        if pending:
            text += f" · {pending} pending"
        self.query_one("#receipts-total", Static).update(Content(text))

    @on(DataTable.RowSelected, "#receipts-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (DataTable's own select key) opens its details."""
        receipt = self.receipts.get(str(event.row_key.value))
        if receipt is not None:
            self.post_message(self.Open(receipt))
