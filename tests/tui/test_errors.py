"""Errors on screen come from the error's fields: its message, then its hint on its own line."""

from __future__ import annotations

from typing import Any

from og_chat.sdk.errors import StreamInterrupted
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.tui.app import OGChatApp
from og_chat.tui.widgets.conversation import ErrorNotice, error_message

from .conftest import wait_until


def _text(widget: Any) -> str:
    return str(widget.render())


def test_the_message_is_read_without_the_hint() -> None:
    error = StreamInterrupted("connection lost", partial_text="abc")
    assert str(error).endswith(error.hint)  # the CLI prints message + hint
    assert error_message(error) == "stream interrupted after 3 characters: connection lost"
    assert error_message(ValueError("plain")) == "plain"


async def test_a_runtime_that_cannot_open_says_why_and_what_to_do() -> None:
    app = OGChatApp(NetworkRequest("mainnet"))  # no key anywhere: the runtime refuses to open
    async with app.run_test(size=(160, 40)) as pilot:
        main = app.main_screen
        assert main is not None
        await wait_until(pilot, lambda: bool(main.query(ErrorNotice)), what="startup error")
        startup = _text(main.query_one(ErrorNotice))
        assert startup.startswith("✗ could not start: mainnet needs a wallet key")
        assert startup.splitlines()[-1].startswith("→ set OG_PRIVATE_KEY")
        assert "  → " not in startup  # the hint is a field, not text glued to the message
