"""Keys as real terminals send them, where Textual's parser reads them as something else.

Two cases reach the App wrongly from xterm and tmux:

- **alt+letter** arrives as ESC then the letter. Textual names it `alt+c` but keeps the
  printable character `c`, and a focused text widget (the prompt, a filter box) inserts
  that character and stops the event before any screen or App binding sees it. The App
  therefore runs a bound alt-key itself, before the focused widget (`claims_key`).
- **F3 with a modifier** is `CSI 1 ; m R` (shift+F3 is `ESC [ 1 ; 2 R`), which is also the
  shape of a cursor position report, and Textual's parser tries that reading first. og-chat
  never asks for the cursor position (it is not an inline app), so a report with row 1 is
  the key (`reported_key`).
"""

from __future__ import annotations

F3_MODIFIERS = {2: "shift+f3", 3: "alt+f3", 5: "ctrl+f3", 6: "ctrl+shift+f3"}
"""xterm's modifier parameter (1 + shift·1 + alt·2 + ctrl·4) → Textual's key name for F3."""


def reported_key(x: int, y: int) -> str | None:
    """The F3 key a "cursor position report" at column `x + 1`, row `y + 1` really is."""
    if y != 0:
        return None
    return F3_MODIFIERS.get(x + 1)


def claims_key(key: str, character: str | None) -> bool:
    """True for keys a text widget would type but a binding should get: alt/ctrl + a character.

    Plain characters stay text (typing `/` in a filter box types a slash), so only keys
    with a modifier are claimed, and only when something on the focus chain binds them.
    """
    modifiers, plus, _name = key.rpartition("+")
    return bool(plus and modifiers and character and character.isprintable())
