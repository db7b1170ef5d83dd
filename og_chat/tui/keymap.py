"""Every key binding of og-chat in one table: id, default keys, action, description, tooltip.

The App, each screen and widget take their `BINDINGS` from here (`bindings("chat")`), the
settings screen and the README's key table list `keybinding_table()`, and the config's
`[keymap]` remaps a row by its id (Textual's `App.set_keymap`). A new key is one row here,
so what the footer shows, what the palette offers and what the docs say cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding, BindingType

Owner = Literal[
    "app",
    "chat",
    "prompt",
    "conversation",
    "models",
    "model-picker",
    "code",
    "sessions",
    "receipts",
    "receipt",
    "wallet",
    "settings",
    "compare",
    "chat-settings",
    "personas",
    "search",
    "table",
    "ask",
    "confirm",
]
"""Where a key is bound: the App, a screen (`chat` is the main screen) or a widget."""


@dataclass(frozen=True, slots=True)
class Key:
    """One binding: the row of the table and the Textual `Binding` built from it."""

    on: Owner
    id: str
    """What the config's `[keymap]` names to remap it."""
    keys: str
    """Default keys, comma-separated Textual key names."""
    action: str
    description: str
    """The footer's and the palette's label."""
    tooltip: str
    """What it does, in a sentence: the settings screen, the README and the footer's tooltip."""
    show: bool = True
    """Shown in the footer."""
    priority: bool = False
    """Checked before the focused widget's own keys."""
    palette: bool = True
    """Offered in the command palette (main-screen keys only)."""
    listed: bool = True
    """In the settings screen's and the README's key table (dialog answers and the receipt
    table's cursor keys are not: they stay the same everywhere)."""

    def binding(self) -> Binding:
        """The Textual binding for this row."""
        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            id=self.id,
            tooltip=self.tooltip,
        )


BACK = "Back to the chat."

