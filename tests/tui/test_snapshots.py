"""Snapshots of the main screens with fixed content (no backend, pinned times, fixed size).

Refresh after reviewing the report: `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from og_chat.sdk.types import Receipt
from og_chat.tui.app import OGChatApp
from og_chat.tui.chat import ChatState

from .conftest import wait_until

SIZE = (150, 42)
FIXED_HOME = Path("/tmp/og-chat-snapshot-home")
T0 = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC

ANSWER = """Verifying an answer means checking **three** things:

1. the TEE signed the request and output hashes;
2. the hashes match what you sent and got;
3. the payment settled on-chain.

```python
ok = verify(receipt)
```

Untrusted text stays literal: [bold]x[/] and \x1b[2J."""


def _receipt(i: int, status: str = "settled") -> Receipt:
    models = ["anthropic/claude-haiku-4-5", "openai/gpt-5-mini", "google/gemini-2.5-flash"]
    model = models[i % 3]
    return Receipt(
        id=f"r{i:031x}",
        created_at=T0 + 60 * i,
        model=model,
        provider=model.split("/")[0],
        network="devnet",
        endpoint="http://127.0.0.1:8402",
        settlement_mode=("batch", "private", "individual")[i % 3],
        conversation_id="c-snap",
        tee_id="0x" + "ab" * 32,
        request_hash="0x" + "11" * 32,
        output_hash="0x" + "22" * 32,
        tee_signature="c2ln",
        tee_timestamp=int(T0) + 60 * i,
        signature_status="verified",
        prompt_tokens=40 + i,
        completion_tokens=200 + 7 * i,
        total_tokens=240 + 8 * i,
        price_opg="0.000312",
        charged_opg="0.000312" if status == "settled" else None,
        scheme="upto",
        payment_hash="0x" + f"{i:02x}" * 32,
        payment_status=status,
    )


@pytest.fixture
def snap_home(monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fixed OG_CHAT_HOME (paths appear on the settings screen) with receipts and sessions."""
    shutil.rmtree(FIXED_HOME, ignore_errors=True)
    monkeypatch.setenv("OG_CHAT_HOME", str(FIXED_HOME))
    from og_chat.store.config import Config, save_config
    from og_chat.store.receipts import ReceiptStore
    from og_chat.store.sessions import Message, Session, SessionStore

    save_config(Config(theme="opengradient"))
    with ReceiptStore() as store:
        for i in range(12):
            store.append(_receipt(i, "pending" if i % 5 == 4 else "settled"))
    sessions = SessionStore()
    for i, title in enumerate(
        ["Explain x402 upto sessions", "Merkle proofs for batches", "Compare Claude and GPT on SQL"]
    ):
        session = Session(
            id=f"s-{i}",
            title=title,
            created_at=T0 + i * 3600,
            updated_at=T0 + i * 3600,
            model="anthropic/claude-haiku-4-5",
            messages=[Message(role="user", content=title, created_at=T0)],
        )
        sessions.save(session, touch=False)
    return FIXED_HOME


def _app() -> OGChatApp:
    return OGChatApp(start_backend=False, model="anthropic/claude-haiku-4-5", mode="batch")


async def _settle(pilot: Any) -> None:
    """Wait until two screenshots in a row are identical: robust to a loaded machine."""
    previous = None
    for _ in range(60):
        for area in pilot.app.screen.query("TextArea, Input"):
            area.cursor_blink = False  # a blinking cursor makes snapshots depend on timing
        await pilot.pause(0.1)
        await pilot.app.workers.wait_for_complete()
        shot = pilot.app.export_screenshot()
        if shot == previous:
            return
        previous = shot


async def _ready(pilot: Any) -> None:
    app = pilot.app
    for area in app.query("TextArea, Input"):  # a blinking cursor makes snapshots flaky
        area.cursor_blink = False
    await wait_until(pilot, lambda: app.local_ready, what="config")
    await _settle(pilot)


async def _with_conversation(pilot: Any) -> None:
    await _ready(pilot)
    app = pilot.app
    main = app.main_screen
    chat = ChatState(
        id="c-snap", title="Why verify?", model="anthropic/claude-haiku-4-5", created_at=T0
    )
    chat.add({"role": "user", "content": "Why verify an LLM answer? [bold]not bold[/]"})
    chat.add(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "current_time", "arguments": '{"timezone": "UTC"}'},
                }
            ],
        }
    )
    chat.add(
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": '{"iso": "2026-05-28T20:26:40+00:00", "timezone": "UTC"}',
        }
    )
    chat.add({"role": "assistant", "content": ANSWER})
    await main.show_chat(chat)
    from og_chat.tui.widgets.receipts_panel import ReceiptsPanel

    panel = main.query_one(ReceiptsPanel)
    for i in range(4):
        panel.add_receipt(_receipt(i, "pending" if i == 3 else "settled"))
    await _settle(pilot)  # let the Markdown finish rendering before pinning the scroll
    conversation = main.query_one("#conversation")
    conversation.release_anchor()
    conversation.scroll_home(animate=False)
    pilot.app.screen.set_focus(None)  # no cursor: focus is not what this snapshot is about
    await _settle(pilot)


def test_main_screen(snap_compare: Any, snap_home: Path) -> None:
    assert snap_compare(_app(), run_before=_with_conversation, terminal_size=SIZE)


def test_model_picker_filtered(snap_compare: Any, snap_home: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("f2", *"flash")
        await _settle(pilot)

    assert snap_compare(_app(), run_before=run_before, terminal_size=SIZE)


def test_sessions_screen(snap_compare: Any, snap_home: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("ctrl+o")
        await _settle(pilot)

    assert snap_compare(_app(), run_before=run_before, terminal_size=SIZE)


def test_receipts_browser(snap_compare: Any, snap_home: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "loaded_in", None) is not None)
        await _settle(pilot)

    assert snap_compare(_app(), run_before=run_before, terminal_size=SIZE)


def test_receipt_detail(snap_compare: Any, snap_home: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        pilot.app.open_receipt_detail(_receipt(4, "pending"))
        await _settle(pilot)

    assert snap_compare(_app(), run_before=run_before, terminal_size=SIZE)


def test_settings_screen(snap_compare: Any, snap_home: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("f9")
        await _settle(pilot)

    assert snap_compare(_app(), run_before=run_before, terminal_size=SIZE)
