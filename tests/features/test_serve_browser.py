"""`og-chat serve` in a real headless browser (issue 14 item 7): the page runs the TUI,
a prompt typed into the page is answered by the devnet the server embedded, and the
answer is read back from the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from og_chat.cli.serve import chat_command, is_loopback
from og_chat.store.receipts import ReceiptStore
from tests.features.browser import CHROMIUM, browser_page, serving, wait_for_text

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)


@needs_chromium
def test_a_prompt_typed_in_the_browser_is_answered_on_the_page(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with serving(home) as url, browser_page(tmp_path / "profile", url) as page:
        page.goto(url + "/")
        page.wait_for_selector("body.-first-byte", timeout=60_000)
        wait_for_text(page, r"Ask anything", timeout=60)
        page.focus(".xterm-helper-textarea")  # keys go to the terminal, as a person's would
        page.keyboard.type("explain the zanzibar ledger")
        page.keyboard.press("Enter")
        shown = wait_for_text(page, r"receipt [0-9a-f]{10}", timeout=90)
        page.screenshot(path=str(tmp_path / "answered.png"))
    (receipt,) = ReceiptStore(home / "data").load()  # the final receipt, past the write-ahead
    assert receipt.id[:10] in shown  # the paid answer's receipt, shown on the page
    assert receipt.signature_status == "verified"
    assert receipt.output_text is not None
    last_line = receipt.output_text.strip().splitlines()[-1]
    assert " ".join(last_line.split()[:3]) in " ".join(shown.split())  # the answer's end
    assert "zanzibar" in receipt.output_text  # answered what was typed in the page


def test_the_page_command_is_this_interpreters_og_chat_chat() -> None:
    command = chat_command(
        devnet_url="http://127.0.0.1:1", network_name=None, model="openai/gpt-4.1", mode=None
    )
    assert re.search(
        r"-m og_chat\.cli chat --devnet-url http://127\.0\.0\.1:1 --model openai/gpt-4\.1$", command
    )


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("192.0.2.7", False),
    ],
)
def test_only_loopback_counts_as_private(host: str, local: bool) -> None:
    assert is_loopback(host) is local
