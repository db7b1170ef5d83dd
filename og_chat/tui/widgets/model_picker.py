"""The model sidebar: every catalogue model grouped by provider, filtered as you type."""

from __future__ import annotations

import re
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.events import Key
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from og_chat.sdk.models import CATALOGUE, PROVIDERS, ModelInfo, models_by_provider

from ..keymap import bindings

_SMALL = {"mini", "nano", "flash", "lite", "fast", "haiku", "70b", "code"}
_LARGE = {"pro", "opus", "405b", "o3", "4", "5"}


def _tier(info: ModelInfo) -> int:
    """0 small, 1 mid, 2 large: a rough size class used to find a model's nearest peer."""
    words = set(re.split(r"[-.\s]", info.name.lower()))
    if words & _SMALL:
        return 0
    if words & {"pro", "opus", "405b"}:
        return 2
    return 1


def closest_model(current: ModelInfo, provider: str) -> ModelInfo:
    """The model of `provider` most like `current`: same kind of output, size, tools, reasoning.

    Ties go to the model at the same relative position in the provider's list,
    so stepping through providers keeps the user near where they were.
    """
    candidates = models_by_provider().get(provider) or []
    if not candidates:
        return current
    own = models_by_provider().get(current.provider) or [current]
    position = own.index(current) / max(len(own) - 1, 1) if current in own else 0.0

    def score(pair: tuple[int, ModelInfo]) -> tuple[int, float]:
        index, info = pair
        mismatch = (
            4 * (info.image_output != current.image_output)
            + 2 * abs(_tier(info) - _tier(current))
            + (info.reasoning != current.reasoning)
            + (info.tools != current.tools)
        )
        relative = index / max(len(candidates) - 1, 1)
        return mismatch, abs(relative - position)

    return min(enumerate(candidates), key=score)[1]


def step_provider(current: ModelInfo, step: int) -> ModelInfo:
    """The closest model in the next (`step=1`) or previous (`-1`) provider, wrapping."""
    providers = [p for p, models in models_by_provider().items() if models]
    index = providers.index(current.provider) if current.provider in providers else 0
    return closest_model(current, providers[(index + step) % len(providers)])


def _prompt(info: ModelInfo) -> Content:
    badges = []
    if info.tools:
        badges.append(("⚒", "$success"))
    if info.reasoning:
        badges.append(("✦", "$warning"))
    if info.image_output:
        badges.append(("▣", "$accent"))
    parts: list[tuple[str, str] | str] = [info.display_name]
    if badges:
        parts.append(" ")
        parts.extend(badges)
    return Content.assemble(*parts)


def _matches(info: ModelInfo, words: list[str]) -> bool:
    haystack = f"{info.id} {info.display_name} {info.provider_name} {info.badges}".lower()
    return all(word in haystack for word in words)


class ModelPicker(Vertical):
    """A filter box over an `OptionList` of models, with provider headings."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("models")

    class Picked(Message):
        """The user chose a model."""

        def __init__(self, model: ModelInfo) -> None:
            self.model = model
            super().__init__()

    selected: reactive[str] = reactive("", init=False)
    """Full id of the model calls go to."""

    def __init__(self, selected: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.set_reactive(ModelPicker.selected, selected)

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter models…", id="model-filter")
        yield OptionList(id="model-list")

    def on_mount(self) -> None:
        self.border_title = "Models"
        self.refill()

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#model-list", OptionList)

    def refill(self, text: str = "") -> None:
        """Rebuild the list for a filter; highlight the selected model if it is shown."""
        words = text.lower().split()
        options: list[Option | None] = []
        for provider, models in models_by_provider().items():
            shown = [m for m in models if _matches(m, words)]
            if not shown:
                continue
            if options:
                options.append(None)
            heading = Content.styled(PROVIDERS.get(provider, provider), "bold $secondary")
            options.append(Option(heading, id=f"provider:{provider}", disabled=True))
            options.extend(Option(_prompt(m), id=m.id) for m in shown)
        option_list = self.option_list
        option_list.set_options(options)
        self._highlight_selected()

    def _highlight_selected(self) -> None:
        option_list = self.option_list
        try:
            option_list.highlighted = option_list.get_option_index(self.selected)
        except Exception:  # the selected model is filtered out: highlight the first model
            for index, option in enumerate(option_list.options):
                if not option.disabled:
                    option_list.highlighted = index
                    break

    def watch_selected(self) -> None:
        self._highlight_selected()
        self.option_list.refresh()

    @on(Input.Changed, "#model-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.refill(event.value)

    @on(Input.Submitted, "#model-filter")
    def _submit_filter(self) -> None:
        option_list = self.option_list
        if option_list.highlighted is not None:
            option = option_list.get_option_at_index(option_list.highlighted)
            if option.id in CATALOGUE:
                self._pick(option.id)

    @on(OptionList.OptionSelected, "#model-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id in CATALOGUE:
            self._pick(event.option.id)

    def _pick(self, model_id: str) -> None:
        self.selected = model_id
        self.post_message(self.Picked(CATALOGUE[model_id]))

    def on_key(self, event: Key) -> None:
        """Down/up in the filter box move through the list, so typing and picking are one motion."""
        if self.query_one("#model-filter").has_focus:
            if event.key == "down":
                self.option_list.action_cursor_down()
                event.stop()
            elif event.key == "up":
                self.option_list.action_cursor_up()
                event.stop()

    def action_clear_filter(self) -> None:
        self.query_one("#model-filter", Input).value = ""

    def focus_filter(self) -> None:
        """Focus the filter box (F2)."""
        self.query_one("#model-filter", Input).focus()
