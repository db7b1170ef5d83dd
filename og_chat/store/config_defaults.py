"""The config's defaults, importable without pydantic.

`Config` declares its fields with them, and the TUI's first frame shows them before
``config.toml`` has been read (in a thread, after that frame), so the two never disagree.
"""

from __future__ import annotations

from typing import Final

MODEL: Final = "anthropic/claude-haiku-4-5"
"""The model a new conversation uses, as its full id."""
SETTLEMENT_MODE: Final = "batch"
THEME: Final = "opengradient"
"""og-chat's own theme (themes/opengradient.toml, bundled)."""
