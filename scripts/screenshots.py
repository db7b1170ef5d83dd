"""Write `screenshots/*.svg` of every main screen from a scripted session on the devnet, and
`screenshots/terminal-*.txt`: the main screen as a real terminal shows it.

Run: `python scripts/screenshots.py` (about a minute). The SVGs come from Textual's own
renderer (`save_screenshot`, a private OG_CHAT_HOME, an in-process devnet answering
instantly, a 160×48 terminal). The text captures come from the installed `og-chat` run in
a pseudo-terminal at 80×24 and 200×50 and emulated by pyte (tests/terminal's harness): the
bytes a user's terminal receives, not a re-render.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "screenshots"
SIZE = (160, 48)


async def _until(pilot: Any, predicate: Callable[[], Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("screenshot script: the app did not reach the expected state")
        await pilot.pause(0.05)


async def _type(pilot: Any, text: str) -> None:
    await pilot.press(*text)


async def shoot(devnet_url: str) -> list[Path]:
    """Drive one app through every screen, saving an SVG at each stop."""
    from og_chat.sdk.network_choice import NetworkRequest
    from og_chat.tui.app import OGChatApp
    from og_chat.tui.screens.compare import CompareColumn

    OUT.mkdir(exist_ok=True)
    written: list[Path] = []
    app = OGChatApp(NetworkRequest(devnet_url=devnet_url), model="anthropic/claude-haiku-4-5")

    def save(name: str) -> None:
        path = app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
        written.append(Path(path))

    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        assert main is not None
        await _until(pilot, lambda: app.backend.ready)
        await _until(pilot, lambda: "allowance" in str(main.query_one("#status").render()))

        await _type(pilot, "Explain x402 payments for LLM calls, with a code example")
        await pilot.press("enter")
        await _until(pilot, lambda: main.chat.receipt_ids and not main._turn_running())
        await _type(pilot, "What time is it? Use the current_time tool.")
        await pilot.press("enter")
        await _until(pilot, lambda: len(main.chat.messages) >= 6 and not main._turn_running())
        await pilot.pause(0.3)
        save("tool-call")
        main.query_one("#conversation").scroll_home(animate=False)
        await pilot.pause(0.2)
        save("main-chat")

        await pilot.press("f2", *"gemini flash")  # the picker dialog: the sidebar is folded
        await pilot.pause(0.2)
        save("model-picker-filtered")
        await pilot.press("escape")
        main.query_one("#prompt").focus()

        await pilot.press("ctrl+n")
        await pilot.pause(0.2)
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        save("sessions")
        await pilot.press("escape")

        await pilot.press("ctrl+r")
        await _until(pilot, lambda: getattr(app.screen, "loaded_in", None) is not None)
        await pilot.pause(0.2)
        save("receipts-browser")
        await pilot.press("enter")
        await pilot.pause(0.2)
        await pilot.press("v")
        await _until(pilot, lambda: "✓" in str(app.screen.query_one("#verify-results").render()))
        save("receipt-detail")
        await pilot.press("escape", "escape")

        await pilot.press("ctrl+b")
        await _until(pilot, lambda: "OPG" in str(app.screen.query_one("#wallet-facts").render()))
        save("wallet")
        await pilot.press("escape")

        await pilot.press("f9")
        await pilot.pause(0.3)
        save("settings")
        await pilot.press("escape")

        await pilot.press("f4")
        await pilot.pause(0.2)
        await _type(pilot, "In two sentences: why verify an LLM answer?")
        await pilot.press("enter")
        await _until(
            pilot,
            lambda: all(
                "receipt" in str(c.query_one(".stats").render())
                for c in app.screen.query(CompareColumn)
            ),
        )
        await pilot.pause(0.3)
        save("compare")
        await pilot.press("escape")
        await shoot_conversation_features(app, pilot, save)
    return written


async def shoot_conversation_features(app: Any, pilot: Any, save: Callable[[str], None]) -> None:
    """Issue 14's screens: search, a regenerated answer, personas, settings, an image answer."""
    from og_chat.store.config import Persona, load_config, save_config
    from og_chat.tui.widgets.inline_images import InlineImages

    main = app.main_screen
    await pilot.press("ctrl+f", *"x402")
    await _until(pilot, lambda: getattr(app.screen, "results", None) is not None)
    await pilot.pause(0.2)
    save("search")
    await pilot.press("enter")  # the conversation, scrolled to the message found
    await _until(pilot, lambda: app.screen is main and main.chat.messages)
    await pilot.press("alt+r")
    await pilot.pause(0.1)
    await _until(pilot, lambda: not main._turn_running())
    await pilot.pause(0.3)
    regenerated = [n for n in main.query(".notice") if "regenerated" in str(n.render())]
    main.query_one("#conversation").scroll_to_center(regenerated[-1], animate=False)
    await pilot.pause(0.2)
    save("regenerated")

    persona = Persona(system="You review patches: terse, one finding per line.", temperature=0.2)
    save_config(load_config(environ={}).model_copy(update={"personas": {"reviewer": persona}}))
    app.local.reload()
    await pilot.press("ctrl+n")
    await pilot.pause(0.3)
    save("persona-picker")
    await pilot.press("down", "enter")
    await _until(pilot, lambda: main.chat.persona == "reviewer")
    await pilot.press("f8")
    await pilot.pause(0.3)
    save("chat-settings")
    await pilot.press("escape")

    app.model = "google/gemini-2.5-flash-image"
    await _type(pilot, "A lighthouse on a cliff at dusk")
    await pilot.press("enter")
    await _until(pilot, lambda: not main._turn_running() and main.query(InlineImages))
    await pilot.pause(0.5)
    main.query_one("#conversation").scroll_end(animate=False)
    await pilot.pause(0.2)
    save("image-answer")


TERMINAL_SIZES = ((80, 24), (200, 50))
TERMINAL_PROMPT = "Explain x402 payments for LLM calls, with a code example"


def capture_terminals(devnet_url: str) -> list[Path]:
    """The main screen after one answer, as emulated from og-chat's own output in a pty."""
    from tests.terminal.conftest import OG_CHAT, terminal_env
    from tests.terminal.terminal import Terminal

    written = []
    for columns, rows in TERMINAL_SIZES:
        home = Path(tempfile.mkdtemp(prefix="og-shots-term-"))
        env = terminal_env(home, OG_DEVNET_URL=devnet_url)
        with Terminal([OG_CHAT], size=(columns, rows), env=env) as terminal:
            terminal.wait_for_text("● ready")
            terminal.send(TERMINAL_PROMPT)
            terminal.press("enter")
            terminal.wait_for_text("TTFT")
            terminal.wait_until_stable(quiet=1.0)
            path = OUT / f"terminal-{columns}x{rows}.txt"
            path.write_text("\n".join(line.rstrip() for line in terminal.lines()) + "\n")
            written.append(path)
    return written


def main() -> None:
    os.environ["OG_CHAT_HOME"] = tempfile.mkdtemp(prefix="og-shots-")
    sys.path.insert(0, str(ROOT))
    from og_chat.devnet import Devnet

    devnet = Devnet.start(tokens_per_second=0, session_idle=1.0, batch_interval=1.0)
    try:
        for path in [*asyncio.run(shoot(devnet.url)), *capture_terminals(devnet.url)]:
            print(path.relative_to(ROOT))
    finally:
        devnet.stop()


if __name__ == "__main__":
    main()
