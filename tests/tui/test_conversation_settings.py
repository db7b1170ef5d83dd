"""A conversation's settings in the TUI (issue 14 item 1), and what retry sends (item 2).

The devnet runs with `--upstream` pointed at `RecordingUpstream`, our own
OpenAI-compatible double, so each test sees what the gateway forwarded for a call the
TUI made: the system prompt, temperature, max_tokens and the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Input, OptionList, Select, Static, TextArea

from og_chat.devnet import Devnet
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.store.config import Config, Persona, save_config
from og_chat.store.sessions import Message, Session, SessionStore
from og_chat.tui.app import OGChatApp
from og_chat.tui.screens.chat_settings import ChatSettingsScreen, PersonaPicker
from og_chat.tui.screens.main import MainScreen
from og_chat.tui.widgets.prompt import PromptArea
from tests.features.upstream_double import RecordingUpstream

from .conftest import wait_until

SIZE = (180, 50)
MODEL = "openai/gpt-4.1-mini"


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def relay(upstream: RecordingUpstream) -> Iterator[Devnet]:
    """A devnet whose answers come from the recording upstream (paid, signed as usual)."""
    net = Devnet.start(upstream=upstream.url, tokens_per_second=0, session_idle=1.0)
    try:
        yield net
    finally:
        net.stop()


def _main(app: OGChatApp) -> MainScreen:
    assert app.main_screen is not None
    return app.main_screen


def _idle(app: OGChatApp) -> bool:
    return not _main(app)._turn_running()


async def _send(pilot: Any, text: str) -> None:
    app = pilot.app
    main = _main(app)
    answers = sum(1 for m in main.chat.messages if m["role"] == "assistant")
    main.query_one(PromptArea).load_text(text)
    await pilot.press("enter")
    await wait_until(
        pilot,
        lambda: (
            _idle(app) and sum(1 for m in main.chat.messages if m["role"] == "assistant") > answers
        ),
        what="the answer",
    )


async def _ready(pilot: Any) -> None:
    await wait_until(pilot, lambda: pilot.app.backend.ready, timeout=60, what="runtime")
    await wait_until(pilot, lambda: pilot.app.local_ready, timeout=60, what="config")


def _title(app: OGChatApp) -> str:
    return str(_main(app).query_one("#conversation").border_title)


async def test_the_settings_panel_changes_what_is_sent_and_what_is_saved(
    relay: Devnet, upstream: RecordingUpstream
) -> None:
    app = OGChatApp(NetworkRequest(devnet_url=relay.url), model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(pilot)
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatSettingsScreen), what="panel")
        panel = app.screen
        panel.query_one("#cs-temperature", Input).value = "3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ChatSettingsScreen)  # refused: out of range
        assert "temperature" in str(panel.query_one("#cs-error", Static).render())
        panel.query_one("#cs-temperature", Input).value = "0.7"
        panel.query_one("#cs-max-tokens", Input).value = "321"
        panel.query_one("#cs-system", TextArea).load_text("Answer like a pirate.")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is _main(app), what="panel closed")
        title = _title(app)
        assert "temp 0.7" in title and "max 321" in title and "system “Answer like" in title

        await _send(pilot, "what is x402?")
        sent = upstream.requests[-1]
        assert sent["messages"][0] == {"role": "system", "content": "Answer like a pirate."}
        assert sent["messages"][-1] == {"role": "user", "content": "what is x402?"}
        assert sent["temperature"] == 0.7
        assert sent["max_tokens"] == 321
        chat_id = _main(app).chat.id

    saved = SessionStore().load(chat_id)
    assert saved.system_prompt == "Answer like a pirate."
    assert (saved.temperature, saved.max_tokens) == (0.7, 321)
    assert saved.model == MODEL


async def test_a_persona_picked_at_new_chat_is_applied_and_saved(
    relay: Devnet, upstream: RecordingUpstream
) -> None:
    persona = Persona(system="You review patches tersely.", temperature=0.2, max_tokens=200)
    save_config(Config(personas={"reviewer": persona}))
    app = OGChatApp(NetworkRequest(devnet_url=relay.url), model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(pilot)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: isinstance(app.screen, PersonaPicker), what="picker")
        picker = app.screen.query_one(OptionList)
        assert picker.option_count == 2  # no persona, reviewer
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: _main(app).chat.persona == "reviewer", what="persona")
        assert "persona reviewer" in _title(app)
        await _send(pilot, "review: x = 1")
        sent = upstream.requests[-1]
        assert sent["messages"][0] == {"role": "system", "content": "You review patches tersely."}
        assert (sent["temperature"], sent["max_tokens"]) == (0.2, 200)
        chat_id = _main(app).chat.id

    saved = SessionStore().load(chat_id)
    assert (saved.persona, saved.system_prompt, saved.temperature) == (
        "reviewer",
        "You review patches tersely.",
        0.2,
    )


async def test_resuming_a_cli_conversation_keeps_its_settings_when_the_tui_saves_it(
    relay: Devnet, upstream: RecordingUpstream
) -> None:
    """`og-chat ask -s … --temperature … --persona …` stored them; the TUI used to wipe them."""
    session = Session.new(
        model=MODEL,
        system_prompt="Be brief.",
        temperature=0.4,
        max_tokens=99,
        persona="terse",
    )
    session.add(Message(role="user", content="first question"))
    session.add(Message(role="assistant", content="first answer", model=MODEL))
    SessionStore().save(session)

    app = OGChatApp(NetworkRequest(devnet_url=relay.url), model="anthropic/claude-haiku-4-5")
    async with app.run_test(size=SIZE) as pilot:
        await _ready(pilot)
        await app.resume(app.local.load_session(session.id))
        assert app.model == MODEL
        await _send(pilot, "second question")
        sent = upstream.requests[-1]
        assert [m["content"] for m in sent["messages"]] == [
            "Be brief.",
            "first question",
            "first answer",
            "second question",
        ]
        assert (sent["temperature"], sent["max_tokens"]) == (0.4, 99)

    saved = SessionStore().load(session.id)
    assert (saved.system_prompt, saved.temperature, saved.max_tokens, saved.persona) == (
        "Be brief.",
        0.4,
        99,
        "terse",
    )
    assert len(saved.messages) == 4


async def test_edit_and_resend_replaces_the_last_exchange_on_the_wire_and_keeps_it_saved(
    relay: Devnet, upstream: RecordingUpstream
) -> None:
    app = OGChatApp(NetworkRequest(devnet_url=relay.url), model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(pilot)
        main = _main(app)
        await _send(pilot, "what is permit2")
        await pilot.press("alt+e")
        prompt = main.query_one(PromptArea)
        assert prompt.text == "what is permit2"
        await pilot.press(*"?")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: _idle(app) and len(main.chat.messages) == 4, what="the new answer"
        )
        assert upstream.requests[-1]["messages"] == [
            {"role": "user", "content": "what is permit2?"}
        ]
        superseded = [bool(m.get("superseded")) for m in main.chat.messages]
        assert superseded == [True, True, False, False]
        chat_id = main.chat.id

    saved = SessionStore().load(chat_id)
    assert [m.superseded for m in saved.messages] == [True, True, False, False]
    assert saved.wire_messages() == [
        {"role": "user", "content": "what is permit2?"},
        {"role": "assistant", "content": saved.messages[-1].content},
    ]


async def test_regenerate_sends_the_history_without_the_answer_it_replaces(
    relay: Devnet, upstream: RecordingUpstream
) -> None:
    app = OGChatApp(NetworkRequest(devnet_url=relay.url), model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(pilot)
        await _send(pilot, "one")
        await _send(pilot, "two")
        count = len(upstream.requests)
        await pilot.press("alt+r")
        await wait_until(
            pilot, lambda: _idle(app) and len(upstream.requests) == count + 1, what="regenerate"
        )
        await wait_until(pilot, lambda: _idle(app), what="regenerated answer")
        sent = upstream.requests[-1]["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        assert sent[-1]["content"] == "two"


async def test_the_palette_offers_each_setting_and_each_persona(
    relay: Devnet, upstream: RecordingUpstream
) -> None:
    save_config(Config(personas={"terse": Persona(system="One line only.", max_tokens=50)}))
    app = OGChatApp(NetworkRequest(devnet_url=relay.url), model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in (
            "Chat settings: system prompt",
            "Chat settings: temperature",
            "Chat settings: max tokens",
            "Chat settings: settlement mode",
            "Chat settings: model",
            "Search",
            "Regenerate",
            "Edit last prompt",
            "Save image",
        ):
            assert title in commands, title
        commands["Chat settings: settlement mode"].callback()
        await wait_until(pilot, lambda: isinstance(app.screen, ChatSettingsScreen), what="panel")
        assert app.focused is not None and app.focused.id == "cs-mode"
        app.screen.query_one("#cs-mode", Select).value = "private"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.mode == "private", what="mode")
        assert "private" in _title(app)

        commands["New chat with persona terse"].callback()
        await wait_until(pilot, lambda: _main(app).chat.persona == "terse", what="persona")
        await _send(pilot, "hello")
        sent = upstream.requests[-1]
        assert sent["messages"][0] == {"role": "system", "content": "One line only."}
        assert sent["max_tokens"] == 50
        main = _main(app)
        receipt = app.backend.receipts.get(main.chat.receipt_ids[-1])
        assert receipt.settlement_mode == "private"  # the mode chosen stays for the new chat
        chat_id = main.chat.id

    assert SessionStore().load(chat_id).settlement_mode == "private"
