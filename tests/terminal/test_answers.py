"""Every answer reaches the screen whole (issue 13, item 1), as a terminal shows it.

The bug: an answer ending with a paragraph after a table lost that paragraph on screen in
6 of 6 launches under tmux, while the saved session had it. The terminal only receives
Textual's diffs, so the test reads the emulated terminal, never `export_screenshot`.
"""

from __future__ import annotations

from pathlib import Path

from .conftest import ANSWERS, FINAL, Launch
from .screen import answer_words, conversation_box, is_subsequence, pane_words, saved_answers
from .terminal import Terminal

SHAPES = ("table", "code", "list", "quote", "long")
LAUNCHES = 2


def _ask(terminal: Terminal, home: Path, prompt: str, count: int) -> str:
    """Send `prompt` and wait until its answer is saved and the screen has settled."""
    terminal.wait_for(lambda: conversation_box(terminal), "the conversation pane")
    terminal.send(prompt)
    terminal.press("enter")
    terminal.wait_for(lambda: len(saved_answers(home)) >= count, f"answer {count} saved")
    terminal.wait_until_stable()
    return saved_answers(home)[-1]


def _assert_whole_on_screen(terminal: Terminal, shape: str, saved: str) -> None:
    box = conversation_box(terminal)
    assert box is not None, terminal.text()
    shown = pane_words(terminal, box)
    final = FINAL[shape].split()
    joined = " ".join(shown)
    assert " ".join(final) in joined, f"the last paragraph ({shape}) is not on screen:\n" + (
        terminal.text()
    )
    tail = answer_words(saved)[-40:]
    assert is_subsequence(tail, shown), f"the end of the {shape} answer differs:\n{terminal.text()}"
    after = joined[joined.rindex(" ".join(final)) :]
    assert "TTFT" in after, (
        f"the answer's footer is not under its last paragraph:\n{terminal.text()}"
    )


def test_every_answer_ends_on_screen_as_saved(launch: Launch, tmp_path: Path) -> None:
    for run in range(LAUNCHES):
        home = tmp_path / f"answers-{run}"
        with launch((140, 40), home=home) as terminal:
            for count, shape in enumerate(SHAPES, start=1):
                saved = _ask(terminal, home, f"shape {shape}", count)
                assert saved == ANSWERS[f"shape {shape}"]
                _assert_whole_on_screen(terminal, shape, saved)
