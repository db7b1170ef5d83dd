"""A conversation's settings: the panel (F8), its palette commands, and the persona picker.

What a call is made with — system prompt, temperature, max_tokens, settlement mode, model —
belongs to the conversation: it is shown in the conversation's title, changed here, and
saved with the session (`LocalState.save_session`). A persona (`[personas.NAME]`) is
picked when a conversation starts; its values fill the panel's fields, which stay
editable. Numbers are checked by the store's own bounds (`LocalState.read_chat_numbers`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from og_chat.app.sanitize import neutralize
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.models import CATALOGUE
from og_chat.sdk.types import DEFAULT_TEMPERATURE, SETTLEMENT_MODES

from ..chat import ChatState
from ..keymap import bindings

if TYPE_CHECKING:  # pydantic: loaded after the first frame (deferred.py)
    from og_chat.store.config import Persona

    from ..host import HostApp

FIELDS = {
    "system_prompt": ("system prompt", "#cs-system"),
    "temperature": ("temperature", "#cs-temperature"),
    "max_tokens": ("max tokens", "#cs-max-tokens"),
    "mode": ("settlement mode", "#cs-mode"),
    "model": ("model", "#cs-model"),
}
"""Field → (what the palette calls it, the panel's widget for it)."""
SYSTEM_SHOWN = 24
"""Characters of the system prompt the conversation's title shows."""


def settings_line(chat: ChatState, mode: str, default_max_tokens: int | None) -> str:
    """The compact line of a conversation's settings, for its title.

    `· batch · temp 0.7 · max 800 · system “You are terse…” · persona reviewer`; a value
    the conversation does not set shows the default it gets.
    """
    temperature = chat.temperature if chat.temperature is not None else DEFAULT_TEMPERATURE
    parts = [mode, f"temp {temperature:g}"]
    max_tokens = chat.max_tokens or default_max_tokens
    if max_tokens:
        parts.append(f"max {max_tokens}")
    if chat.system_prompt:
        first = " ".join(chat.system_prompt.split())
        shown = first if len(first) <= SYSTEM_SHOWN else first[: SYSTEM_SHOWN - 1] + "…"
        parts.append(f"system “{neutralize(shown)}”")
    if chat.persona:
        parts.append(f"persona {neutralize(chat.persona)}")
    return " · ".join(parts)


def _model_options(current: str) -> list[tuple[str, str]]:
    options = [(f"{info.display_name}  ({model_id})", model_id) for model_id, info in
               sorted(CATALOGUE.items())]  # fmt: skip
    if current and current not in CATALOGUE:
        options.insert(0, (f"{neutralize(current)}  (not in the catalogue)", current))
    return options


class ChatSettingsScreen(ModalScreen[bool]):
    """The settings of the conversation shown: Save writes them into it and dismisses with
    True (the caller saves the session and lets the App's model and mode follow)."""

    CSS_PATH = "chat_settings.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("chat-settings")

    if TYPE_CHECKING:
        app: HostApp

    def __init__(self, chat: ChatState, mode: str, focus: str = "") -> None:
        super().__init__()
        self.chat = chat
        self.mode = mode
        self.focus_field = focus if focus in FIELDS else "system_prompt"

    def compose(self) -> ComposeResult:
        chat = self.chat
        local = self.app.local
        with VerticalScroll(classes="dialog", id="chat-settings"):
            personas = local.personas
            if personas:
                yield Static("Persona (fills in the fields below)", classes="field-label")
                yield Select(
                    [(neutralize(name), name) for name in sorted(personas)],
                    prompt="none",
                    value=chat.persona if chat.persona in personas else Select.NULL,
                    id="cs-persona",
                    compact=True,
                )
            yield Static("Model", classes="field-label")
            yield Select(
                _model_options(chat.model),
                value=chat.model or Select.NULL,
                id="cs-model",
                compact=True,
            )
            yield Static("Settlement mode", classes="field-label")
            modes = [(mode, mode) for mode in SETTLEMENT_MODES]
            yield Select(modes, value=self.mode, allow_blank=False, id="cs-mode", compact=True)
            numbers = [
                ("Temperature (0–2)", chat.temperature, f"{DEFAULT_TEMPERATURE:g}", "temperature"),
                (
                    "Max tokens",
                    chat.max_tokens,
                    f"{local.config.max_tokens} (config)",
                    "max-tokens",
                ),
            ]
            with Horizontal(id="cs-numbers"):
                for label, value, default, name in numbers:
                    with Vertical():
                        yield Static(label, classes="field-label")
                        yield Input(
                            _shown(value),
                            placeholder=f"default: {default}",
                            id=f"cs-{name}",
                            compact=True,
                        )
            yield Static("System prompt (sent first on every call)", classes="field-label")
            yield TextArea(
                chat.system_prompt or "", id="cs-system", tab_behavior="focus", soft_wrap=True
            )
            yield Static("", id="cs-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cs-cancel")
                yield Button("Save (ctrl+s)", id="cs-save", variant="primary")

    def on_mount(self) -> None:
        box = self.query_one("#chat-settings")
        box.border_title = f"Settings of “{neutralize(self.chat.title)}”"
        self.query_one(FIELDS[self.focus_field][1]).focus()

    @on(Select.Changed, "#cs-persona")
    def _persona_picked(self, event: Select.Changed) -> None:
        """A persona's values fill the fields (the store's rule: the persona over the chat)."""
        if not isinstance(event.value, str) or event.value == self.chat.persona:
            return
        model = self.query_one("#cs-model", Select).value
        mode = self.query_one("#cs-mode", Select).value
        picked = self.app.local.with_persona(
            ChatState(model=model if isinstance(model, str) else ""),
            event.value,
            mode if isinstance(mode, str) else self.mode,
        )
        if picked.model:
            self.query_one("#cs-model", Select).value = picked.model
        self.query_one("#cs-mode", Select).value = picked.mode or self.mode
        self.query_one("#cs-temperature", Input).value = _shown(picked.temperature)
        self.query_one("#cs-max-tokens", Input).value = _shown(picked.max_tokens)
        self.query_one("#cs-system", TextArea).load_text(picked.system_prompt or "")

    @on(Button.Pressed, "#cs-cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#cs-save")
    @on(Input.Submitted)
    def _save_asked(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        """Check the numbers; write the settings into the chat, or say what is wrong and stay."""
        try:
            temperature, max_tokens = self.app.local.read_chat_numbers(
                self.query_one("#cs-temperature", Input).value,
                self.query_one("#cs-max-tokens", Input).value,
            )
        except ConfigurationError as error:
            self.query_one("#cs-error", Static).update(
                Content.assemble(("✗ ", "bold $error"), str(error.args[0]), f" — {error.hint}")
            )
            return
        model = self.query_one("#cs-model", Select).value
        mode = self.query_one("#cs-mode", Select).value
        personas = self.query("#cs-persona").results(Select)
        persona = next((select.value for select in personas), None)
        chat = self.chat
        chat.model = model if isinstance(model, str) else chat.model
        chat.mode = mode if isinstance(mode, str) else self.mode
        chat.system_prompt = self.query_one("#cs-system", TextArea).text.strip() or None
        chat.temperature = temperature
        chat.max_tokens = max_tokens
        chat.persona = persona if isinstance(persona, str) else None
        self.dismiss(True)


def _shown(value: float | int | None) -> str:
    """A number as the panel shows it ("" when not set)."""
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class PersonaPicker(ModalScreen[str | None]):
    """Which persona a new conversation starts with: a name, "" for none, None to cancel."""

    CSS_PATH = "chat_settings.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("personas")

    def __init__(self, personas: dict[str, Persona]) -> None:
        super().__init__()
        self.personas = personas

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog small", id="personas"):
            options = [Option(Content.assemble(("No persona", "bold")), id="")]
            for name in sorted(self.personas):
                options.append(Option(_persona_line(name, self.personas[name]), id=name))
            yield OptionList(*options, id="persona-list")

    def on_mount(self) -> None:
        self.query_one("#personas").border_title = "New chat: start with a persona?"
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")


def _persona_line(name: str, persona: Persona) -> Content:
    """A persona in the picker: its name, then what it sets."""
    facts = [persona.model or "", f"temp {persona.temperature:g}" if persona.temperature is not None
             else "", f"max {persona.max_tokens}" if persona.max_tokens else ""]  # fmt: skip
    system = " ".join((persona.system or "").split())
    if system:
        facts.append(f"“{system[:60]}{'…' if len(system) > 60 else ''}”")
    return Content.assemble(
        (neutralize(name), "bold"), "\n", (neutralize(" · ".join(f for f in facts if f)), "dim")
    )


def palette_commands(
    open_field: Callable[[str], object],
    start_with: Callable[[str], object],
    personas: Iterable[str],
) -> Iterable[SystemCommand]:
    """The palette's settings commands: one per field (opens the panel there), one per
    persona (starts a new conversation with it)."""
    for field, (label, _widget) in FIELDS.items():
        yield SystemCommand(
            f"Chat settings: {label}",
            f"Change this conversation's {label}.",
            lambda field=field: open_field(field),
        )
    for name in sorted(personas):
        yield SystemCommand(
            f"New chat with persona {neutralize(name)}",
            "Save this conversation and start one with this persona's settings.",
            lambda name=name: start_with(name),
        )
