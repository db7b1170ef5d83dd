"""The transcript: user, assistant and tool messages, errors inline.

Nothing a user or model wrote is parsed as Textual markup: plain text goes in
as `Content` (literal), model text through the Markdown widget, and all of it
through `neutralize` first so escape sequences cannot reach the terminal.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from og_chat.app.sanitize import StreamNeutralizer, neutralize
from og_chat.sdk.errors import OGError

from ..keymap import bindings
from .inline_images import InlineImages
from .streamed_markdown import StreamedMarkdown

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks(markdown: str) -> list[str]:
    """The bodies of the fenced code blocks in a markdown text, in order."""
    return [match.group(2) for match in _FENCE.finditer(markdown)]


FLUSH_INTERVAL = 0.1
"""Seconds between writes to the answer's Markdown while it streams, at the most often:
ten a second read as live text."""
FRAME_SHARE = 0.1
"""The share of a core the UI thread may spend between two writes of an answer: all of
its work, the write's layout and frames included (Textual lays out and paints on its
refresh timer, after the write returns), and the stream's parsing, the panels and the
other columns of a comparison too, so a busy UI writes less often. The next write waits
until what the thread spent since the last one began is at most this share of the time
since (at least `FLUSH_INTERVAL`, at most `LONGEST_WAIT`). Counting only the write
itself, as before, saw a tenth of the cost: streaming at 100 tok/s took 38% of a core."""
LONGEST_WAIT = 0.5
"""Seconds: however slow frames are, the screen is never further behind the answer."""


class ThrottledStream:
    """Feeds a `StreamedMarkdown` at a bounded rate, neutralizing as it goes.

    A model sends a token every few hundred microseconds; handing each one to
    the Markdown widget costs an event-loop turn and a layout pass. Joining
    them into a few writes a second keeps the screen live and the throughput
    bounded by the network, not the renderer. The next write waits for
    `FLUSH_INTERVAL`, and longer while the UI thread's CPU since the last write
    began is more than `share` of the time since (a long table, a slow machine);
    `stop` writes the rest at once. What is held back is written when it is due
    even if no other piece arrives (a model that pauses, a tool call being decided).
    Writes never overlap: a timer's and the stream's take turns, in order.
    """

    def __init__(
        self,
        view: StreamedMarkdown,
        interval: float = FLUSH_INTERVAL,
        share: float | None = FRAME_SHARE,
    ) -> None:
        """`share=None`: write every `interval`, whatever a frame costs."""
        self.view = view
        self.interval = interval
        self.share = share
        self._neutral = StreamNeutralizer()
        self._pending: list[str] = []
        self._last = -1e9
        """`time.monotonic()` when the last write began."""
        self._cpu = 0.0
        """The UI thread's `time.thread_time()` then."""
        self._late: Timer | None = None
        """Writes what is held back once it is due, if no piece comes first."""
        self._writing = asyncio.Lock()

    def _wait(self) -> float:
        """Seconds the next write waits after the last one began (see `FRAME_SHARE`)."""
        wait = self.interval
        if self.share:
            spent = time.thread_time() - self._cpu
            wait = min(max(wait, spent / self.share), max(wait, LONGEST_WAIT))
        return wait

    def due(self) -> bool:
        """Whether the next write may go now."""
        return time.monotonic() - self._last >= self._wait()

    async def write(self, piece: str) -> None:
        """Queue a raw piece; write what is queued when it is due."""
        self._pending.append(piece)
        if self.due():
            await self._flush()
        elif self._late is None:
            self._late = self.view.set_timer(self._left(), self._on_late)

    def _left(self) -> float:
        return max(0.01, self._wait() - (time.monotonic() - self._last))

    async def _on_late(self) -> None:
        """The timer's turn. It runs in the timer's own task, which stopping the timer
        would cancel mid-write: so it is forgotten here, never stopped."""
        self._late = None
        if self._pending and not self.due():  # the frames since cost more than foreseen
            self._late = self.view.set_timer(self._left(), self._on_late)
            return
        await self._flush()

    async def _flush(self) -> None:
        if self._late is not None:
            self._late.stop()
            self._late = None
        async with self._writing:
            if self._pending:
                self._last, self._cpu = time.monotonic(), time.thread_time()
                text = self._neutral.feed("".join(self._pending))
                self._pending.clear()
                await self.view.write(text)

    async def stop(self) -> None:
        """Write what is left at once and stop streaming: the answer ends on screen whole."""
        await self._flush()
        async with self._writing:
            await self.view.write(self._neutral.flush())
            await self.view.finish()


