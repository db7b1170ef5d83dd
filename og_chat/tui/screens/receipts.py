"""The receipts browser (every receipt, filtered, exported) and the receipt detail view."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime
from functools import partial
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, Static

from og_chat.app.checks import check_mark
from og_chat.app.sanitize import neutralize
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.models import PROVIDERS
from og_chat.sdk.opg import opg_display
from og_chat.sdk.types import Receipt
from og_chat.store.query import ReceiptQuery, parse_since
from og_chat.store.receipts import ReceiptStore, export_csv, export_json

from ..amounts import cost_of, total_cost
from ..host import Host, HostModal, HostScreen
from ..keymap import bindings
from ..messages import ReceiptUpdated
from ..widgets.conversation import error_message
from ..widgets.key_footer import KeyFooter
from ..widgets.receipts_panel import PAYMENT_MARK, TEE_MARK, model_label
from ..widgets.virtual_table import VirtualTable
from ..workers import background

COLUMNS: list[tuple[str, int, bool]] = [
    ("time", 19, False),
    ("model", 24, False),
    ("tokens", 7, True),
    ("OPG", 10, True),
    ("mode", 10, False),
    ("TEE", 3, False),
    ("pay", 3, False),
    ("receipt", 14, False),
    ("payment hash", 20, False),
]


def browser_cells(receipt: Receipt) -> tuple[str, ...]:
    """One browser row; called only for rows on screen."""
    return (
        datetime.fromtimestamp(receipt.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        model_label(receipt.model),
        str(receipt.total_tokens or ""),
        opg_display(cost_of(receipt)),
        receipt.settlement_mode,
        TEE_MARK.get(receipt.signature_status, "?"),
        PAYMENT_MARK.get(receipt.payment_status, "?"),
        receipt.id,
        receipt.payment_hash or "",
    )


_PROVIDER_NAMES = {name.lower(): key for key, name in PROVIDERS.items()}


def parse_filter(text: str) -> ReceiptQuery:
    """`haiku provider:anthropic mode:batch status:pending since:7d` → the store's query.

    Bare words match the model; `key:value` words set the other fields. Unknown keys are
    treated as words, so nothing typed is silently dropped; an unreadable `since:` raises
    ConfigurationError (`store.query.parse_since` reads ages, ISO dates and unix seconds).
    """
    words: list[str] = []
    fields: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition(":")
        if sep and key.lower() in ("provider", "mode", "status", "since", "model") and value:
            fields[key.lower()] = value
        else:
            words.append(token)
    provider = fields.get("provider", "").lower()
    return ReceiptQuery(
        model=" ".join([*words, fields.get("model", "")]).strip(),
        provider=_PROVIDER_NAMES.get(provider, provider),
        mode=fields.get("mode", "").lower(),
        status=fields.get("status", "").lower(),
        since=parse_since(fields.get("since")),
    )


def open_receipt_store(app: Host) -> ReceiptStore:
    """The runtime's ReceiptStore, or one on the same file before the runtime is up."""
    if app.backend.ready:
        return app.backend.receipts
    return ReceiptStore()


