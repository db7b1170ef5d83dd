"""Prompt history and retry (issue 14 item 2): up/down from an empty prompt, regenerate."""

from __future__ import annotations

from typing import Any

from og_chat.sdk.network_choice import NetworkRequest
from og_chat.store.receipts import ReceiptStore
from og_chat.store.sessions import Message, Session, SessionStore
from og_chat.tui.app import OGChatApp
from og_chat.tui.chat import ChatState
from og_chat.tui.keymap import KEYS, keys_of
from og_chat.tui.prompt_history import PromptHistory
from og_chat.tui.screens.main import MainScreen
from og_chat.tui.widgets.conversation import SUPERSEDED, AssistantMessage
from og_chat.tui.widgets.prompt import PromptArea

from .conftest import wait_until

SIZE = (180, 50)


def _main(app: OGChatApp) -> MainScreen:
    assert app.main_screen is not None
    return app.main_screen


def _older_conversation(title: str, prompts: list[str], updated_at: float) -> None:
    session = Session.new(title=title, model="anthropic/claude-haiku-4-5")
    for prompt in prompts:
        session.add(Message(role="user", content=prompt))
        session.add(Message(role="assistant", content=f"answer to {prompt}"))
    session.updated_at = updated_at
    SessionStore().save(session, touch=False)


async def test_up_and_down_in_an_empty_prompt_walk_this_conversations_prompts_then_older_ones() -> (
    None
):
    _older_conversation("older", ["oldest prompt", "old prompt"], 1_000.0)
    chat = ChatState(title="now", model="anthropic/claude-haiku-4-5")
    for text in ["first here", "second\nhas two lines", "second\nhas two lines"]:
        chat.add({"role": "user", "content": text})
        chat.add({"role": "assistant", "content": "ok"})
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        await _main(app).show_chat(chat)
        prompt = _main(app).query_one(PromptArea)
        prompt.focus()
        seen = []
        for _ in range(5):
            await pilot.press("up")
            seen.append(prompt.text)
            if "\n" in prompt.text:
                await pilot.press("up")  # from the last line to the first, then on back
        assert seen == [
            "second\nhas two lines",  # a prompt sent twice in a row is one entry
            "first here",
            "old prompt",
            "oldest prompt",
            "oldest prompt",  # the oldest: up stays
        ]
        await pilot.press("down")
        assert prompt.text == "old prompt"
        await pilot.press("down", "down", "down", "down")
        assert prompt.text == ""  # past the newest: empty again

        await pilot.press("up")
        await pilot.press(*" edited")
        assert prompt.text == "second\nhas two lines edited"
        await pilot.press("up")  # an edited entry is text being written: up moves the cursor
        assert prompt.text == "second\nhas two lines edited"
        assert prompt.cursor_location[0] == 0


def test_a_walk_starts_only_from_an_empty_prompt_and_ends_when_the_entry_is_edited() -> None:
    history = PromptHistory(lambda: ["b", "a"])
    assert not history.can_walk("typing")
    assert history.back("") == "b"
    assert history.can_walk("b") and not history.can_walk("b!")
    assert history.back("b") == "a"
    assert history.back("a") is None
    assert history.forward("a") == "b"
    assert history.forward("b") == ""
    assert history.forward("b!") is None and not history.walking


def test_no_chat_key_is_swallowed_by_the_prompt() -> None:
    """The prompt (a TextArea) has focus: a chat key it binds itself would never reach the
    screen (TextArea binds f6 and f7, for one)."""
    from textual.widgets import TextArea

    text_area_keys = {
        key.strip()
        for binding in TextArea.BINDINGS
        for key in binding.key.split(",")  # type: ignore[union-attr]
    }
    prompt_keys = {k for key in KEYS if key.on == "prompt" for k in key.keys.split(",")}
    swallowed = [
        (key.id, k)
        for key in KEYS
        if key.on == "chat" and not key.priority
        for k in key.keys.split(",")
        if k in text_area_keys - prompt_keys
    ]
    assert not swallowed
    assert keys_of("chat.regenerate", {"chat.regenerate": "f12"}) == "f12"


async def test_regenerate_keeps_both_answers_each_with_its_own_receipt(devnet: Any) -> None:
    app = OGChatApp(NetworkRequest(devnet_url=devnet.url))
    async with app.run_test(size=SIZE) as pilot:
        main = _main(app)
        await wait_until(pilot, lambda: app.backend.ready, timeout=60, what="runtime")
        main.query_one(PromptArea).load_text("name a colour")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: len(main.chat.receipt_ids) == 1 and not main._turn_running(), what="1"
        )
        await pilot.press("alt+r")
        await wait_until(
            pilot, lambda: len(main.chat.receipt_ids) == 2 and not main._turn_running(), what="2"
        )
        roles = [(m["role"], bool(m.get("superseded"))) for m in main.chat.messages]
        assert roles == [("user", False), ("assistant", True), ("assistant", False)]
        first, second = main.chat.messages[1], main.chat.messages[2]
        assert first["receipt_id"] != second["receipt_id"]
        assert main.chat.wire_messages() == [
            {"role": "user", "content": "name a colour"},
            {"role": "assistant", "content": second["content"]},
        ]
        shown = list(main.query(AssistantMessage))
        assert len(shown) == 2
        assert shown[0].has_class(SUPERSEDED) and not shown[1].has_class(SUPERSEDED)
        chat_id = main.chat.id
        stored = {r.id for r in app.backend.receipts.load()}
        assert {first["receipt_id"], second["receipt_id"]} <= stored

    saved = SessionStore().load(chat_id)
    assert [m.superseded for m in saved.messages] == [False, True, False]
    with ReceiptStore() as receipts:
        assert receipts.get(saved.messages[1].receipt_id or "").conversation_id == chat_id

    app = OGChatApp(start_backend=False)  # resumed later: both answers shown, the first dimmed
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        await app.resume(app.local.load_session(chat_id))
        shown = list(_main(app).query(AssistantMessage))
        assert [view.has_class(SUPERSEDED) for view in shown] == [True, False]