class UserMessage(Static):
    """What the user sent, shown literally."""

    def __init__(self, text: str) -> None:
        super().__init__(Content(neutralize(text)), classes="message user")
        self.text = text

    def on_mount(self) -> None:
        self.border_title = "you"


class AssistantMessage(Vertical):
    """One answer: a streamed Markdown body, its images if any, and a line of stats under it."""

    def __init__(
        self, model_label: str, text: str = "", images: InlineImages | None = None
    ) -> None:
        super().__init__(classes="message assistant")
        self.model_label = model_label
        self.text = text
        """The answer as received (raw); the screen shows `neutralize(text)`."""
        self.images = images
        self.set_class(images is not None, WITH_IMAGES)

    def compose(self) -> ComposeResult:
        yield StreamedMarkdown(neutralize(self.text), classes="body")
        if self.images is not None:
            yield self.images
        yield Static("", classes="meta")

    def on_mount(self) -> None:
        self.border_title = neutralize(self.model_label)

    @property
    def body(self) -> StreamedMarkdown:
        """The answer's Markdown: static parts plus the streaming tail."""
        return self.query_one(StreamedMarkdown)

    def set_meta(self, text: str) -> None:
        """Stats or status under the answer (time to first token, tokens, cost)."""
        self.query_one(".meta", Static).update(Content(text))

    async def show_images(self, images: InlineImages) -> None:
        """Images that arrived with a streamed answer: between its text and its stats line."""
        self.images = images
        self.add_class(WITH_IMAGES)
        await self.mount(images, before=self.query_one(".meta"))


WITH_IMAGES = "-with-images"
"""The class of an answer holding images (laid out vertically: see transcript_marks.tcss)."""


def pretty_json(value: object) -> str:
    """Arguments or results, indented when they are JSON, as-is otherwise."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


class ToolCallCard(Vertical):
    """A tool call the model made: its name, arguments and, once run, its result."""

    def __init__(
        self,
        name: str,
        arguments: str | dict[str, Any] | None,
        result: tuple[str, bool] | None = None,
    ) -> None:
        """`result` is `(content, ok)` for a call that already ran (a resumed conversation)."""
        super().__init__(classes="message tool")
        self.tool_name = name
        self.arguments = arguments
        self.result = result

    def compose(self) -> ComposeResult:
        yield Static(Content(neutralize(pretty_json(self.arguments))), classes="arguments")
        yield Static(Content("running…"), classes="result pending")

    def on_mount(self) -> None:
        self.border_title = Content.assemble("⚙ tool ", (neutralize(self.tool_name), "bold"))
        if self.result is not None:
            self.set_result(*self.result)

    def set_result(self, content: str, ok: bool) -> None:
        """Show the result the model will receive."""
        self.result = (content, ok)
        if not self.is_mounted:
            return  # shown on mount
        result = self.query_one(".result", Static)
        result.remove_class("pending")
        result.set_class(not ok, "failed")
        result.update(Content.assemble(("→ ", "bold"), neutralize(pretty_json(content))))


class ErrorNotice(Static):
    """An error where it happened, with what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        parts: list[str | tuple[str, str]] = [("✗ ", "bold $error"), neutralize(message)]
        if hint:
            parts += ["\n", ("→ ", "bold"), neutralize(hint)]
        super().__init__(Content.assemble(*parts), classes="message error")

    @classmethod
    def of(cls, error: OGError) -> ErrorNotice:
        """The error's message and hint, read from its fields (never parsed out of the text)."""
        return cls(error_message(error), error.hint)


def error_message(error: BaseException) -> str:
    """What went wrong, without the hint that `str()` of an OGError appends (shown apart)."""
    if isinstance(error, OGError) and error.args:
        return str(error.args[0])
    return str(error)


