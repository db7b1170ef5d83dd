"""Image answers in the TUI (issue 14 item 5): shown inline, saved with the session, written
to a PNG file; an image that cannot be read says so in place of the picture."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path
from typing import Any

from textual.widgets import Static

from og_chat.sdk.images import decode_image
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.store.sessions import Message, Session, SessionStore
from og_chat.tui.app import OGChatApp
from og_chat.tui.screens.main import MainScreen
from og_chat.tui.widgets.conversation import AssistantMessage
from og_chat.tui.widgets.inline_images import InlineImages
from og_chat.tui.widgets.prompt import PromptArea

from .conftest import wait_until

SIZE = (180, 50)
IMAGE_MODEL = "google/gemini-2.5-flash-image"


def _main(app: OGChatApp) -> MainScreen:
    assert app.main_screen is not None
    return app.main_screen


def _captions(view: AssistantMessage) -> list[str]:
    return [str(c.render()) for c in view.query(InlineImages).first().query(".caption")]


async def test_an_image_answer_shows_inline_is_saved_and_writes_a_png(
    devnet: Any, og_home: Path
) -> None:
    app = OGChatApp(NetworkRequest(devnet_url=devnet.url), model=IMAGE_MODEL)
    async with app.run_test(size=SIZE) as pilot:
        main = _main(app)
        await wait_until(pilot, lambda: app.backend.ready, timeout=60, what="runtime")
        main.query_one(PromptArea).load_text("a lighthouse at dusk")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: main.chat.receipt_ids and not main._turn_running(), what="answer"
        )
        answer = main.chat.messages[-1]
        assert answer["role"] == "assistant" and answer["images"]
        view = main.query(AssistantMessage).last()
        await wait_until(pilot, lambda: bool(view.query(InlineImages)), what="image widget")
        pictures = view.query(".image")
        assert len(pictures) == len(answer["images"])
        picture = pictures.first()
        assert picture.size.width > 0 and picture.size.height > 0
        await pilot.pause(0.2)
        meta = view.query_one(".meta")  # the answer grew around the image: nothing cut off
        assert view.region.contains_region(picture.region)
        assert view.region.contains_region(meta.region)
        assert "image/png" in _captions(view)[0] and "alt+i saves it" in _captions(view)[0]
        chat_id = main.chat.id

        await pilot.press("alt+i")
        exports = og_home / "data" / "exports"
        await wait_until(pilot, lambda: list(exports.glob("image-*.png")), what="file")
        written = sorted(exports.glob("image-*.png"))
        assert written[0].read_bytes() == decode_image(answer["images"][0]).data
        assert written[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert written[0].stat().st_mode & 0o777 == 0o600
        assert any(str(written[0]) in str(n.message) for n in app._notifications)

    saved = SessionStore().load(chat_id)
    assert saved.messages[-1].images == answer["images"]

    app = OGChatApp(start_backend=False)  # resumed later: the image is shown again
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        await app.resume(app.local.load_session(chat_id))
        view = _main(app).query(AssistantMessage).last()
        await wait_until(pilot, lambda: bool(view.query(".image")), what="resumed image")


async def test_an_unreadable_image_says_so_and_the_rest_still_shows() -> None:
    """A hostile or damaged answer: not base64, not an image, and a size bomb's header."""
    header = b"IHDR" + struct.pack(">IIBBBBB", 8000, 8000, 8, 2, 0, 0, 0)  # 64 megapixels
    bomb = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + header
    bomb += struct.pack(">I", zlib.crc32(header))
    bomb += struct.pack(">I", 0) + b"IDAT" + struct.pack(">I", zlib.crc32(b"IDAT"))
    images = [
        "data:image/png;base64,not*base64",
        "data:image/png;base64," + base64.b64encode(b"plain text, no picture").decode(),
        "data:image/png;base64," + base64.b64encode(bomb).decode(),
    ]
    session = Session.new(title="bad images", model=IMAGE_MODEL)
    session.add(Message(role="user", content="draw"))
    session.add(Message(role="assistant", content="here", model=IMAGE_MODEL, images=images))
    SessionStore().save(session)
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.local_ready, what="config")
        await app.resume(app.local.load_session(session.id))
        view = _main(app).query(AssistantMessage).last()
        await wait_until(pilot, lambda: bool(view.query(InlineImages)), what="images")
        captions = _captions(view)
        assert len(captions) == 3 and not view.query(".image")
        assert all(c.startswith(f"✗ image {i} cannot be shown") for i, c in enumerate(captions, 1))
        assert "not base64" in captions[0] or "damaged" in captions[0]
        assert "not an image" in captions[1]
        assert "8000×8000 px is too large" in captions[2]
        assert view.query_one(".meta", Static) is not None  # the answer itself is still there
