"""README lists every key binding the app has (the issue asks for all of them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from og_chat.tui.keymap import KEYS_FILE, keybinding_table, load_keys

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_binding_id_is_in_the_readme() -> None:
    text = README.read_text()
    missing = [
        binding_id
        for binding_id, _keys, _what in keybinding_table()
        if f"`{binding_id}`" not in text
    ]
    assert not missing, f"README.md does not list: {missing}"


def test_the_key_table_refuses_an_unknown_owner_or_an_id_twice(tmp_path: Path) -> None:
    row = '[[key]]\non = "{on}"\nid = "{id}"\nkeys = "x"\naction = "a"\ndescription = "d"\n'
    row += 'tooltip = "t"\n'
    for rows in (
        row.format(on="nowhere", id="one"),
        row.format(on="chat", id="one") + row.format(on="app", id="one"),
    ):
        table = tmp_path / "keys.toml"
        table.write_text(rows)
        with pytest.raises(ValueError, match=r"unknown owners|bound twice"):
            load_keys(table)
    assert load_keys(KEYS_FILE)  # the shipped table loads
