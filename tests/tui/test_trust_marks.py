"""What the screen says about trust: a failed TEE check is flagged, and no key is ever painted."""

from __future__ import annotations

import time
from pathlib import Path

from og_chat.sdk.addresses import DEVNET_KEYS as DEV_KEYS
from og_chat.sdk.types import Receipt
from og_chat.tui.app import OGChatApp
from og_chat.tui.widgets.receipts_panel import ReceiptsPanel

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def _receipt(receipt_id: str, signature: str, payment: str) -> Receipt:
    return Receipt(
        id=receipt_id,
        created_at=time.time(),
        model="openai/gpt-5",
        provider="openai",
        network="devnet",
        endpoint="http://127.0.0.1:1",
        settlement_mode="batch",
        signature_status=signature,
        payment_status=payment,
        total_tokens=10,
    )


async def test_a_failed_signature_and_a_failed_payment_show_a_cross() -> None:
    app = OGChatApp(start_backend=False, model="openai/gpt-5", mode="batch")
    async with app.run_test(size=(160, 40)) as pilot:
        panel = app.main_screen.query_one(ReceiptsPanel)
        panel.add_receipt(_receipt("good", "verified", "settled"))
        panel.add_receipt(_receipt("bad", "failed", "failed"))
        await pilot.pause()
        good = [str(c) for c in panel.table.get_row("good")]
        bad = [str(c) for c in panel.table.get_row("bad")]
    assert good[-2:] == ["✓", "✓"]
    assert bad[-2:] == ["✗", "✗"]


def test_no_private_key_is_painted_in_any_screenshot() -> None:
    shots = sorted(SCREENSHOTS.glob("*.svg"))
    assert shots, "screenshots/ is empty: run scripts/screenshots.py"
    for shot in shots:
        text = shot.read_text().lower()
        for key in DEV_KEYS:
            assert key[2:].lower() not in text, f"{shot.name} shows a private key"
