"""Honest numbers and live status, as a terminal shows them (issue 13, items 4 and 5).

No screen (chat, receipts browser, wallet, compare) and no CLI table shows an amount in
scientific notation, the same amount reads the same everywhere, and an answer's own
footer goes from pending to settled when the payment settles.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .conftest import OG_CHAT, Launch, terminal_env
from .screen import SCIENTIFIC, conversation_box, pane_words, saved_answers
from .terminal import Terminal

_COST = re.compile(r"· (\d[\d,.]*) OPG ·")


def _footer(terminal: Terminal) -> str:
    """The last answer's footer (the line with TTFT), as shown."""
    box = conversation_box(terminal)
    if box is None:
        return ""
    words = " ".join(pane_words(terminal, box))
    return words[words.rfind("TTFT") :] if "TTFT" in words else ""


def _no_scientific(terminal: Terminal, where: str) -> None:
    terminal.wait_until_stable()
    found = SCIENTIFIC.findall(terminal.text())
    assert not found, f"{found} on the {where}:\n{terminal.text()}"


def _back(terminal: Terminal, shown: str) -> None:
    """Escape, then wait for the screen showing `shown` to close (a key sent within 0.1 s of
    ESC would be read as alt+key, as in any terminal)."""
    terminal.press("escape")
    terminal.wait_for(lambda: shown not in terminal.text(), f"{shown!r} closed")


def test_amounts_are_fixed_point_and_the_footer_settles(launch: Launch, tmp_path: Path) -> None:
    home = tmp_path / "numbers"
    with launch((140, 40), home=home) as terminal:
        terminal.wait_for_text("● ready")
        terminal.send("shape table")
        terminal.press("enter")
        terminal.wait_for(lambda: saved_answers(home), "the answer saved")
        terminal.wait_for(lambda: "pending" in _footer(terminal), "the footer saying pending")
        footer = _footer(terminal)
        assert "TEE ✓" in footer, footer
        terminal.wait_for(lambda: "settled ✓" in _footer(terminal), "the footer saying settled")
        cost = _COST.search(_footer(terminal))
        assert cost is not None, _footer(terminal)
        _no_scientific(terminal, "chat screen")
        assert cost.group(1) in terminal.inside(terminal.box(lambda b: b.title == "Receipts"))[1]

        terminal.press("ctrl+r")
        terminal.wait_for_text("receipts · ")
        _no_scientific(terminal, "receipts browser")
        assert cost.group(1) in terminal.text()
        _back(terminal, "receipts · ")
        terminal.press("ctrl+b")
        terminal.wait_for_text("Permit2 allowance")
        _no_scientific(terminal, "wallet")
        _back(terminal, "Permit2 allowance")
        terminal.press("f4")
        terminal.wait_for_text("Models (Enter toggles)")
        _no_scientific(terminal, "compare screen")
        _back(terminal, "Models (Enter toggles)")

    listed = subprocess.run(
        [OG_CHAT, "receipts", "list"],
        capture_output=True,
        text=True,
        env=terminal_env(home),
        timeout=60,
        check=True,
    ).stdout
    assert not SCIENTIFIC.findall(listed), listed
    assert cost.group(1) in listed, listed
