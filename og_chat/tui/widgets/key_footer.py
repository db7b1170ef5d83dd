"""The footer's key line, built from Textual's public API and rebuilt only when its keys change.

Textual's `Footer` recomposes (one new widget per key) whenever the screen *might* have
new bindings: focus moved, or a screen was pushed or popped. That is 50–100 ms a time on
a 2-core machine, paid on every screen change, even by the footer of a screen that has
just been covered. `KeyFooter` keeps `Footer`'s look and layout (it subclasses it) but
composes its own `FooterEntry` widgets: it rebuilds only while its screen is shown and
the keys actually differ, and each entry is born in the footer's compact state, so none
is restyled twice on the way in.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer


class FooterEntry(Widget):
    """One key and what it does; a click presses the key.

    Styled like Textual's own footer keys (the same theme variables and component
    classes), so the footer looks the same as `Footer`'s.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"footer-key--key", "footer-key--description"}
    DEFAULT_CSS = """
    FooterEntry {
        width: auto;
        height: 1;
        text-wrap: nowrap;
        background: $footer-item-background;
        .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
            padding: 0 1;
        }
        .footer-key--description {
            padding: 0 1 0 0;
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        &:hover {
            pointer: pointer;
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        &.-disabled {
            text-style: dim;
        }
        &.-compact {
            .footer-key--key {
                padding: 0;
            }
            .footer-key--description {
                padding: 0 0 0 1;
            }
        }
    }
    """

    compact: reactive[bool] = reactive(True)
    """Compact style: no padding around the key."""

    def __init__(
        self,
        binding: Binding,
        key_display: str,
        *,
        compact: bool,
        enabled: bool = True,
        tooltip: str = "",
        classes: str = "",
    ) -> None:
        super().__init__(classes=f"{classes} -disabled" if not enabled else classes)
        self.key = binding.key
        self.key_display = key_display
        self.description = binding.description
        self.enabled = enabled
        self.set_reactive(Widget.shrink, False)
        self.set_reactive(FooterEntry.compact, compact)
        self.set_class(compact, "-compact", update=False)
        if tooltip:
            self.tooltip = tooltip

    def render(self) -> Text:
        key_padding = self.get_component_styles("footer-key--key").padding
        description_padding = self.get_component_styles("footer-key--description").padding
        key = " " * key_padding.left + self.key_display + " " * key_padding.right
        key_style = self.get_component_rich_style("footer-key--key")
        if self.description:
            text = Text.assemble(
                (key, key_style),
                (
                    " " * description_padding.left
                    + self.description
                    + " " * description_padding.right,
                    self.get_component_rich_style("footer-key--description"),
                ),
            )
        else:
            text = Text.assemble((self.key_display, key_style))
        text.stylize_before(self.rich_style)
        return text

    def on_mouse_down(self) -> None:
        if self.enabled:
            self.app.simulate_key(self.key)
        else:
            self.app.bell()

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")


class KeyFooter(Footer):
    """A `Footer` that shows the screen's keys and skips rebuilds that would show the same.

    Binding groups are not drawn as groups (og-chat defines none): each action shows its
    first key, as `Footer` does for ungrouped bindings.
    """

    DEFAULT_CSS = """
    KeyFooter {
        FooterEntry.-command-palette {
            dock: right;
            border-left: vkey $foreground 20%;
        }
        &.-compact FooterEntry {
            margin-right: 1;
        }
    }
    """

    def __init__(self, *, id: str | None = None, compact: bool = False) -> None:
        super().__init__(id=id, compact=compact)
        self._shown: tuple[Any, ...] | None = None
        """What the last rebuild showed; None until the screen's bindings are known."""

    def _keys(self, screen: Screen[Any]) -> tuple[Any, ...]:
        """What the footer would show: enough to tell whether a rebuild changes anything."""
        shown = [
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for _, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show
        ]
        return (*shown, self.compact, self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE)

    def compose(self) -> ComposeResult:
        if self._shown is None:
            return
        app = self.app
        active = self.screen.active_bindings
        palette = active.get(app.COMMAND_PALETTE_BINDING)
        docked = self.show_command_palette and app.ENABLE_COMMAND_PALETTE and palette is not None
        first_of_action: dict[str, tuple[Binding, bool, str]] = {}
        for _, binding, enabled, tooltip in active.values():
            if binding.show and not (docked and binding.action == "command_palette"):
                first_of_action.setdefault(binding.action, (binding, enabled, tooltip))
        for binding, enabled, tooltip in first_of_action.values():
            yield FooterEntry(
                binding,
                app.get_key_display(binding),
                compact=self.compact,
                enabled=enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if docked and palette is not None:  # once, on the right, as Textual's Footer does
            _, binding, enabled, _tooltip = palette
            yield FooterEntry(  # like Footer's: compact, and not bound to the footer's style
                binding,
                app.get_key_display(binding),
                compact=True,
                enabled=enabled,
                tooltip=binding.tooltip or binding.description,
                classes="-command-palette",
            )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not (self.is_attached and screen is self.screen and screen.is_current):
            return  # covered: the screen's resume signals again when it is shown
        if not screen.app.app_focus:
            return  # as Footer does; regaining focus signals again
        keys = self._keys(screen)
        if keys == self._shown:
            return
        self._shown = keys
        self.call_after_refresh(self.recompose)
