"""The conversation gets the room (issue 13, item 3), measured on the emulated terminal.

One og-chat is resized through 80×24, 120×40, 140×40 and 200×50 (SIGWINCH, as a window
manager does); at each size the boxes on screen are measured.
"""

from __future__ import annotations

import math
from pathlib import Path

from .conftest import Launch
from .screen import conversation_box, saved_answers
from .terminal import Box, Terminal

GUTTER = 5
"""Columns of the conversation box that are not text: padding 1+1, scrollbar 1, answer bar 2."""


def _text_width(box: Box) -> int:
    return box.inner_width - GUTTER


def _receipts(terminal: Terminal) -> Box | None:
    return terminal.box(lambda b: b.title == "Receipts")


def _check(terminal: Terminal, columns: int, rows: int) -> None:
    terminal.resize(columns, rows)
    terminal.wait_for(
        lambda: (
            (box := conversation_box(terminal)) is not None
            and box.right < columns
            and len(terminal.lines()[0].rstrip()) <= columns
        ),
        f"the layout at {columns}×{rows}",
    )
    terminal.wait_until_stable()
    box = conversation_box(terminal)
    assert box is not None
    share = 0.70 if columns < 100 else 0.55
    assert _text_width(box) >= math.ceil(share * columns), (columns, box, terminal.text())

    lines = terminal.lines()
    header, footer = lines[0], lines[-1]
    for fact in ("devnet", "mode batch", "ready"):
        assert fact in header, (columns, header)
    for key in ("Receipts", "Help"):
        assert key in footer, (columns, footer)

    receipts = _receipts(terminal)
    if columns >= 100:
        assert receipts is not None, terminal.text()
        assert receipts.inner_width <= 0.3 * columns
        assert "OPG" in terminal.inside(receipts)[0]
    else:
        assert receipts is None, terminal.text()
    sidebar = terminal.box(lambda b: b.title == "Models")
    assert (sidebar is not None) == (columns >= 180), terminal.text()
    if sidebar is None:
        assert any(line.lstrip().startswith("▾ Claude Haiku 4.5") for line in lines[1:4])
    assert "WIDE-END" in terminal.text(), f"a code line is cut at {columns}:\n{terminal.text()}"


def test_pane_widths_at_80_120_140_200(launch: Launch, tmp_path: Path) -> None:
    home = tmp_path / "layout"
    with launch((80, 24), home=home) as terminal:
        terminal.wait_for_text("● ready")
        terminal.send("shape wide")
        terminal.press("enter")
        terminal.wait_for(lambda: saved_answers(home), "the answer saved")
        for columns, rows in ((80, 24), (120, 40), (140, 40), (200, 50)):
            _check(terminal, columns, rows)


def test_f5_toggles_the_receipts_panel(launch: Launch) -> None:
    with launch((80, 24)) as terminal:
        terminal.wait_for(lambda: conversation_box(terminal), "the conversation pane")
        assert _receipts(terminal) is None
        terminal.press("f5")
        terminal.wait_for(lambda: _receipts(terminal), "the receipts panel shown")
        box = conversation_box(terminal)
        assert box is not None and box.inner_width >= 50
        terminal.press("f5")
        terminal.wait_for(lambda: _receipts(terminal) is None, "the receipts panel hidden")