class Notice(Static):
    """A quiet line in the transcript (stopped, new chat, resumed)."""

    def __init__(self, text: str) -> None:
        super().__init__(Content(neutralize(text)), classes="message notice")


HISTORY_BATCH = 3
"""Messages of a resumed conversation mounted at a time: the last ones first, then earlier
batches as the user scrolls to the top, or at once while the pane is not full (a 1,000-message
conversation opens as fast as a short one; every message is a tree of Markdown widgets). Three
long answers fill a 50-row terminal; six took 0.25 s more to open than the screen needs."""


class Conversation(VerticalScroll):
    """The scrolling transcript; anchored to the bottom while an answer streams."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("conversation")

    can_focus = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._earlier: list[Callable[[], Widget]] = []
        """Messages of a resumed conversation not built yet, oldest first: building a widget
        costs (a thousand unmounted ones took 0.5 s), so each is made when its batch mounts."""
        self._loading = False

    @property
    def earlier(self) -> int:
        """How many older messages are waiting above the first one shown."""
        return len(self._earlier)

    async def add(self, widget: Widget) -> None:
        """Mount a message at the end and keep the view on it."""
        await self.mount(widget)
        self.anchor()

    async def clear(self) -> None:
        """Remove every message (new chat)."""
        self._earlier = []
        await self.remove_children()

    async def show_history(
        self, messages: list[Callable[[], Widget]], batch: int = HISTORY_BATCH
    ) -> None:
        """Show a saved conversation: its last `batch` messages now, the rest on scrolling up.

        `messages` builds each message's widget when it is needed.
        """
        await self.clear()
        if len(messages) <= 2 * batch:
            batch = len(messages)  # a short conversation opens whole: nothing to load later
        self._earlier = messages[:-batch] if len(messages) > batch else []
        await self.mount_all([build() for build in messages[-batch:]])
        self._show_earlier()
        self.scroll_end(animate=False)
        self.call_after_refresh(self._fill)

    def _fill(self) -> None:
        """Load earlier batches while the shown ones do not fill the pane (nothing to scroll)."""
        if self._earlier and not self._loading and self.max_scroll_y == 0:
            self._loading = True
            self.call_later(self._load_earlier)

    def _show_earlier(self) -> None:
        count = len(self._earlier)
        self.border_subtitle = f"↑ {count:,} earlier messages: scroll up" if count else None

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 and self._earlier and not self._loading:
            self._loading = True
            self.call_after_refresh(self._load_earlier)

    async def _load_earlier(self, batch: int = HISTORY_BATCH) -> None:
        """Mount the previous batch above the first message, keeping what is shown in place."""
        try:
            first = self.children[0] if self.children else None
            chunk, self._earlier = self._earlier[-batch:], self._earlier[:-batch]
            await self.mount_all([build() for build in chunk], before=first)
            self._show_earlier()
            if first is not None:
                self.call_after_refresh(self._keep_in_view, first)
        finally:
            self._loading = False

    def _keep_in_view(self, first: Widget) -> None:
        self.scroll_to(y=first.virtual_region.y, animate=False)
        self._fill()

    def supersede_tail(self, *, with_prompt: bool) -> None:
        """Dim the last exchange (the last live prompt's answers, and the prompt itself when
        `with_prompt`): a regenerated answer or an edited prompt replaces it."""
        shown = [c for c in self.children if not c.has_class(SUPERSEDED)]
        prompts = [i for i, widget in enumerate(shown) if isinstance(widget, UserMessage)]
        start = (prompts[-1] + (0 if with_prompt else 1)) if prompts else 0
        for widget in shown[start:]:
            widget.add_class(SUPERSEDED)

    def show_found(self, widget: Widget, seconds: float = 2.5) -> None:
        """Scroll `widget` to the top of the view and highlight it for a moment (search)."""
        self.release_anchor()
        self.scroll_to_widget(widget, top=True, animate=False)
        widget.add_class(FOUND)
        self.set_timer(seconds, lambda: widget.remove_class(FOUND))


SUPERSEDED = "-superseded"
"""The class of a message that a regenerated answer or an edited prompt replaced."""
FOUND = "-found"
"""The class of the message a search opened the conversation at, for a moment."""
