"""The search screen (issue 14 item 3): type, see hits, open a conversation at the message."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import OptionList

from og_chat.sdk.types import Receipt
from og_chat.store.receipts import ReceiptStore
from og_chat.store.sessions import Message, Session, SessionStore
from og_chat.tui.app import OGChatApp
from og_chat.tui.screens.main import MainScreen
from og_chat.tui.screens.receipts import ReceiptDetail
from og_chat.tui.screens.search import MARKS, SearchScreen, marked_snippet
from og_chat.tui.widgets.conversation import FOUND, Conversation

from .conftest import wait_until

SIZE = (160, 40)


def _main(app: OGChatApp) -> MainScreen:
    assert app.main_screen is not None
    return app.main_screen


def _long_conversation(word_at: int) -> Session:
    """Forty turns, `word_at` the only one saying "zanzibar" (far above the last screenful)."""
    session = Session.new(title="a long talk", model="anthropic/claude-haiku-4-5")
    for i in range(40):
        role = "user" if i % 2 == 0 else "assistant"
        text = (
            f"turn {i}: " + ("the zanzibar clause" if i == word_at else "nothing much") + "\n" * 3
        )
        session.add(
            Message(role=role, content=text, model=None if role == "user" else session.model)
        )
    SessionStore().save(session)
    return session


def _options(app: OGChatApp) -> list[str | None]:
    found = app.screen.query_one("#search-list", OptionList)
    return [found.get_option_at_index(i).id for i in range(found.option_count)]


async def test_a_message_hit_opens_its_conversation_scrolled_to_it_and_highlighted() -> None:
    session = _long_conversation(word_at=7)
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"zanzib*")
        await wait_until(pilot, lambda: any(_options(app)), what="results")
        assert _options(app)[1] == f"m:7:{session.id}"
        label = str(app.screen.query_one("#search-list", OptionList).get_option_at_index(1).prompt)
        assert "a long talk" in label and "zanzibar" in label
        await pilot.press("enter")
        main = _main(app)
        await wait_until(
            pilot, lambda: app.screen is main and main.chat.id == session.id, what="open"
        )
        target = main._message_widgets[7]
        await wait_until(pilot, lambda: target.has_class(FOUND), what="highlight")
        conversation = main.query_one(Conversation)
        await pilot.pause(0.2)
        top = target.virtual_region.y - conversation.scroll_y
        assert 0 <= top < conversation.size.height  # on screen, not at the end of the talk
        assert conversation.max_scroll_y > conversation.size.height  # there was far to scroll
        await wait_until(pilot, lambda: not target.has_class(FOUND), timeout=10, what="fade")


async def test_a_receipt_hit_opens_the_receipt_detail() -> None:
    receipt = Receipt(
        id="r" + "7c" * 15 + "x",
        created_at=1_780_000_000.0,
        model="openai/gpt-5-mini",
        provider="openai",
        network="devnet",
        endpoint="http://127.0.0.1:1",
        settlement_mode="batch",
        output_text="the quokka answer",
    )
    with ReceiptStore() as receipts:
        receipts.append(receipt)
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        await pilot.press("ctrl+f", *"quokka")
        await wait_until(pilot, lambda: f"r:{receipt.id}" in _options(app), what="receipt hit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReceiptDetail), what="detail")
        assert app.screen.receipt.id == receipt.id  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert isinstance(app.screen, SearchScreen)  # back to the results


async def test_typing_on_replaces_the_results_and_nothing_found_says_so() -> None:
    _long_conversation(word_at=3)
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        await pilot.press("ctrl+f", *"zanzibar")
        await wait_until(pilot, lambda: any(_options(app)), what="results")
        await pilot.press(*"xyzzy")
        summary = app.screen.query_one("#search-summary")
        await wait_until(pilot, lambda: "0 found" in str(summary.render()), what="no results")
        assert _options(app) == []


def test_a_snippet_is_neutralized_before_its_matches_are_styled() -> None:
    raw = f"before \x1b[2J {MARKS[0]}[bold]word[/]{MARKS[1]} after\n\nmore"
    shown = marked_snippet(raw)
    assert isinstance(shown, Content)
    assert "\x1b" not in shown.plain and "\n" not in shown.plain
    assert "[bold]word[/]" in shown.plain  # literal, never markup
    styled = [shown.plain[span.start : span.end] for span in shown.spans]
    assert styled == ["[bold]word[/]"]
