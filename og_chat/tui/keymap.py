"""Every key binding of og-chat in one table (`keys.toml` beside this module): id, default
keys, action, description, tooltip.

The App, each screen and widget take their `BINDINGS` from here (`bindings("chat")`), the
settings screen and the README's key table list `keybinding_table()`, and the config's
`[keymap]` remaps a row by its id (Textual's `App.set_keymap`). A new key is one row of the
table, so what the footer shows, what the palette offers and what the docs say cannot drift
apart. The table is data, read once at import (about a millisecond).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from textual.binding import Binding, BindingType

Owner = Literal[
    "app",
    "chat",
    "prompt",
    "conversation",
    "models",
    "model-picker",
    "code",
    "sessions",
    "receipts",
    "receipt",
    "wallet",
    "settings",
    "compare",
    "chat-settings",
    "personas",
    "search",
    "table",
    "ask",
    "confirm",
]
"""Where a key is bound: the App, a screen (`chat` is the main screen) or a widget."""


@dataclass(frozen=True, slots=True)
class Key:
    """One binding: the row of the table and the Textual `Binding` built from it."""

    on: Owner
    id: str
    """What the config's `[keymap]` names to remap it."""
    keys: str
    """Default keys, comma-separated Textual key names."""
    action: str
    description: str
    """The footer's and the palette's label."""
    tooltip: str
    """What it does, in a sentence: the settings screen, the README and the footer's tooltip."""
    show: bool = True
    """Shown in the footer."""
    priority: bool = False
    """Checked before the focused widget's own keys."""
    palette: bool = True
    """Offered in the command palette (main-screen keys only)."""
    listed: bool = True
    """In the settings screen's and the README's key table (dialog answers and the receipt
    table's cursor keys are not: they stay the same everywhere)."""

    def binding(self) -> Binding:
        """The Textual binding for this row."""
        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            id=self.id,
            tooltip=self.tooltip,
        )


KEYS_FILE = Path(__file__).with_name("keys.toml")
OWNERS: frozenset[str] = frozenset(get_args(Owner))


def load_keys(path: Path = KEYS_FILE) -> tuple[Key, ...]:
    """The rows of `keys.toml`, checked: every owner known, every id once."""
    rows = tomllib.loads(path.read_text(encoding="utf-8"))["key"]
    keys = tuple(Key(**row) for row in rows)
    unknown = {key.on for key in keys} - OWNERS
    ids = [key.id for key in keys]
    if unknown or len(set(ids)) != len(ids):
        raise ValueError(f"{path}: unknown owners {sorted(unknown)} or an id bound twice")
    return keys


KEYS: tuple[Key, ...] = load_keys()
"""Every binding, in the order the footer, the palette and the key table show them."""


def keys_on(owner: Owner) -> list[Key]:
    """The rows bound on one App, screen or widget, in table order."""
    return [key for key in KEYS if key.on == owner]


def bindings(owner: Owner) -> list[BindingType]:
    """`BINDINGS` for one App, screen or widget."""
    return [key.binding() for key in keys_on(owner)]


def keys_of(binding_id: str, keymap: Mapping[str, str] | None = None) -> str:
    """The keys a binding has (the config's `keymap` applied), for text that names them."""
    default = next(key.keys for key in KEYS if key.id == binding_id)
    return (keymap or {}).get(binding_id, default)


def keybinding_table(keymap: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """Every listed binding as `(id, keys, tooltip)`, with the config's `keymap` applied.

    The settings screen shows this and the README's key table must name every id in it.
    """
    keymap = keymap or {}
    return [(key.id, keymap.get(key.id, key.keys), key.tooltip) for key in KEYS if key.listed]
