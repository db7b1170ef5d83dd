"""Layout, keys and safety without a backend: paint, remap, and show untrusted text literally."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from textual.binding import Binding

from og_chat.tui.app import OGChatApp
from og_chat.tui.chat import ChatState
from og_chat.tui.keymap import keybinding_table
from og_chat.tui.screens.main import MainScreen
from og_chat.tui.widgets.conversation import AssistantMessage, UserMessage, code_blocks
from og_chat.tui.widgets.model_picker import ModelPicker
from og_chat.tui.widgets.prompt import PromptArea
from og_chat.tui.widgets.status_header import StatusHeader

from .conftest import wait_until

EVIL = "[bold]x[/] then [/ then \x1b[2J then [link=http://e]l[/link]"


def _text(widget: Any) -> str:
    """What a widget and its descendants paint, as plain text (borders included)."""
    parts = []
    for node in [widget, *widget.query("*")]:
        lines = node.render_lines(node.region.reset_offset)
        parts.append("\n".join("".join(seg.text for seg in strip) for strip in lines))
    return "\n".join(parts)


def test_every_binding_has_an_id_and_a_tooltip() -> None:
    rows = keybinding_table()
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids))
    assert all(row[2] for row in rows)
    expected = {
        "chat.send": "enter",
        "chat.newline": "ctrl+j",
        "models.next_provider": "f3",
        "models.previous_provider": "shift+f3",
        "models.focus": "f2",
        "chat.new": "ctrl+n",
        "quit": "ctrl+q",
        "chat.stop": "escape",
    }
    table = {row[0]: row[1] for row in rows}
    for binding_id, keys in expected.items():
        assert table[binding_id] == keys
    for binding in MainScreen.BINDINGS:
        assert isinstance(binding, Binding) and binding.id and binding.tooltip


def test_keymap_overrides_appear_in_the_table() -> None:
    table = dict((r[0], r[1]) for r in keybinding_table({"chat.send": "ctrl+s"}))
    assert table["chat.send"] == "ctrl+s"


async def test_enter_sends_and_ctrl_j_inserts_a_newline() -> None:
    app = OGChatApp(start_backend=False)
    sent: list[str] = []
    async with app.run_test(size=(140, 40)) as pilot:
        prompt = app.screen.query_one(PromptArea)
        prompt.action_submit = lambda: sent.append(prompt.text)  # type: ignore[method-assign]
        await pilot.press("h", "i", "ctrl+j", "x")
        assert prompt.text == "hi\nx"
        await pilot.press("enter")
        assert sent == ["hi\nx"]


async def test_keymap_from_config_remaps_send_and_newline() -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=(140, 40)) as pilot:
        app.set_keymap({"chat.send": "ctrl+s", "chat.newline": "enter"})
        prompt = app.screen.query_one(PromptArea)
        sent: list[str] = []
        prompt.action_submit = lambda: sent.append(prompt.text)  # type: ignore[method-assign]
        await pilot.press("a", "enter", "b", "ctrl+s")
        assert sent == ["a\nb"]


async def test_markup_and_escapes_in_messages_render_literally() -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=(140, 40)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        chat = ChatState(model="anthropic/claude-haiku-4-5", title="evil")
        chat.add({"role": "user", "content": EVIL})
        chat.add({"role": "assistant", "content": EVIL})
        await main.show_chat(chat)
        await pilot.pause(0.3)
        for widget in (main.query_one(UserMessage), main.query_one(AssistantMessage)):
            shown = _text(widget)
            assert "\x1b" not in shown
            for fragment in ("[bold]x[/]", "[/ then", "␛[2J", "[link=http://e]l[/link]"):
                assert fragment in shown, (fragment, shown)


async def test_f2_filters_models_and_enter_picks_one() -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f2", *"grok fast")
        await pilot.press("enter")
        await pilot.pause()
        assert app.main_screen is not None
        assert app.main_screen.chat.model.startswith("x-ai/grok-4")
        assert app.screen.query_one(ModelPicker).selected == app.main_screen.chat.model


async def test_a_model_picked_before_the_config_arrives_is_kept(og_home: Path) -> None:
    """The config is read in a thread after the first frame; a FIFO holds that read back
    until the user has picked, so the pick and then the config's model arrive in that order."""
    og_home.mkdir(parents=True, exist_ok=True)
    config = og_home / "config.toml"
    os.mkfifo(config)
    writer = threading.Thread(
        target=config.write_text, args=('model = "openai/gpt-5"\nsettlement_mode = "private"\n',)
    )
    app = OGChatApp(start_backend=False)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("f2", *"grok fast")
            await pilot.press("enter", "ctrl+t")
            assert not app.local_ready
            writer.start()
            await wait_until(pilot, lambda: app.local_ready, what="the config read")
            await pilot.pause()
            assert app.main_screen is not None
            assert app.main_screen.chat.model.startswith("x-ai/grok-4")
            assert app.mode == "individual"  # batch (the default) → individual, not the config's
    finally:
        if not writer.is_alive() and not writer.ident:
            writer.start()  # unblock the reader thread if the test failed before the write
        writer.join(5)


async def test_f3_and_shift_f3_step_through_providers() -> None:
    app = OGChatApp(start_backend=False, model="anthropic/claude-haiku-4-5")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f3")
        assert app.main_screen and app.main_screen.chat.model.startswith("google/")
        await pilot.press("shift+f3", "shift+f3")
        assert app.main_screen.chat.model.startswith("openai/")


async def test_ctrl_t_cycles_the_settlement_mode() -> None:
    app = OGChatApp(start_backend=False, mode="batch")
    async with app.run_test(size=(140, 40)) as pilot:
        header = app.screen.query_one(StatusHeader)
        await pilot.press("ctrl+t")
        assert app.mode == header.mode == "individual"
        await pilot.press("ctrl+t")
        assert app.mode == header.mode == "private"


def test_code_blocks_are_found_in_order() -> None:
    text = "a\n```python\nprint(1)\n```\nb\n~~~\nx = 2\n~~~\n"
    assert code_blocks(text) == ["print(1)\n", "x = 2\n"]


async def test_theme_files_are_registered_and_the_choice_persists(og_home: object) -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=(140, 40)) as pilot:
        assert "opengradient" in app.available_themes
        await wait_until(pilot, lambda: app.local_ready, what="config")
        app.theme = "og-paper"
        await pilot.pause()
    from og_chat.store.config import load_config

    assert load_config().theme == "og-paper"
