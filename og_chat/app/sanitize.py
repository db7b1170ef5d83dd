"""Make untrusted text (model output, gateway fields, file names) safe to paint: the one
sanitizer for every face.

A model or a gateway can emit terminal escape sequences; printed raw they could
clear the screen, move the cursor or set the window title. Invisible characters
do subtler harm: a bidi override (U+202E) shows `txt.exe` as `exe.txt`, and a
zero-width space makes two different hashes, addresses or commands look equal.
So every control character except newline and tab, every bidi control and every
invisible (zero-width, tag, filler) character is replaced by a visible stand-in
before display: `neutralize` for the terminal, `json_escape` for JSON a terminal
shows. Files written on purpose (exports) keep the exact text.
"""

from __future__ import annotations

import re

_INVISIBLE = (
    "\u00ad"  # soft hyphen
    "\u061c"  # Arabic letter mark (bidi)
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers (blank, yet letters)
    "\u180e"  # Mongolian vowel separator
    "\u200b-\u200f"  # zero-width space, non-joiner, joiner; LRM, RLM (bidi)
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space (BOM)
    "\U000e0000-\U000e007f"  # tag characters (invisible ASCII look-alikes)
)
"""Format and filler characters that change what text means without being seen."""

_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_JSON_RAW = re.compile(f"[\x7f-\x9f{_INVISIBLE}]")
"""What `json.dumps(ensure_ascii=False)` leaves raw: DEL, C1 and the invisibles."""


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␀ for NUL: the Unicode control pictures
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # C1 controls, bidi controls and invisible characters


def neutralize(text: str) -> str:
    """Return `text` with every control character but `\\n` and `\\t`, every bidi control and
    every invisible character made visible and inert.

    `\\r\\n` becomes `\\n`; a lone `\\r` (which would overwrite a line) becomes `␍`.
    """
    if not text:
        return text
    return _CONTROLS.sub(_stand_in, text.replace("\r\n", "\n"))


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # JSON spells a character outside the BMP as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_escape(text: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) with what it leaves raw escaped:
    DEL, C1 and the invisible characters; the JSON still decodes to the exact same strings."""
    return _JSON_RAW.sub(_escaped, text)


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
