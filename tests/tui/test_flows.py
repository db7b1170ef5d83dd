"""The user's flows, end to end: the real Runtime against the shared in-process devnet."""

from __future__ import annotations

from typing import Any

from textual.worker import WorkerState

from og_chat.devnet import Devnet
from og_chat.sdk.errors import GatewayError
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.tui.app import OGChatApp
from og_chat.tui.screens.compare import CompareColumn, CompareScreen
from og_chat.tui.screens.main import MainScreen
from og_chat.tui.screens.receipts import ReceiptDetail, ReceiptsBrowser
from og_chat.tui.screens.sessions import SessionsScreen
from og_chat.tui.widgets.conversation import (
    AssistantMessage,
    ErrorNotice,
    ToolCallCard,
    UserMessage,
)
from og_chat.tui.widgets.receipts_panel import ReceiptsPanel
from og_chat.tui.widgets.status_header import StatusHeader

from .conftest import wait_until

SIZE = (180, 50)


def _app(devnet: Any, network: str | None = None, **kwargs: Any) -> OGChatApp:
    return OGChatApp(NetworkRequest(network, devnet.url), **kwargs)


def _main(app: OGChatApp) -> MainScreen:
    assert app.main_screen is not None
    return app.main_screen


def _turn_done(app: OGChatApp) -> bool:
    return not _main(app)._turn_running()


async def _send(pilot: Any, text: str) -> None:
    await pilot.press(*text)
    await pilot.press("enter")
    await pilot.pause()


async def test_send_streams_an_answer_and_records_a_receipt(devnet: Any) -> None:
    app = _app(devnet)
    async with app.run_test(size=SIZE) as pilot:
        await _send(pilot, "hello there")
        main = _main(app)
        await wait_until(pilot, lambda: main.chat.receipt_ids and _turn_done(app), what="receipt")
        answer = main.query_one(AssistantMessage)
        assert answer.text.strip()
        assert "TTFT" in str(answer.query_one(".meta").render())
        roles = [m["role"] for m in main.chat.messages]
        assert roles == ["user", "assistant"]
        panel = main.query_one(ReceiptsPanel)
        assert panel.table.row_count == 1
        receipt = next(iter(panel.receipts.values()))
        assert receipt.signature_status == "verified"
        assert receipt.payment_hash
        stored = app.backend.receipts.load()
        assert [r.id for r in stored] == [receipt.id]