class ReceiptsBrowser(HostScreen):
    """All receipts ever recorded, newest last, with filters and export."""

    CSS_PATH = "receipts.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("receipts")

    def __init__(self) -> None:
        super().__init__()
        self.all: list[Receipt] = []
        self.shown: list[Receipt] = []
        self.opened_at = time.perf_counter()
        self.loaded_in: float | None = None
        """Seconds from opening to rows on screen (the benchmark reads it)."""
        self.query_shown = ReceiptQuery()
        """The filter the rows show: the last one typed that could be read."""
        self._complaint: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: words match the model · provider:anthropic mode:batch "
            "status:pending since:2026-07-01",
            id="f-query",
        )
        yield VirtualTable(COLUMNS, browser_cells, id="browser-table")
        yield Static("loading receipts…", id="browser-summary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()
        self.load()

    @background("Loading receipts", group="receipts-load", exclusive=True, thread=True)
    def load(self) -> None:
        """Read the receipt log off the UI thread (it may hold 100,000 lines)."""
        receipts = open_receipt_store(self.app).load()
        self.app.call_from_thread(self._loaded, receipts)

    def _loaded(self, receipts: list[Receipt]) -> None:
        self.all = receipts
        self._apply_filter()
        self.loaded_in = time.perf_counter() - self.opened_at

    def _read_filter(self) -> None:
        """Take the typed filter if it can be read; else say why, once typing pauses."""
        if self._complaint is not None:
            self._complaint.stop()
            self._complaint = None
        try:
            self.query_shown = parse_filter(self.query_one("#f-query", Input).value)
        except ConfigurationError as error:
            self._complaint = self.set_timer(0.6, partial(self._complain, error))

    def _complain(self, error: ConfigurationError) -> None:
        self._complaint = None
        self.notify(
            f"{error_message(error)}: {error.hint}",
            title="Filter: since: not understood",
            severity="warning",
            timeout=6,
        )

    def _apply_filter(self) -> None:
        self._read_filter()
        query = self.query_shown
        self.shown = self.all if query.empty else query.apply(self.all)
        self.query_one(VirtualTable).set_rows(self.shown)
        self.query_one("#browser-summary", Static).update(
            Content(f"{len(self.shown):,} of {len(self.all):,} receipts · adding up…")
        )
        self.call_after_refresh(self._summarize, self.shown, len(self.all))

    def _summarize(self, shown: list[Receipt], total_count: int) -> None:
        """Totals for the shown receipts, once the rows are on screen.

        `total_cost` takes about 10 ms for 100,000 receipts, so this runs on the
        event loop: a thread would hold the GIL against the first frames for longer.
        """
        if shown is not self.shown:
            return  # the filter changed since; its own summary is on the way
        pending = sum(1 for r in shown if r.payment_status == "pending")
        text = (
            f"{len(shown):,} of {total_count:,} receipts · {opg_display(total_cost(shown))} OPG"
            + (f" · {pending:,} pending" if pending else "")
            + " · Enter: details · /: filter · F5/F6: export"
        )
        self.query_one("#browser-summary", Static).update(Content(text))

    @on(Input.Changed, "#f-query")
    def _filter_changed(self) -> None:
        if self.all:
            self._apply_filter()
        else:
            self._read_filter()  # nothing to filter yet (or still loading): still say what is wrong

    def action_focus_filter(self) -> None:
        self.query_one("#f-query", Input).focus()

    @on(VirtualTable.Selected)
    def _selected(self, event: VirtualTable.Selected) -> None:
        self.app.push_screen(ReceiptDetail(event.row))

    def on_receipt_updated(self, message: ReceiptUpdated) -> None:
        table = self.query_one(VirtualTable)
        for index, receipt in enumerate(self.shown):
            if receipt.id == message.receipt_id:
                for name, value in message.fields.items():
                    if hasattr(receipt, name):
                        setattr(receipt, name, value)
                table.refresh_row(index)
                break

    def action_export(self, kind: str) -> None:
        text = export_json(self.shown) if kind == "json" else export_csv(self.shown)
        path = self.app.write_export("receipts", f".{kind}", text)
        self.notify(f"{len(self.shown):,} receipts written to {path}", timeout=6)


def detail_lines(receipt: Receipt) -> list[tuple[str, str]]:
    """Every field of a receipt as (name, text), in schema order."""
    rows = []
    for field in dataclasses.fields(receipt):
        value = getattr(receipt, field.name)
        if field.name == "created_at":
            text = f"{datetime.fromtimestamp(value).isoformat(timespec='seconds')}  ({value})"
        elif isinstance(value, list | dict):
            text = json.dumps(value, indent=1)
        elif value is None:
            text = "—"
        else:
            text = str(value)
        rows.append((field.name, text))
    return rows


MARK_STYLES = {"✓": "bold $success", "✗": "bold $error"}
"""A check's mark in colour; pending (⧗) and cannot-be-checked (?) are warnings."""


class ReceiptDetail(HostModal):
    """Every field of one receipt, with re-verification and export."""

    CSS_PATH = "receipts.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("receipt")

    def __init__(self, receipt: Receipt) -> None:
        super().__init__()
        self.receipt = receipt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="receipt-dialog"):
            with VerticalScroll(id="receipt-fields"):
                for name, text in detail_lines(self.receipt):
                    with Horizontal(classes="field"):
                        yield Static(Content(name), classes="name")
                        yield Static(Content(neutralize(text)), classes="value")
            yield Static(Content("v: re-verify · x: export JSON · Esc: close"), id="verify-results")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#receipt-dialog").border_title = f"Receipt {self.receipt.id}"
        self.query_one("#receipt-fields").focus()

    @background("Re-verifying", group="verify", exclusive=True)
    async def action_verify(self) -> None:
        """Run the runtime's checks again and list each outcome."""
        results = self.query_one("#verify-results", Static)
        results.update(Content("verifying…"))
        app = self.app
        await app.wait_for_backend()
        checks = await app.backend.verify_receipt(self.receipt)
        parts: list[str | tuple[str, str]] = []
        for check in checks:
            mark = check_mark(check)
            style = MARK_STYLES.get(mark, "bold $warning")
            parts += [(f"{mark} ", style), (f"{check.name}: ", "bold"), "  "]
            parts += [neutralize(check.detail), "\n"]
        results.update(Content.assemble(*parts) if parts else Content("no checks ran"))

    def action_export(self) -> None:
        path = self.app.write_export(
            f"receipt-{self.receipt.id[:12]}", ".json", export_json([self.receipt])
        )
        self.notify(f"Saved to {path}", timeout=6)
