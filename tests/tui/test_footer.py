"""The footer: the screen's keys on Textual's public API, remapped keys, clicks press keys."""

from __future__ import annotations

from og_chat.tui.app import OGChatApp
from og_chat.tui.screens.sessions import SessionsScreen
from og_chat.tui.widgets.key_footer import FooterEntry, KeyFooter

from .conftest import wait_until

SIZE = (150, 40)


def _entries(app: OGChatApp) -> list[str]:
    footer = app.screen.query_one(KeyFooter)
    return [str(entry.render()).strip() for entry in footer.query(FooterEntry)]


async def test_the_footer_shows_the_screens_keys_and_the_palette() -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: bool(_entries(app)), what="footer")
        shown = _entries(app)
        # Receipts and Help first: an 80-column footer still shows them (issue 13)
        assert shown[:5] == ["⏎ Send", "^r Receipts", "f1 Help", "f5 Panel", "^o Sessions"]
        assert shown[-1] == "^p Commands"  # docked on the right, as Textual's Footer does
        assert not any("Stop" in text for text in shown)  # show=False keys stay out


async def test_a_remapped_key_shows_in_the_footer() -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        app.set_keymap({"app.sessions": "f12"})
        await wait_until(pilot, lambda: "f12 Sessions" in _entries(app), what="remapped key")
        assert "^o Sessions" not in _entries(app)


async def test_clicking_a_footer_key_presses_it() -> None:
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.local_ready and bool(_entries(app)), what="footer")
        for _ in range(50):  # the config's keymap may rebuild the footer under the pointer once
            footer = app.screen.query_one(KeyFooter)
            entry = next(e for e in footer.query(FooterEntry) if "Sessions" in str(e.render()))
            await pilot.click(entry)
            await pilot.pause(0.05)
            if isinstance(app.screen, SessionsScreen):
                break
        assert isinstance(app.screen, SessionsScreen)
