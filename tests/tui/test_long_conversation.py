"""A 1,000-message conversation opens on its last screen and loads older messages on the way up
(issue 13, item 7). How fast is benchmarks/bench_tui.py's business; this checks the behaviour."""

from __future__ import annotations

from og_chat.tui.app import OGChatApp
from og_chat.tui.chat import ChatState
from og_chat.tui.screens.main import MainScreen
from og_chat.tui.widgets.conversation import HISTORY_BATCH, AssistantMessage, Conversation

from .conftest import wait_until

ANSWER = "## Section\n\n" + "A paragraph of a long answer with `code` and **bold**. " * 30 + "\n"
"""Long enough that one batch of messages fills the pane (a shorter one loads more at once)."""


def long_chat(turns: int = 500) -> ChatState:
    chat = ChatState(model="anthropic/claude-haiku-4-5", title="long")
    for n in range(turns):
        chat.add({"role": "user", "content": f"question {n}"})
        chat.add({"role": "assistant", "content": f"answer {n}\n\n{ANSWER}", "model": chat.model})
    return chat


async def test_a_long_conversation_opens_at_its_end_and_loads_upwards() -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=(140, 40)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        await main.show_chat(long_chat())
        await pilot.pause()
        conversation = main.query_one(Conversation)
        shown = list(conversation.query_children(AssistantMessage))
        assert shown[-1].text.startswith("answer 499")
        assert len(conversation.children) <= HISTORY_BATCH + 1  # the batch and the notice
        assert conversation.earlier == 1000 - HISTORY_BATCH
        assert conversation.scroll_y == conversation.max_scroll_y > 0
        assert "earlier messages" in str(conversation.border_subtitle)

        first = conversation.children[0]
        conversation.scroll_home(animate=False)
        await wait_until(
            pilot, lambda: conversation.earlier == 1000 - 2 * HISTORY_BATCH, what="a batch more"
        )
        # the view is put back on what was shown once the batch is laid out (a refresh later)
        await wait_until(pilot, lambda: conversation.scroll_y > 0, what="the view kept")
        assert conversation.children[HISTORY_BATCH] is first
        region = first.virtual_region
        assert conversation.scroll_y <= region.y <= conversation.scroll_y + conversation.size.height
