"""Reading og-chat's screen as a user does: which box is the conversation, what it says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .terminal import Box, Terminal

_BOX_CHARS = str.maketrans(dict.fromkeys("│┃┌┐└┘├┤┬┴┼─━╭╮╰╯█▌▐▁▔", " "))
_MARKUP = re.compile(r"```\w*|\*\*|`|^#+ |^> |^- |^\s*\|?\s*-{3,}.*$", re.MULTILINE)


def conversation_box(terminal: Terminal) -> Box | None:
    """The conversation pane: the widest box titled `<chat title> — <model>`."""
    boxes = [b for b in terminal.boxes() if " — " in b.title]
    return max(boxes, key=lambda b: b.inner_width, default=None)


def prompt_text(terminal: Terminal) -> str:
    """What the prompt holds, as shown: the box under the conversation, in its columns.

    Read up to the first border or toast edge on each row: a notification may cover the
    box's right end (toasts stack at the bottom right).
    """
    conversation = conversation_box(terminal)
    assert conversation is not None, terminal.text()
    lines = terminal.lines()
    left = conversation.left
    tops = [
        y for y in range(conversation.bottom + 1, len(lines)) if lines[y][left : left + 1] == "╭"
    ]
    assert tops, terminal.text()
    rows = []
    for y in range(tops[0] + 1, len(lines)):
        if lines[y][left : left + 1] == "╰":
            break
        row = lines[y][left + 1 : conversation.right]
        rows.append(re.split("[│▌]", row, maxsplit=1)[0].strip())
    return " ".join(rows).strip()


def pane_words(terminal: Terminal, box: Box) -> list[str]:
    """Every word shown inside a box, top to bottom, with borders and bars taken out."""
    return " ".join(line.translate(_BOX_CHARS) for line in terminal.inside(box)).split()


def answer_words(markdown: str) -> list[str]:
    """The words of a markdown answer as a reader sees them (no markup, no table rules)."""
    return _MARKUP.sub(" ", markdown).translate(_BOX_CHARS).replace("|", " ").split()


def is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    """True if `needle`'s words appear in `haystack` in the same order (gaps allowed)."""
    words = iter(haystack)
    return all(any(word == seen for seen in words) for word in needle)


def saved_answers(home: Path) -> list[str]:
    """The assistant messages of every saved session of an OG_CHAT_HOME, oldest first."""
    out: list[str] = []
    for path in sorted((home / "data" / "sessions").glob("*.json")):
        session = json.loads(path.read_text(encoding="utf-8"))
        out += [
            str(m.get("content") or "")
            for m in session.get("messages", [])
            if m.get("role") == "assistant"
        ]
    return out


SCIENTIFIC = re.compile(r"(?<![0-9A-Za-z])\d+(?:\.\d+)?[eE][-+]\d+(?![0-9A-Za-z])")
"""A number in scientific notation (`9.6e-5`, `1e+20`): never on og-chat's screens. The sign
is required, so hex ids and hashes (`…1e421…`) are not mistaken for it."""
