"""A conversation's settings, and the one rule for where each comes from.

What a call is made with — model, settlement mode, system prompt, temperature,
max_tokens — is decided in one place for the CLI and the TUI: a value given now
(a flag, a settings panel) wins; then the persona picked for the conversation;
then what the conversation itself was saved with; then the config's defaults.
The result is saved with the session (`ChatSettings.store_on`), so a conversation
continued later, from the CLI or the TUI, goes on as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from og_chat.sdk.models import resolve_model
from og_chat.sdk.types import settlement_mode

from .config import Config
from .sessions import Session

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """Everything a conversation's calls are made with."""

    model: str
    """Full id."""
    settlement_mode: str
    max_tokens: int
    system_prompt: str | None = None
    temperature: float | None = None
    """None: the sdk's default temperature."""
    persona: str | None = None

    def store_on(self, session: Session) -> None:
        """Save these settings into `session` (written by the next `SessionStore.save`)."""
        session.model = self.model
        session.settlement_mode = self.settlement_mode
        session.max_tokens = self.max_tokens
        session.system_prompt = self.system_prompt
        session.temperature = self.temperature
        session.persona = self.persona or session.persona


def resolve_settings(
    config: Config,
    *,
    session: Session | None = None,
    persona: str | None = None,
    model: str | None = None,
    mode: str | None = None,
    system_prompt: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> ChatSettings:
    """The settings of a call: given values, then `persona`, then `session`, then `config`.

    An unknown persona or model raises a ConfigurationError naming the choices.
    """
    chosen = config.persona(persona) if persona else None
    p_model = chosen.model if chosen else None
    p_tokens = chosen.max_tokens if chosen else None
    p_system = chosen.system if chosen else None
    p_temperature = chosen.temperature if chosen else None
    s_model = session.model if session else None
    s_mode = session.settlement_mode if session else None
    s_tokens = session.max_tokens if session else None
    s_system = session.system_prompt if session else None
    s_temperature = session.temperature if session else None
    return ChatSettings(
        model=resolve_model(_first(model, p_model, s_model) or config.model).id,
        settlement_mode=settlement_mode(_first(mode, s_mode) or config.settlement_mode).value,
        max_tokens=_first(max_tokens, p_tokens, s_tokens) or config.max_tokens,
        system_prompt=_first(system_prompt, p_system, s_system) or None,
        temperature=_first(temperature, p_temperature, s_temperature),
        persona=persona or (session.persona if session else None),
    )


def _first(*values: T | None) -> T | None:
    """The first value that is set (None means: not given at this level)."""
    return next((v for v in values if v is not None), None)
