"""Markdown that grows at its end, laid out in frozen parts plus a streaming tail.

Textual's `Markdown.append` re-parses from the last top-level block, but every
frame still lays out every block of the document, and the final consistent
`update()` re-renders all of it: a 10,000-token answer cost ~7 s on 2 cores,
half of it in that last render. Here the finished top-level blocks of a long
answer move into static `Markdown` parts that never change again, and only the
last (possibly unfinished) blocks stream, through `Markdown.get_stream`, into
the tail. Each frame lays out the tail; the final render re-renders the tail.

Where to cut comes from the same parser the widget uses: the start line of the
last top-level block. Everything before it is closed for good (CommonMark's
block structure is decided line by line), and a fenced code block is a single
top-level block, so a fence, open or closed, is never split between parts.

While a document streams, the cyclic collector's full passes are deferred (as
Textual does during smooth scrolling, and the receipt store while it loads):
mounting a thousand widgets set off eight full collections of the whole heap,
0.8 s of a 2.5 s answer. Young generations are still collected at every freeze;
the full pass runs once, after the stream.
"""

from __future__ import annotations

import gc
import re

from markdown_it import MarkdownIt
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock, MarkdownFence, MarkdownStream

FREEZE_AT = 2_000
"""Characters of finished blocks the tail may hold before they are frozen into a part."""

_REFERENCE = re.compile(r"^ {0,3}\[[^\]\n]+\]:", re.MULTILINE)
"""A link reference definition: it can change how earlier blocks render."""


YOUNG_COLLECT_AFTER = 50_000
"""Allocations after which a freeze also collects the young generations."""

_streaming = 0
_collector_was_enabled = False


def _defer_full_collections() -> None:
    global _streaming, _collector_was_enabled
    if _streaming == 0:
        _collector_was_enabled = gc.isenabled()
        gc.disable()
    _streaming += 1


def _restore_collections() -> None:
    global _streaming
    _streaming -= 1
    if _streaming == 0 and _collector_was_enabled:
        gc.enable()


def finished_length(text: str, parser: MarkdownIt | None = None) -> int:
    """How many leading characters of `text` are whole top-level blocks that more text cannot change.

    That is everything before the start of the last top-level block (0 when
    there is only one): the last block may still grow, turn into a setext
    heading or a table, or be a fence waiting for its closing line.
    """
    tokens = (parser or MarkdownIt("gfm-like")).parse(text)
    last = max((t.map[0] for t in tokens if t.level == 0 and t.map is not None), default=0)
    position = 0
    for _ in range(last):  # markdown-it numbers lines split on "\n" only
        position = text.index("\n", position) + 1
    return position


class PlainFence(MarkdownFence):
    """A fence that names no language is shown as plain text, not guessed.

    Textual guesses with Pygments' `guess_lexer`, which tries every lexer: ~70 ms per
    fence on 2 cores, paid again on every streamed update of a growing fence.
    """

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        return super().highlight(code, language or "text", ansi, dark)


class AnswerMarkdown(Markdown):
    """Textual's Markdown with `PlainFence` for fences."""

    def get_block_class(self, block_name: str) -> type[MarkdownBlock]:
        if block_name in ("fence", "code_block"):
            return PlainFence
        return super().get_block_class(block_name)


class StreamedMarkdown(Vertical):
    """A Markdown document written at its end: static parts above, one streaming tail."""

    DEFAULT_CSS = """
    StreamedMarkdown { height: auto; }
    StreamedMarkdown MarkdownFence { overflow-x: hidden; }
    StreamedMarkdown MarkdownFence > Label { width: 1fr; }
    """
    """Code wraps: Textual's fences scroll sideways with no scrollbar, which cuts long lines
    off unseen; the code picker (alt+k) copies a block exactly as written."""

    def __init__(
        self, markdown: str = "", *, freeze_at: int = FREEZE_AT, classes: str | None = None
    ) -> None:
        """`markdown` is shown as one static part (a saved answer being resumed)."""
        super().__init__(classes=classes)
        self.freeze_at = freeze_at
        self._frozen: list[str] = [markdown] if markdown else []
        self._tail_text = ""
        self._stream: MarkdownStream | None = None
        self._streaming = False
        self._next_check = freeze_at
        self._parser = MarkdownIt("gfm-like")

    def compose(self) -> ComposeResult:
        for text in self._frozen:
            yield AnswerMarkdown(text, classes="part")
        yield AnswerMarkdown(classes="tail")

    @property
    def source(self) -> str:
        """The whole document: the frozen parts and the tail, as written."""
        return "".join(self._frozen) + self._tail_text

    @property
    def frozen(self) -> list[str]:
        """The sources of the static parts, in order (the tail is `source` minus these)."""
        return list(self._frozen)

    @property
    def tail(self) -> Markdown:
        return self.query_one(".tail", Markdown)

    async def write(self, text: str) -> None:
        """Append markdown (already neutralized); freeze what the new text finished."""
        if not text:
            return
        if not self._streaming:
            self._streaming = True
            _defer_full_collections()
        combined = self._tail_text + text
        if len(combined) >= self._next_check:
            cut = finished_length(combined, self._parser)
            if cut >= self.freeze_at:
                await self._freeze(combined[:cut], combined[cut:])
                return
            # One block is still growing (a long fence): look again a little later,
            # not on every write, so the parse does not become quadratic.
            self._next_check = len(combined) + self.freeze_at // 2
        self._tail_text = combined
        if self._stream is None:
            self._stream = Markdown.get_stream(self.tail)
        await self._stream.write(text)

    async def _freeze(self, done: str, rest: str) -> None:
        """Show `done` as a static part above the tail; the tail restarts with `rest`."""
        if self._stream is not None:
            await self._stream.stop()  # lets the in-flight append land before the reset
            self._stream = None
        tail = self.tail
        self._frozen.append(done)
        self._tail_text = rest
        self._next_check = len(rest) + self.freeze_at
        with self.app.batch_update():  # no frame shows the text twice, or not at all
            await self.mount(AnswerMarkdown(done, classes="part"), before=tail)
            await tail.update(rest)
        if gc.get_count()[0] > YOUNG_COLLECT_AFTER:
            gc.collect(1)

    async def finish(self) -> None:
        """Stop streaming and render the tail once from its full text.

        Streaming appends can leave a block rendered from partial text (oterm
        #308: blank code fences); the frozen parts were rendered whole already.
        A link reference definition anywhere can change earlier blocks, so then
        the whole document is rendered again as one part.
        """
        try:
            if self._stream is not None:
                await self._stream.stop()
                self._stream = None
            if self._frozen and _REFERENCE.search(self.source):
                await self._collapse()
            else:
                await self.tail.update(self._tail_text)
        finally:
            self._end_streaming()

    def _end_streaming(self) -> None:
        if self._streaming:
            self._streaming = False
            _restore_collections()

    def on_unmount(self) -> None:
        self._end_streaming()  # removed mid-stream (a new chat): never leave the collector off

    async def _collapse(self) -> None:
        """Render the whole source as a single part (rarely needed)."""
        whole = self.source
        self._frozen = [whole]
        self._tail_text = ""
        tail = self.tail
        with self.app.batch_update():
            await self.query(".part").remove()
            await self.mount(AnswerMarkdown(whole, classes="part"), before=tail)
            await tail.update("")
