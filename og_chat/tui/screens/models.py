"""The model picker as a dialog: what F2 opens when the sidebar is folded (narrow terminals)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical

from ..host import HostModal
from ..keymap import bindings
from ..widgets.model_picker import ModelPicker


class ModelPickerScreen(HostModal):
    """The sidebar's picker (filter + list) over the chat; choosing a model closes it."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("model-picker")
    DEFAULT_CSS = """
    ModelPickerScreen #model-dialog { height: 80%; max-height: 40; width: 60; }
    ModelPickerScreen ModelPicker { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="model-dialog"):
            yield ModelPicker(self.app.model)

    def on_mount(self) -> None:
        self.query_one("#model-dialog").border_title = "Model (type to filter, Enter picks)"
        self.query_one(ModelPicker).focus_filter()

    @on(ModelPicker.Picked)
    def _picked(self, event: ModelPicker.Picked) -> None:
        event.stop()
        self.app.model = event.model.id
        self.dismiss()
