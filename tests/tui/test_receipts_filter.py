"""The receipts browser's filter box: the store's one query and time parser behind it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.types import Receipt
from og_chat.store.receipts import ReceiptStore
from og_chat.tui.app import OGChatApp
from og_chat.tui.screens.receipts import ReceiptsBrowser, parse_filter

from .conftest import wait_until

DAY = 86_400.0


def _receipt(i: int, age_days: float, model: str = "anthropic/claude-haiku-4-5") -> Receipt:
    return Receipt(
        id=f"r{i:031x}",
        created_at=time.time() - age_days * DAY,
        model=model,
        provider=model.split("/")[0],
        network="devnet",
        endpoint="http://127.0.0.1:1",
        settlement_mode="batch",
        signature_status="verified",
        payment_status="settled",
        total_tokens=10,
    )


def test_words_and_fields_make_the_stores_query() -> None:
    query = parse_filter("haiku provider:Anthropic mode:BATCH status:pending")
    assert (query.model, query.provider, query.mode, query.status) == (
        "haiku",
        "anthropic",
        "batch",
        "pending",
    )
    assert query.since is None
    assert parse_filter("").empty


def test_since_reads_ages_dates_and_unix_seconds() -> None:
    seven_days = parse_filter("since:7d").since
    assert seven_days is not None and abs(seven_days - (time.time() - 7 * DAY)) < 60
    assert parse_filter("since:1780000000").since == 1_780_000_000.0
    assert parse_filter("since:2026-07-01").since is not None


def test_an_unreadable_since_raises_with_a_hint() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_filter("haiku since:soon")
    assert "7d" in caught.value.hint


def _toasts(app: OGChatApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def test_since_7d_filters_and_junk_is_reported_not_ignored() -> None:
    with ReceiptStore() as store:
        store.append(_receipt(1, age_days=30))
        store.append(_receipt(2, age_days=1))
        store.append(_receipt(3, age_days=0.1, model="openai/gpt-5-mini"))
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        await pilot.press("ctrl+r")
        browser = app.screen
        assert isinstance(browser, ReceiptsBrowser)
        await wait_until(pilot, lambda: browser.loaded_in is not None, what="load")
        assert len(browser.shown) == 3
        await pilot.press("slash", *"since:7d")
        await wait_until(pilot, lambda: len(browser.shown) == 2, what="since:7d")
        await pilot.press(*" gpt")
        await wait_until(pilot, lambda: len(browser.shown) == 1, what="model word")

        def report() -> Any:
            return any("not a time" in text for text in _toasts(app))

        for _ in " gpt":
            await pilot.press("backspace")
        await wait_until(pilot, lambda: len(browser.shown) == 2, what="back to since:7d")
        await pilot.press("x")  # since:7dx
        await wait_until(pilot, report, what="a notification about since:7dx")
        assert len(browser.shown) == 2  # the last filter that could be read still applies
