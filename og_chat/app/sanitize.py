"""Make untrusted text (model output, tool results, file names) safe to paint.

A model can emit terminal escape sequences; printed raw they could clear the
screen, move the cursor or set the window title. Every control character
except newline and tab is replaced by a visible stand-in before display.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␀ for NUL: the Unicode control pictures
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # C1 controls and bidi overrides


def neutralize(text: str) -> str:
    """Return `text` with every control character but `\\n` and `\\t` made visible and inert.

    `\\r\\n` becomes `\\n`; a lone `\\r` (which would overwrite a line) becomes `␍`.
    """
    if not text:
        return text
    return _CONTROLS.sub(_stand_in, text.replace("\r\n", "\n"))


class StreamNeutralizer:
    """`neutralize` for text that arrives in pieces.

    A `\\r\\n` split across two deltas must still become one newline, so a
    trailing `\\r` is held back until the next piece shows what follows it.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        """Neutralize the next piece; may hold back one trailing `\\r`."""
        text = self._held + piece
        self._held = ""
        if text.endswith("\r"):
            self._held = "\r"
            text = text[:-1]
        return neutralize(text)

    def flush(self) -> str:
        """Whatever was held back, neutralized."""
        text, self._held = self._held, ""
        return neutralize(text)
