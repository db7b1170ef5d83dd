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


@dataclass(frozen=True, slots=True)
class Requested:
    """What one level (flags, a persona, a session, the config) asks for; None: not this level."""

    model: str | None = None
    mode: str | None = None
    system_prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


def resolve_settings(
    config: Config,
    given: Requested,
    persona: str | None = None,
    session: Session | None = None,
) -> ChatSettings:
    """The settings of a call: `given`, then `persona`, then `session`, then `config`.

    An unknown persona or model raises a ConfigurationError naming the choices.
    """
    levels = [given]
    chosen = config.persona(persona) if persona else None
    if chosen is not None:
        levels.append(
            Requested(chosen.model, None, chosen.system, chosen.temperature, chosen.max_tokens)
        )
    if session is not None:
        levels.append(
            Requested(session.model, session.settlement_mode, session.system_prompt,
                      session.temperature, session.max_tokens)
        )  # fmt: skip
    levels.append(Requested(config.model, config.settlement_mode, max_tokens=config.max_tokens))
    model = _first([level.model for level in levels]) or config.model
    mode = _first([level.mode for level in levels]) or config.settlement_mode
    return ChatSettings(
        model=resolve_model(model).id,
        settlement_mode=settlement_mode(mode).value,
        max_tokens=_first([level.max_tokens for level in levels]) or config.max_tokens,
        system_prompt=_first([level.system_prompt for level in levels]) or None,
        temperature=_first([level.temperature for level in levels]),
        persona=persona or (session.persona if session else None),
    )


def _first(values: list[T | None]) -> T | None:
    """The first value that is set (None means: not given at this level)."""
    return next((v for v in values if v is not None), None)
