"""Textual's Footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    """A `Footer` that skips rebuilds which would show the same keys.

    `Footer` recomposes (one new widget per key) whenever the screen *might* have
    new bindings: focus moved, or a screen was pushed or popped. That is 50–100 ms
    a time on a 2-core machine, paid on every screen change, even by the footer
    of a screen that has just been covered. This one rebuilds only while its
    screen is shown and the keys actually differ, and its keys start in the
    footer's compact state, so none is restyled twice on the way in.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[Any, ...] | None = None

    def _keys(self, screen: Screen[Any]) -> tuple[Any, ...]:
        """What the footer would show: enough to tell whether a rebuild changes anything."""
        shown = [
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for _, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show
        ]
        return (*shown, self.compact, self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and "compact" in (widget._reactive_connect or {}):
                # A key is born compact, then data-bound to ours (not compact): two
                # restyles per key, ~5 ms each. Start it in the state it is bound to.
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not (self.is_attached and screen is self.screen and screen.is_current):
            return  # covered: the screen's resume signals again when it is shown
        if not screen.app.app_focus:
            return  # as Footer does; regaining focus signals again
        keys = self._keys(screen)
        if keys == self._shown:
            return
        self._shown = keys
        super().bindings_changed(screen)
