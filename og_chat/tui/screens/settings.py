"""Settings: theme, spend caps, keymap, and where the config and data live."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Select, Static

from ..host import HostScreen
from ..keymap import bindings, keybinding_table
from ..messages import SettingsChanged
from ..widgets.key_footer import KeyFooter
from ..workers import background
from .dialogs import AskText


class SettingsScreen(HostScreen):
    """Change what the config file holds, from inside the app."""

    CSS_PATH = "settings.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("settings")

    def compose(self) -> ComposeResult:
        app = self.app
        local = app.local
        with VerticalScroll(id="settings-body"):
            yield Static("Theme", classes="section")
            yield Select(
                [(name, name) for name in sorted(app.available_themes)],
                value=app.theme,
                allow_blank=False,
                id="theme",
            )
            yield Static("Spend caps", classes="section")
            yield DataTable(id="caps", cursor_type="row")
            yield Static("Keys (Enter on a row to remap)", classes="section")
            yield DataTable(id="keys", cursor_type="row")
            yield Static("Files", classes="section")
            with Vertical(id="paths"):
                for name, path in local.paths():
                    yield Static(Content.assemble((f"{name:<12}", "$secondary"), str(path)))
        yield KeyFooter()

    def on_mount(self) -> None:
        self.fill_caps()
        self.fill_keys()

    def fill_caps(self) -> None:
        """Spend limits and the top-up policy, as the config holds them."""
        table = self.query_one("#caps", DataTable)
        table.clear(columns=True)
        table.add_columns("setting", "value")
        for name, value in self.app.local.spend_settings():
            table.add_row(name, str(value), key=name)

    def fill_keys(self) -> None:
        """Every binding with its current keys."""
        table = self.query_one("#keys", DataTable)
        table.clear(columns=True)
        table.add_columns("action", "keys", "what it does")
        for binding_id, keys, description in keybinding_table(self.app.local.keymap):
            table.add_row(binding_id, keys, description, key=binding_id)

    @on(Select.Changed, "#theme")
    def _theme(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.app.theme:
            self.app.theme = event.value

    @on(DataTable.RowSelected, "#keys")
    def _remap(self, event: DataTable.RowSelected) -> None:
        self.remap(str(event.row_key.value))

    @on(DataTable.RowSelected, "#caps")
    def _edit_cap(self, event: DataTable.RowSelected) -> None:
        self.edit_cap(str(event.row_key.value))

    @background("Remapping a key")
    async def remap(self, binding_id: str) -> None:
        """Ask for new keys (comma-separated Textual key names) and save them to the keymap."""
        current = {b: k for b, k, _ in keybinding_table(self.app.local.keymap)}
        keys = await self.app.push_screen_wait(
            AskText(f"Keys for {binding_id}", current.get(binding_id, ""), "e.g. ctrl+s,f5")
        )
        if keys and keys.strip():
            self.app.local.set_keymap(binding_id, keys.strip())
            self.app.post_message(SettingsChanged())
            self.fill_keys()

    @background("Changing a setting")
    async def edit_cap(self, name: str) -> None:
        """Ask for a new value and write it to the config (validated by the store)."""
        current = dict(self.app.local.spend_settings()).get(name, "")
        value = await self.app.push_screen_wait(AskText(f"New value for {name}", str(current)))
        if value is None:
            return
        self.app.local.set_setting(name, value.strip())
        self.app.post_message(SettingsChanged())
        self.fill_caps()
