"""Earlier prompts, walked with up/down from an empty prompt (a shell's history, for chat).

The walk starts only from an empty prompt, so up/down never throw away something being
typed; it goes on while the prompt still shows the entry it put there, unedited. The
entries are this conversation's prompts, newest first, then those of older
conversations; a prompt sent twice in a row is one entry.
"""

from __future__ import annotations

from collections.abc import Callable

Source = Callable[[], list[str]]
"""Returns the prompts to walk, newest first (read when a walk starts)."""


class PromptHistory:
    """Where a walk through earlier prompts is, and what it last put in the prompt."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._entries: list[str] = []
        self._position = -1
        """Index into `_entries` of what the prompt shows; -1: not walking."""

    @property
    def walking(self) -> bool:
        return self._position >= 0

    def showing(self, text: str) -> bool:
        """True while the prompt holds the entry the walk put there, unedited."""
        return self.walking and self._entries[self._position] == text

    def can_walk(self, text: str) -> bool:
        """Up/down walk (rather than move the cursor) from an empty prompt or an unedited entry."""
        return not text or self.showing(text)

    def back(self, text: str) -> str | None:
        """The next older entry, or None when there is none (the prompt stays as it is)."""
        if not self.showing(text):
            self._entries = _without_repeats(self.source())
            self._position = -1
        if self._position + 1 >= len(self._entries):
            return None
        self._position += 1
        return self._entries[self._position]

    def forward(self, text: str) -> str | None:
        """The next newer entry; "" past the newest (back to an empty prompt); None if not walking."""
        if not self.showing(text):
            self.reset()
            return None
        self._position -= 1
        return self._entries[self._position] if self._position >= 0 else ""

    def reset(self) -> None:
        """Forget the walk (a prompt was sent, or another conversation is shown)."""
        self._entries = []
        self._position = -1


def _without_repeats(prompts: list[str]) -> list[str]:
    """Consecutive repeats of a prompt collapse into one entry."""
    out: list[str] = []
    for prompt in prompts:
        if prompt and (not out or out[-1] != prompt):
            out.append(prompt)
    return out
