"""README lists every key binding the app has (the issue asks for all of them)."""

from __future__ import annotations

from pathlib import Path

from og_chat.tui.keymap import keybinding_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_binding_id_is_in_the_readme() -> None:
    text = README.read_text()
    missing = [
        binding_id
        for binding_id, _keys, _what in keybinding_table()
        if f"`{binding_id}`" not in text
    ]
    assert not missing, f"README.md does not list: {missing}"