async def test_escape_stops_a_long_answer_and_keeps_the_partial_text(
    devnet: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(devnet.gateway.responder, "tokens_per_second", 200.0)  # slow enough to stop
    app = _app(devnet)
    async with app.run_test(size=SIZE) as pilot:
        main = _main(app)
        await wait_until(pilot, lambda: app.backend.ready, what="runtime")
        await _send(pilot, "write 20000 words about verifiable inference")
        await wait_until(
            pilot,
            lambda: (
                bool(main.query(AssistantMessage))
                and bool(main.query_one(AssistantMessage).body.source)
            ),
            what="first tokens",
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: _turn_done(app), what="stop")
        last = main.chat.messages[-1]
        assert last["role"] == "assistant" and last.get("partial") is True
        assert 0 < len(last["content"]) < 20000 * 4
        assert "stopped" in str(main.query_one(AssistantMessage).query_one(".meta").render())


async def test_f3_switches_provider_and_the_next_call_uses_it(devnet: Any) -> None:
    app = _app(devnet, model="anthropic/claude-haiku-4-5")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        main = _main(app)
        assert main.chat.model.startswith("google/")
        await _send(pilot, "hi")
        await wait_until(pilot, lambda: main.chat.receipt_ids and _turn_done(app), what="receipt")
        receipt = next(iter(main.query_one(ReceiptsPanel).receipts.values()))
        assert receipt.model == main.chat.model


async def test_a_rejected_call_shows_the_errors_message_and_then_its_hint(devnet: Any) -> None:
    app = _app(devnet)
    async with app.run_test(size=SIZE) as pilot:
        main = _main(app)
        await wait_until(pilot, lambda: app.backend.ready, what="runtime")
        main.chat.model = "nobody/no-such-model"  # e.g. a resumed chat's model, since retired
        await _send(pilot, "hi")
        await wait_until(
            pilot, lambda: bool(main.query(ErrorNotice)) and _turn_done(app), what="error"
        )
        lines = str(main.query_one(ErrorNotice).render()).splitlines()
        assert lines[0].startswith("✗ gateway error 400")
        assert lines[-1] == "→ " + GatewayError(400, "").hint


async def test_tool_loop_runs_the_tool_and_streams_the_final_answer(devnet: Any) -> None:
    app = _app(devnet)
    async with app.run_test(size=SIZE) as pilot:
        main = _main(app)
        await _send(pilot, "What time is it right now? Use the current_time tool.")
        await wait_until(
            pilot, lambda: _turn_done(app) and len(main.chat.messages) >= 4, what="tool round trip"
        )
        roles = [m["role"] for m in main.chat.messages]
        assert roles == ["user", "assistant", "tool", "assistant"]
        call = main.chat.messages[1]["tool_calls"][0]
        assert call["function"]["name"] == "current_time"
        assert main.chat.messages[2]["tool_call_id"] == call["id"]
        card = main.query_one(ToolCallCard)
        assert "unix" in str(card.query_one(".result").render())
        assert main.chat.messages[3]["content"]
        assert len(main.query_one(ReceiptsPanel).receipts) == 2


async def test_a_pending_payment_turns_settled_in_the_panel(devnet: Any) -> None:
    app = _app(devnet)
    async with app.run_test(size=SIZE) as pilot:
        main = _main(app)
        header = main.query_one(StatusHeader)
        await wait_until(pilot, lambda: header.wallet is not None, what="balances")
        assert header.wallet is not None and header.wallet.opg is not None
        before = header.wallet.opg
        await _send(pilot, "hello")
        await wait_until(pilot, lambda: main.chat.receipt_ids and _turn_done(app), what="receipt")
        panel = main.query_one(ReceiptsPanel)
        receipt = panel.receipts[main.chat.receipt_ids[0]]
        await wait_until(
            pilot, lambda: receipt.payment_status == "settled", timeout=30, what="settlement"
        )
        row = panel.table.get_row(receipt.id)
        assert row[-1] == "✓"
        # The header's balance follows the settlement (it was read once, at the start).
        await wait_until(
            pilot,
            lambda: header.wallet is not None and (header.wallet.opg or before) < before,
            timeout=30,
            what="the balance after the settlement",
        )


async def test_a_balance_read_nobody_asked_for_fails_quietly_and_keeps_the_last_balances() -> None:
    """After each settlement the App reads the balances again by itself. When that read fails
    (here the chain is gone), the header keeps the last balances and no notice appears, one
    per settlement; the same read asked for by the user still says that it failed."""
    own = Devnet.start(tokens_per_second=0)
    try:
        app = OGChatApp(NetworkRequest(None, own.url))
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            header = _main(app).query_one(StatusHeader)
            await wait_until(pilot, lambda: header.wallet is not None, what="balances")
            shown = header.wallet
            own.stop()

            def balance_notices() -> list[str]:
                return [str(n.title) for n in app._notifications if "balances" in str(n.title)]

            quiet = app.refresh_wallet(quiet=True)
            await wait_until(pilot, lambda: quiet.is_finished, what="the quiet read")
            assert quiet.state == WorkerState.SUCCESS and quiet.error is None
            await pilot.pause()
            assert header.wallet is shown and balance_notices() == []

            asked = app.refresh_wallet()
            await wait_until(pilot, lambda: asked.is_finished, what="the asked-for read")
            assert asked.state == WorkerState.ERROR
            await wait_until(pilot, lambda: balance_notices() != [], what="a notice")
            assert balance_notices() == ["Reading balances failed"]
            assert header.wallet is shown
    finally:
        own.stop()


async def test_compare_streams_every_model_with_its_numbers(devnet: Any) -> None:
    app = _app(devnet)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.backend.ready, what="runtime")
        await pilot.press("f4")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await pilot.press(*"compare yourselves", "enter")
        await wait_until(
            pilot,
            lambda: (
                not screen.running("compare")
                and all(
                    "receipt" in str(c.query_one(".stats").render())
                    for c in screen.query(CompareColumn)
                )
            ),
            what="all columns",
        )
        columns = list(screen.query(CompareColumn))
        assert len(columns) == 3
        models = {c.model for c in columns}
        assert len(models) == 3
        for column in columns:
            stats = str(column.query_one(".stats").render())
            assert "TTFT" in stats and "tok/s" in stats and "OPG" in stats


