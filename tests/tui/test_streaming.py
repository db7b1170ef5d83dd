"""A long answer streamed in small pieces renders exactly as the same text rendered at once."""

from __future__ import annotations

import random
import time

from markdown_it import MarkdownIt
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownBlock, MarkdownFence

from og_chat.tui.widgets.conversation import LONGEST_WAIT, ThrottledStream, code_blocks
from og_chat.tui.widgets.streamed_markdown import StreamedMarkdown, finished_length

from .conftest import wait_until


def _long_answer() -> str:
    long_fence = "\n".join(f"    total += value_{i} * {i}  # line {i}" for i in range(60))
    sections = []
    for n in range(1, 7):
        sections.append(
            f"## Part {n}\n\n"
            f"Paragraph {n} has **bold**, `code` and a [link](https://example.com/{n}).\n"
            "It wraps over two source lines.\n\n"
            "- a point\n- another point\n  continued\n\n"
            "1. first\n\n2. second, loose\n\n3. third\n\n"
            "| Aspect | Rating |\n| --- | --- |\n"
            f"| Speed | {n}/5 |\n| Cost | {6 - n}/5 |\n\n"
            f"```python\ndef part_{n}():\n\n    return {n}\n```\n\n"
            "> a quote\nthat continues lazily\n\n"
        )
    sections.insert(
        3, f"```python\ndef long():\n    total = 0\n{long_fence}\n    return total\n```\n\n"
    )
    return "# A long answer\n\n" + "".join(sections) + "Setext heading\n---\n\nThe end."


def _pieces(text: str, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        step = rng.randint(1, 9)
        out.append(text[i : i + step])
        i += step
    return out


def _rendered(markdown: Markdown) -> list[tuple[str, str]]:
    """Every block of a Markdown widget, in order, as (kind, text shown)."""
    out = []
    for block in markdown.query(MarkdownBlock):
        if isinstance(block, MarkdownFence):
            out.append(("fence", block.code))
        else:
            out.append((type(block).__name__, str(block.render())))
    return out


class Host(App[None]):
    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield StreamedMarkdown(freeze_at=200)
            yield Markdown(self.text, id="whole")


async def test_streamed_parts_render_like_the_whole_text_and_never_split_a_fence() -> None:
    text = _long_answer()
    app = Host(text)
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(StreamedMarkdown)
        stream = ThrottledStream(view, interval=0, share=None)  # every piece is its own write
        for piece in _pieces(text):
            await stream.write(piece)
        await stream.stop()
        await pilot.pause()

        assert len(view.frozen) >= 5, "a long answer is frozen in several parts"
        assert view.source == text
        assert "".join(view.frozen) + view.tail.source == text
        parser = MarkdownIt("gfm-like")
        for part in view.frozen:  # every fence in a part closes in that part
            lines = part.split("\n")
            for token in parser.parse(part):
                if token.type == "fence":
                    assert token.map is not None
                    closing = lines[token.map[1] - 1].strip()
                    assert token.map[1] - token.map[0] >= 2 and closing == token.markup, part
        assert [b for p in view.frozen for b in code_blocks(p)] + code_blocks(
            view.tail.source
        ) == code_blocks(text)

        streamed = [block for part in view.query(Markdown) for block in _rendered(part)]
        whole = _rendered(app.query_one("#whole", Markdown))
        assert streamed == whole


def test_the_cut_is_before_the_last_block_and_outside_fences() -> None:
    text = "para one\n\n```\ncode\n\nmore code\n"  # an open fence with a blank line inside
    assert text[: finished_length(text)] == "para one\n\n"
    assert finished_length("just one paragraph\nstill going") == 0
    loose = "1. a\n\n2. b\n\n"  # a loose list is one block: not cut between items
    assert finished_length(loose + "tail") == len(loose)
    assert finished_length(loose) == 0


async def test_a_resumed_answer_is_one_static_part() -> None:
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        view = StreamedMarkdown("# saved\n\nanswer")
        await app.query_one(VerticalScroll).mount(view)
        await pilot.pause()
        assert view.frozen == ["# saved\n\nanswer"]
        assert view.source == "# saved\n\nanswer"
        assert [kind for kind, _ in _rendered(view.parts[0])] == [
            "MarkdownH1",
            "MarkdownParagraph",
        ]


def _shown(view: StreamedMarkdown) -> str:
    """The text its blocks render (not its `source`, which a write sets before rendering)."""
    return " ".join(text for part in (*view.parts, view.tail) for _, text in _rendered(part))


async def test_a_costly_frame_spaces_the_next_write_but_never_past_the_longest_wait() -> None:
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(StreamedMarkdown)
        stream = ThrottledStream(view, interval=0)
        await stream.write("first ")
        await pilot.pause()
        assert "first" in _shown(view)
        stream._cpu = time.thread_time() - 10  # the write and its frames took 10 s of CPU
        await stream.write("queued ")
        await pilot.pause()
        assert "queued" not in _shown(view), "written before the frames' share was paid back"
        # No other piece comes: the held piece is written, on screen, at the longest wait.
        await wait_until(pilot, lambda: "first queued" in _shown(view), timeout=10)
        assert time.monotonic() - stream._last < 5
        stream._cpu = time.thread_time() - 10
        await stream.write("last")
        await stream.stop()  # the end of an answer is written at once, whatever the wait
        await pilot.pause()
        assert view.source == "first queued last"
        assert "first queued last" in _shown(view)


async def test_the_frames_after_a_write_count_against_the_next_one() -> None:
    """The layout and paint a write causes come later, on Textual's refresh timer: the
    next write is spaced by everything the UI thread spent since the last one began."""
    app = Host()
    async with app.run_test(size=(100, 40)):
        view = app.query_one(StreamedMarkdown)
        stream = ThrottledStream(view, interval=0, share=0.1)
        await stream.write("first ")
        burn_until = time.thread_time() + 0.02  # 20 ms of frames after the write returned
        while time.thread_time() < burn_until:
            pass
        assert 0.2 <= stream._wait() <= LONGEST_WAIT, "20 ms of CPU at a tenth of a core"


async def test_a_piece_held_back_reaches_the_screen_even_when_no_other_follows() -> None:
    """A model that pauses mid-answer: what came before the pause is shown, not only saved.

    The held piece is written by a timer, in the timer's own task; stopping that timer
    from the write it runs cancelled the write halfway (the source had the text, the
    screen did not)."""
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(StreamedMarkdown)
        stream = ThrottledStream(view, interval=0)
        await stream.write("Before the pause.\n\n")
        stream._cpu = time.thread_time() - 10  # the next write waits LONGEST_WAIT
        await stream.write("- a list the pause held back")  # a new block: it must be mounted
        await pilot.pause()
        assert "held back" not in _shown(view)
        await wait_until(pilot, lambda: "held back" in _shown(view), timeout=10)
        await stream.write(", and more")  # the stream goes on, in order
        await stream.stop()
        await pilot.pause()
        assert "a list the pause held back, and more" in _shown(view)
