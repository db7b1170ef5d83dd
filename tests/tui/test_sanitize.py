"""Model output cannot drive the terminal: control characters are shown, not obeyed."""

from __future__ import annotations

from hypothesis import given, strategies as st

from og_chat.app.sanitize import StreamNeutralizer, neutralize


def test_escape_sequences_become_visible_and_inert() -> None:
    assert neutralize("a\x1b[2Jb") == "a␛[2Jb"
    assert neutralize("\x1b]0;title\x07") == "␛]0;title␇"


def test_newlines_and_tabs_survive() -> None:
    assert neutralize("a\n\tb") == "a\n\tb"


def test_crlf_becomes_newline_and_lone_cr_is_shown() -> None:
    assert neutralize("a\r\nb\rc") == "a\nb␍c"


def test_c1_controls_and_bidi_overrides_are_replaced() -> None:
    assert neutralize("x\x9b2Jy") == "x\ufffd2Jy"
    assert neutralize("abc\u202edef") == "abc\ufffddef"


def test_plain_text_is_unchanged() -> None:
    text = "Prix: 3 € — naïve café 日本語 🙂 [bold]x[/]"
    assert neutralize(text) == text


@given(st.text())
def test_output_never_contains_a_control_character(text: str) -> None:
    out = neutralize(text)
    assert not any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in out)


@given(st.lists(st.text(), max_size=8))
def test_streaming_in_pieces_equals_neutralizing_the_whole(pieces: list[str]) -> None:
    stream = StreamNeutralizer()
    joined = "".join(stream.feed(p) for p in pieces) + stream.flush()
    assert joined == neutralize("".join(pieces))
