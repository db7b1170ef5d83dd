"""Markdown that grows at its end, laid out in frozen parts plus a streaming tail.

Textual's `Markdown.append` re-parses from the last top-level block, but every
frame still lays out every block of the document. Here the finished top-level
blocks of a long answer stay in parts that never change again, and only the last
(possibly unfinished) blocks stream, through `Markdown.append`, into the tail.

Where to cut comes from the same parser the widget uses: the start line of the
last top-level block. Everything before it is closed for good (CommonMark's
block structure is decided line by line), and a fenced code block is a single
top-level block, so a fence, open or closed, is never split between parts.

Nothing is rendered twice. `append` updates the last block in place from its
whole text each time (and mounts the blocks that follow it fresh), so a block is
in its final state once a later one starts: freezing keeps the tail's widgets as
the new part, drops only the open block's widgets from it and renders that one
block again in a new tail; the end of the answer is the last append. (Re-rendering
a 2,000-character part at each freeze and the whole tail at the end cost 0.3 s of
a 5 s answer at 100 tok/s, a sixth of its CPU.) The one exception: `append` cannot
merge a new block into the one before it (a `2` that becomes `2. item` of a loose
list is shown as a list of its own), so where the tail's blocks differ from a whole
parse, the part (at a freeze) or the tail (at the end) is rendered again.

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
from markdown_it.token import Token
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock, MarkdownFence

FREEZE_AT = 2_000
"""Characters of finished blocks the tail may hold before they are frozen into a part."""

_PARSER = MarkdownIt("gfm-like")
"""One parser for every answer: Textual builds a new one (0.4 ms) at every append otherwise."""


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
    return _cut_of(text, (parser or _PARSER).parse(text))


def _cut_of(text: str, tokens: list[Token]) -> int:
    last = max((t.map[0] for t in tokens if t.level == 0 and t.map is not None), default=0)
    position = 0
    for _ in range(last):  # markdown-it numbers lines split on "\n" only
        position = text.index("\n", position) + 1
    return position


BlockLayout = list[tuple[str, int, int]]
"""Top-level blocks as (token type, first line, end line): a document's block structure."""


def parsed_layout(tokens: list[Token]) -> BlockLayout:
    """The top-level blocks a whole parse of a document has."""
    return [
        (t.type, t.map[0], t.map[1])
        for t in tokens
        if t.level == 0 and t.nesting >= 0 and t.map is not None
    ]


def shown_layout(markdown: Markdown) -> BlockLayout:
    """The top-level blocks a Markdown widget shows (a block's `name` is its token type)."""
    return [
        (str(block.name), *block.source_range) for block in markdown.query_children(MarkdownBlock)
    ]


class PlainFence(MarkdownFence):
    """A fence that names no language is shown as plain text, not guessed.

    Textual guesses with Pygments' `guess_lexer`, which tries every lexer: ~70 ms per
    fence on 2 cores, paid again on every streamed update of a growing fence.
    """

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        return super().highlight(code, language or "text", ansi, dark)


class AnswerMarkdown(Markdown):
    """Textual's Markdown with `PlainFence` for fences and one shared parser."""

    def __init__(self, markdown: str | None = None) -> None:
        super().__init__(markdown, parser_factory=lambda: _PARSER)

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
        self._streaming = False
        self._next_check = freeze_at

    def compose(self) -> ComposeResult:
        for text in self._frozen:
            yield AnswerMarkdown(text)
        yield AnswerMarkdown()

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
        """The streaming Markdown: the last child (no class marks it, since a frozen tail
        changing its class would restyle every widget in it)."""
        tail = self.children[-1]
        assert isinstance(tail, Markdown)
        return tail

    @property
    def parts(self) -> list[Markdown]:
        """The static Markdown parts above the tail."""
        return [part for part in self.query_children(Markdown) if part is not self.tail]

    async def write(self, text: str) -> None:
        """Append markdown (already neutralized); freeze what the new text finished."""
        if not text:
            return
        if not self._streaming:
            self._streaming = True
            _defer_full_collections()
        self._tail_text += text
        await self.tail.append(text)
        if len(self._tail_text) >= self._next_check:
            tokens = _PARSER.parse(self._tail_text)
            cut = _cut_of(self._tail_text, tokens)
            if cut >= self.freeze_at:
                await self._freeze(cut, parsed_layout(tokens))
                return
            # One block is still growing (a long fence): look again a little later,
            # not on every write, so the parse does not become quadratic.
            self._next_check = len(self._tail_text) + self.freeze_at // 2

    async def _freeze(self, cut: int, layout: BlockLayout) -> None:
        """The tail's first `cut` characters become a static part; a new tail holds the rest.

        The tail's widgets for those characters are final already (see the module doc), if
        the tail shows the blocks a whole parse finds (`layout`): then the tail itself
        becomes the part, minus the widgets of the block after `cut`. Appending re-parses
        from the last block only, so a block that merges into the one before it (`2` that
        becomes `2. item` of a loose list) is shown apart: then the part is rendered again.
        """
        done, rest = self._tail_text[:cut], self._tail_text[cut:]
        old = self.tail
        first_open_line = done.count("\n")
        tail = AnswerMarkdown()
        with self.app.batch_update():  # no frame shows the text twice, or not at all
            if shown_layout(old) == layout:
                await old.remove_children(
                    block
                    for block in old.query_children(MarkdownBlock)
                    if block.source_range[0] >= first_open_line
                )
                await self.mount(tail)
            else:
                await self.mount(AnswerMarkdown(done), before=old)
                await old.remove()
                await self.mount(tail)
            await tail.append(rest)
        self._frozen.append(done)
        self._tail_text = rest
        self._next_check = len(rest) + self.freeze_at
        if gc.get_count()[0] > YOUNG_COLLECT_AFTER:
            gc.collect(1)

    async def finish(self) -> None:
        """Stop streaming; the last write rendered the end of the answer, checked here.

        The tail is rendered again from its whole text only when it does not show the
        blocks a whole parse finds (a block merged into the one before it: see `_freeze`).
        A link reference definition anywhere can change earlier blocks, so then the whole
        document is rendered again as one part.
        """
        try:
            if _REFERENCE.search(self.source):
                await self._collapse()
            elif shown_layout(tail := self.tail) != parsed_layout(_PARSER.parse(self._tail_text)):
                await tail.update(self._tail_text)
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
            await self.remove_children(self.parts)
            await self.mount(AnswerMarkdown(whole), before=tail)
            await tail.update("")