async def test_sessions_resume_a_saved_conversation(devnet: Any) -> None:
    app = _app(devnet)
    async with app.run_test(size=SIZE) as pilot:
        main = _main(app)
        await _send(pilot, "remember the word kumquat")
        await wait_until(pilot, lambda: main.chat.receipt_ids and _turn_done(app), what="answer")
        first_id = main.chat.id
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not main.query(UserMessage)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(main.query(UserMessage)), what="resume")
        assert main.chat.id == first_id
        assert "kumquat" in main.query_one(UserMessage).text


async def test_receipts_browser_lists_and_details_every_field(devnet: Any) -> None:
    app = _app(devnet)
    async with app.run_test(size=SIZE) as pilot:
        main = _main(app)
        await _send(pilot, "hi")
        await wait_until(pilot, lambda: main.chat.receipt_ids and _turn_done(app), what="receipt")
        await pilot.press("ctrl+r")
        browser = app.screen
        assert isinstance(browser, ReceiptsBrowser)
        await wait_until(pilot, lambda: browser.loaded_in is not None, what="load")
        assert len(browser.shown) == 1
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, ReceiptDetail)
        await pilot.press("v")
        shown = detail.query_one("#verify-results")
        await wait_until(pilot, lambda: "✓" in str(shown.render()), what="verification")
        # a session or record not on-chain yet is pending (⧗), never a failed check
        assert "✗" not in str(shown.render()), str(shown.render())


async def test_the_draft_survives_a_restart(devnet: Any) -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"half a thought")
        await pilot.pause(0.7)
    again = OGChatApp(start_backend=False)
    async with again.run_test(size=SIZE) as pilot:
        prompt = _main(again).query_one("#prompt")
        await wait_until(pilot, lambda: prompt.text == "half a thought", what="draft")  # type: ignore[attr-defined]


async def test_a_key_unlocked_before_start_is_the_wallet_used(devnet: Any) -> None:
    """`og-chat` unlocks a keystore before the screen starts; the runtime pays with that key."""
    from og_chat.sdk.addresses import DEVNET_ADDRESSES as DEV_ADDRESSES, DEVNET_KEYS as DEV_KEYS

    app = _app(devnet, network="devnet")
    app.backend.set_private_key(DEV_KEYS[3])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.backend.ready, what="backend")
        assert app.backend.runtime.address == DEV_ADDRESSES[3]
        assert DEV_KEYS[3][2:] not in repr(vars(app.backend))


async def test_wallet_top_up_approves_the_amount_asked(devnet: Any) -> None:
    from og_chat.sdk.addresses import DEVNET_KEYS as DEV_KEYS

    app = _app(devnet, network="devnet")
    app.backend.set_private_key(DEV_KEYS[4])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.backend.ready, what="backend")
        await pilot.press("ctrl+b")
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        for _ in "100":
            await pilot.press("backspace")
        await pilot.press(*"37", "enter")

        async def allowance() -> int:
            return int((await app.backend.runtime.wallet()).allowance)

        deadline = 200
        while deadline and await allowance() < 37 * 10**18:
            await pilot.pause(0.1)
            deadline -= 1
        assert await allowance() == 37 * 10**18
