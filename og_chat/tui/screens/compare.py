"""Compare: one prompt to 2–4 models at once, answers streaming side by side."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from og_chat.sdk.models import CATALOGUE, PROVIDERS, models_by_provider, resolve_model
from og_chat.sdk.opg import opg_display

from ..amounts import cost_of
from ..chat import new_conversation_id
from ..host import HostScreen
from ..keymap import bindings
from ..widgets.conversation import ThrottledStream, error_message
from ..widgets.key_footer import KeyFooter
from ..widgets.model_picker import step_provider
from ..widgets.streamed_markdown import StreamedMarkdown

MAX_MODELS = 4


def default_lineup(model: str, count: int = 3) -> list[str]:
    """The current model plus the closest models of the next providers."""
    current = resolve_model(model)
    lineup = [current.id]
    probe = current
    while len(lineup) < count:
        probe = step_provider(probe, 1)
        if probe.id in lineup:
            break
        lineup.append(probe.id)
    return lineup


class CompareColumn(Vertical):
    """One model's answer with its numbers: TTFT, tokens/s, tokens, cost, receipt."""

    def __init__(self, model: str) -> None:
        super().__init__(classes="column")
        self.model = model

    def compose(self) -> ComposeResult:
        yield Static(Content("waiting…"), classes="stats")
        with VerticalScroll(classes="answer"):
            yield StreamedMarkdown()

    def on_mount(self) -> None:
        info = CATALOGUE.get(self.model)
        self.border_title = info.display_name if info else self.model

    def set_stats(self, text: str) -> None:
        self.query_one(".stats", Static).update(Content(text))


class CompareScreen(HostScreen):
    """Pick 2–4 models on the left, type a prompt, and watch them race."""

    CSS_PATH = "compare.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("compare")

    def __init__(self, model: str) -> None:
        """Start from `model` and the closest models of the next providers."""
        super().__init__()
        self.lineup = default_lineup(model)

    def compose(self) -> ComposeResult:
        with Horizontal(id="compare-body"):
            yield OptionList(id="compare-models")
            yield Horizontal(id="columns")
        yield Input(placeholder="One prompt for every model… (Enter sends)", id="compare-prompt")
        yield KeyFooter()

    async def on_mount(self) -> None:
        self.query_one("#compare-models").border_title = "Models (Enter toggles)"
        self._fill_models()
        await self._build_columns()
        self.query_one("#compare-prompt").focus()

    def _fill_models(self) -> None:
        options: list[Option | None] = []
        for provider, models in models_by_provider().items():
            if options:
                options.append(None)
            options.append(
                Option(Content.styled(PROVIDERS.get(provider, provider), "bold"), disabled=True)
            )
            for info in models:
                mark = "✓ " if info.id in self.lineup else "  "
                options.append(Option(Content(mark + info.display_name), id=info.id))
        option_list = self.query_one("#compare-models", OptionList)
        highlighted = option_list.highlighted
        option_list.set_options(options)
        if highlighted is not None:
            option_list.highlighted = highlighted

    async def _build_columns(self) -> None:
        columns = self.query_one("#columns", Horizontal)
        await columns.remove_children()
        await columns.mount_all(CompareColumn(model) for model in self.lineup)

    @on(OptionList.OptionSelected, "#compare-models")
    async def _toggle(self, event: OptionList.OptionSelected) -> None:
        model = event.option.id
        if model is None:
            return
        if model in self.lineup:
            if len(self.lineup) <= 2:
                self.notify("Compare needs at least two models.", severity="warning")
                return
            self.lineup.remove(model)
        else:
            if len(self.lineup) >= MAX_MODELS:
                self.notify(f"At most {MAX_MODELS} models at once.", severity="warning")
                return
            self.lineup.append(model)
        self._fill_models()
        await self._build_columns()

    def action_focus_models(self) -> None:
        self.query_one("#compare-models").focus()

    def action_back(self) -> None:
        if not self.stop_workers("compare"):
            self.app.pop_screen()

    @on(Input.Submitted, "#compare-prompt")
    async def _send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text or self.running("compare"):
            return
        await self._build_columns()
        conversation_id = new_conversation_id()
        for column in self.query(CompareColumn):
            self.run_worker(
                self._stream(column, text, conversation_id),
                group="compare",
                exit_on_error=False,
                description=f"Compare {column.model}",
            )

    async def _stream(self, column: CompareColumn, text: str, conversation_id: str) -> None:
        """Stream one model's answer into its column and keep its numbers up to date."""
        app = self.app
        column.set_stats("waiting for the runtime…")
        await app.wait_for_backend()
        column.query_one(VerticalScroll).anchor()
        stream = ThrottledStream(column.query_one(StreamedMarkdown))
        started = time.monotonic()
        first: float | None = None
        tokens = 0
        receipt = None
        state = "streaming"
        column.set_stats("waiting for the first token…")
        try:
            async for chunk in app.backend.opened.stream_chat(
                column.model,
                [{"role": "user", "content": text}],
                mode=app.mode,
                conversation_id=conversation_id,
            ):
                for choice in chunk.choices:
                    if choice.delta.content:
                        if first is None:
                            first = time.monotonic() - started
                        tokens += 1
                        await stream.write(choice.delta.content)
                if chunk.usage is not None:
                    tokens = chunk.usage.completion_tokens or tokens
                if chunk.receipt is not None:
                    receipt = chunk.receipt
                    app.show_receipt(receipt)
            state = "done"
        except asyncio.CancelledError:
            state = "stopped"
            raise
        except Exception as error:
            state = "failed: " + error_message(error).partition("\n")[0]
            raise
        finally:
            await stream.stop()
            elapsed = time.monotonic() - started
            parts = [f"TTFT {first:.2f} s" if first is not None else "TTFT —"]
            parts.append(f"{tokens / elapsed:,.0f} tok/s" if tokens and elapsed > 0 else "— tok/s")
            parts.append(f"{tokens} tok")
            if receipt is not None:
                parts.append(f"{opg_display(cost_of(receipt))} OPG")
                parts.append(f"receipt {receipt.id[:10]}")
            if state != "done":
                parts.append(state)
            column.set_stats(" · ".join(parts))
