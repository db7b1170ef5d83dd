"""A renamed conversation keeps its name, and messages keep their own times (issue 13, item 5)."""

from __future__ import annotations

import time

from og_chat.tui.app import OGChatApp
from og_chat.tui.screens.main import MainScreen

from .conftest import wait_until


async def test_a_renamed_conversation_keeps_its_name_and_messages_their_times() -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        main = app.screen
        assert isinstance(main, MainScreen)
        chat = main.chat
        chat.add({"role": "user", "content": "first question"})
        chat.add({"role": "assistant", "content": "first answer", "model": chat.model})
        app.save_session(chat)
        first = app.local.load_session(chat.id).messages
        stamps = [m["created_at"] for m in first]

        # what the sessions screen does on F2 (rename), for the conversation on screen
        app.local.rename_session(chat.id, "Renamed by hand")
        app.conversation_renamed(chat.id, "Renamed by hand")
        await pilot.pause()
        assert "Renamed by hand" in str(main.query_one("#conversation").border_title)

        time.sleep(0.02)  # so a re-stamped message would differ
        chat.add({"role": "user", "content": "second question"})
        app.save_session(chat)

        saved = app.local.load_session(chat.id)
        assert saved.title == "Renamed by hand"
        assert [m["created_at"] for m in saved.messages[:2]] == stamps
        assert saved.messages[2]["created_at"] > stamps[-1]
        assert all("created_at" not in m for m in chat.wire_messages())