KEYS: tuple[Key, ...] = (
    Key(
        "app", "quit", "ctrl+q", "quit", "Quit",
        "Quit og-chat (the draft and the conversation are saved).", priority=True,
    ),
    Key(
        "app", "app.palette", "ctrl+p", "command_palette", "Commands",
        "Search and run any action.", priority=True,
    ),
    Key("chat", "app.receipts", "ctrl+r", "app.open_receipts", "Receipts",
        "Browse, filter, verify and export every receipt."),
    Key("chat", "chat.help", "f1", "toggle_help", "Help",
        "Show or hide the keys of what has focus, with what each does."),
    Key("chat", "chat.toggle_receipts", "f5", "toggle_receipts", "Panel",
        "Show or hide the receipts panel beside the conversation."),
    Key("chat", "app.sessions", "ctrl+o", "app.open_sessions", "Sessions",
        "Browse, resume, rename, delete and export conversations."),
    Key("chat", "chat.new", "ctrl+n", "new_chat", "New chat",
        "Save this conversation and start a new one."),
    Key("chat", "chat.stop", "escape", "stop", "Stop",
        "Stop the answer that is streaming (the partial answer is kept).", show=False),
    Key("chat", "models.focus", "f2", "focus_models", "Models",
        "Choose the model: the sidebar's filter, or a picker when the sidebar is folded.",
        show=False),
    Key("chat", "models.next_provider", "f3", "next_provider", "Next provider",
        "Switch to the closest model of the next provider."),
    Key("chat", "models.previous_provider", "shift+f3", "previous_provider", "Prev provider",
        "Switch to the closest model of the previous provider.", show=False),
    Key("chat", "chat.cycle_mode", "ctrl+t", "cycle_mode", "Mode",
        "Cycle the settlement mode: private, batch, individual.", show=False),
    Key("chat", "app.wallet", "ctrl+b", "app.open_wallet", "Wallet",
        "Wallet address, balances, allowance and top-up.", show=False),
    Key("chat", "app.compare", "f4", "app.open_compare", "Compare",
        "Send one prompt to 2–4 models side by side."),
    Key("chat", "app.settings", "f9", "app.open_settings", "Settings",
        "Theme, spend caps, keymap and file paths."),
    Key("chat", "copy.answer", "alt+c", "copy_answer", "Copy answer",
        "Copy the last answer to the clipboard (OSC 52).", show=False),
    Key("chat", "copy.code", "alt+k", "copy_code", "Copy code",
        "Copy a code block of the last answer, or save it to a file.", show=False),
    Key("chat", "copy.save_answer", "alt+s", "save_answer", "Save answer",
        "Write the last answer to a Markdown file.", show=False),
    Key("chat", "chat.toggle_tools", "alt+t", "toggle_tools", "Tools",
        "Offer the built-in tools (price, time) to the model, or not.", show=False),
    Key("chat", "chat.settings", "f8", "chat_settings", "Chat settings",
        "This conversation's system prompt, temperature, max tokens, mode and model.",
        show=False),
    Key("chat", "app.search", "ctrl+f", "app.open_search", "Search",
        "Search every conversation and receipt; Enter opens the one found.", show=False),
    Key("chat", "chat.edit_last", "alt+e", "edit_last_prompt", "Edit last prompt",
        "Put the last prompt back in the prompt; sending it replaces the last exchange "
        "(the old one is kept, marked superseded).", show=False),
    Key("chat", "chat.regenerate", "alt+r", "regenerate", "Regenerate",
        "Ask for the last answer again: a new paid call with its own receipt; both answers "
        "are kept.", show=False),
    Key("chat", "chat.save_image", "alt+i", "save_image", "Save image",
        "Write the last answer's images to files in the exports directory.", show=False),
    Key("chat", "conversation.page_up", "pageup", "scroll_page(-1)", "Page up",
        "Scroll the conversation up a page.", show=False, priority=True, palette=False),
    Key("chat", "conversation.page_down", "pagedown", "scroll_page(1)", "Page down",
        "Scroll the conversation down a page.", show=False, priority=True, palette=False),
    Key("prompt", "chat.send", "enter", "submit", "Send", "Send the prompt."),
    Key("prompt", "chat.newline", "ctrl+j", "newline", "Newline",
        "Insert a newline in the prompt.", show=False),
    Key("prompt", "prompt.history_back", "up", "history(-1)", "Earlier prompt",
        "In an empty prompt: the previous prompt (this conversation's, then older ones).",
        show=False),
    Key("prompt", "prompt.history_forward", "down", "history(1)", "Later prompt",
        "While walking earlier prompts: the next newer one (past the newest: empty).",
        show=False),
    Key("conversation", "conversation.top", "g,home", "scroll_home", "Top",
        "Scroll to the first message.", show=False),
    Key("conversation", "conversation.bottom", "G,end", "scroll_end", "Bottom",
        "Scroll to the latest message.", show=False),
    Key("conversation", "conversation.down", "j,down", "scroll_down", "Down",
        "Scroll down a line.", show=False),
    Key("conversation", "conversation.up", "k,up", "scroll_up", "Up",
        "Scroll up a line.", show=False),
    Key("models", "models.clear", "escape", "clear_filter", "Clear filter",
        "Clear the model filter.", show=False),
    Key("model-picker", "models.close", "escape", "dismiss", "Close",
        "Close the model picker without changing the model.", priority=True),
    Key("code", "code.close", "escape", "dismiss", "Close", "Close without copying."),
    Key("code", "code.save", "w", "save", "Save to file",
        "Write the highlighted code block to a file."),
    Key("sessions", "sessions.back", "escape", "app.pop_screen", "Back", BACK),
    Key("sessions", "sessions.rename", "f2", "rename", "Rename",
        "Rename the highlighted conversation."),
    Key("sessions", "sessions.delete", "f8", "delete", "Delete",
        "Delete the highlighted conversation (asks first)."),
    Key("sessions", "sessions.export", "f5", "export", "Export Markdown",
        "Write the highlighted conversation to a Markdown file."),
    Key("receipts", "receipts.back", "escape", "app.pop_screen", "Back", BACK),
    Key("receipts", "receipts.filter", "slash", "focus_filter", "Filter",
        "Filter by model, provider, mode, status and date."),
    Key("receipts", "receipts.export_json", "f5", "export('json')", "Export JSON",
        "Write the shown receipts to a JSON file."),
    Key("receipts", "receipts.export_csv", "f6", "export('csv')", "Export CSV",
        "Write the shown receipts to a CSV file."),
    Key("receipt", "receipt.close", "escape", "dismiss", "Close", "Close the receipt."),
    Key("receipt", "receipt.verify", "v", "verify", "Re-verify",
        "Check the TEE signature, hashes and the payment on-chain again."),
    Key("receipt", "receipt.export", "x", "export", "Export JSON",
        "Write this receipt to a JSON file."),
    Key("wallet", "wallet.close", "escape", "dismiss", "Close", BACK),
    Key("wallet", "wallet.refresh", "r", "refresh_wallet", "Refresh",
        "Read balances and allowance again."),
    Key("wallet", "wallet.top_up", "t", "top_up", "Top up",
        "Approve more OPG for Permit2 (asks first on mainnet)."),
    Key("settings", "settings.back", "escape", "app.pop_screen", "Back", BACK),
    Key("compare", "compare.back", "escape", "back", "Back / stop",
        "Stop the answers if they are streaming, else go back to the chat."),
    Key("compare", "compare.models", "f2", "focus_models", "Models",
        "Choose which models to compare (Enter toggles)."),
    Key("chat-settings", "chat_settings.cancel", "escape", "dismiss(False)", "Cancel",
        "Close without changing this conversation's settings."),
    Key("chat-settings", "chat_settings.save", "ctrl+s", "save", "Save",
        "Apply the settings to this conversation (saved with it)."),
    Key("personas", "personas.cancel", "escape", "dismiss(None)", "Cancel",
        "Do not start a new conversation."),
    Key("search", "search.back", "escape", "app.pop_screen", "Back", BACK),
    Key("search", "search.results", "down", "focus_results", "Results",
        "Move from the search box to the results.", show=False),
    Key("table", "table.up", "up,k", "cursor(-1)", "Up", "Move to the row above.",
        show=False, listed=False),
    Key("table", "table.down", "down,j", "cursor(1)", "Down", "Move to the row below.",
        show=False, listed=False),
    Key("table", "table.page_up", "pageup", "page(-1)", "Page up", "Move up a page of rows.",
        show=False, listed=False),
    Key("table", "table.page_down", "pagedown", "page(1)", "Page down",
        "Move down a page of rows.", show=False, listed=False),
    Key("table", "table.first", "home,g", "jump(0)", "First", "Move to the first row.",
        show=False, listed=False),
    Key("table", "table.last", "end,G", "jump(-1)", "Last", "Move to the last row.",
        show=False, listed=False),
    Key("table", "table.select", "enter", "select", "Details", "Open the highlighted row.",
        listed=False),
    Key("ask", "dialog.cancel", "escape", "dismiss(None)", "Cancel",
        "Close without changing anything.", listed=False),
    Key("confirm", "dialog.no", "escape,n", "dismiss(False)", "No", "Do not do it.",
        listed=False),
    Key("confirm", "dialog.yes", "y", "dismiss(True)", "Yes", "Do it.", listed=False),
)  # fmt: skip
"""Every binding, in the order the footer, the palette and the key table show them."""


def keys_on(owner: Owner) -> list[Key]:
    """The rows bound on one App, screen or widget, in table order."""
    return [key for key in KEYS if key.on == owner]


def bindings(owner: Owner) -> list[BindingType]:
    """`BINDINGS` for one App, screen or widget."""
    return [key.binding() for key in keys_on(owner)]


def keys_of(binding_id: str, keymap: Mapping[str, str] | None = None) -> str:
    """The keys a binding has (the config's `keymap` applied), for text that names them."""
    default = next(key.keys for key in KEYS if key.id == binding_id)
    return (keymap or {}).get(binding_id, default)


def keybinding_table(keymap: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """Every listed binding as `(id, keys, tooltip)`, with the config's `keymap` applied.

    The settings screen shows this and the README's key table must name every id in it.
    """
    keymap = keymap or {}
    return [(key.id, keymap.get(key.id, key.keys), key.tooltip) for key in KEYS if key.listed]
