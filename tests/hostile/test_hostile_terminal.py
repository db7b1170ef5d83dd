"""Item 6: nothing from a server reaches the terminal raw.

The hostile gateway puts escape sequences, bidi overrides, zero-width and tag
characters into the answer, its finish reason, its settlement ids and its error
reasons; every CLI view prints them inert, a terminal gets `sessions list/export`
inert too, and files (exports, redirects, `--json`) keep the exact text.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from og_chat.store.receipts import ReceiptStore
from og_chat.store.sessions import Message, Session, SessionStore
from tests.hostile.conftest import Result
from tests.hostile.gateway import (
    HOSTILE_TEXT,
    INVISIBLE,
    HostileGateway,
    Plan,
    fair_answer,
    fair_events,
)

ASK = ("ask", "-m", "gpt-4.1-mini")


def _inert(text: str) -> None:
    for char in INVISIBLE:
        assert char not in text, f"{char!r} reached the terminal"


def _poisoned(hostile: HostileGateway) -> None:
    """Every string the server chooses, made hostile: text, finish reason, settlement ids."""
    fields = {"data_settlement_transaction_hash": HOSTILE_TEXT,
              "data_settlement_blob_id": HOSTILE_TEXT}  # fmt: skip
    hostile.reset(
        Plan(
            answer=lambda body: fair_answer(body, fields, text=HOSTILE_TEXT),
            events=lambda body: fair_events(body, fields, text=HOSTILE_TEXT),
            payment_response={"success": True, "transaction": HOSTILE_TEXT,
                              "network": "eip155:1337001", "amount": "5"},
        )
    )  # fmt: skip


def test_every_receipt_view_prints_a_servers_strings_inert(
    hostile: HostileGateway, og: Callable[..., Result], tmp_path: Path
) -> None:
    _poisoned(hostile)
    asked = og(*ASK, "--no-stream", "--devnet-url", hostile.url, "hi")
    assert asked.code == 0, asked.err
    _inert(asked.out + asked.err)
    assert "␛[2J" in asked.out  # shown, not obeyed
    (receipt,) = ReceiptStore().load()
    assert receipt.payment_tx == HOSTILE_TEXT and receipt.output_text == HOSTILE_TEXT
    assert receipt.payment_hash and receipt.payment_hash.startswith("0x")  # never its text
    for argv in (("receipts", "list"), ("receipts", "show", receipt.id)):
        shown = og(*argv)
        assert shown.code == 0, shown.err
        _inert(shown.out + shown.err)
    for argv in (("receipts", "list", "--json"), ("receipts", "show", "--json", receipt.id)):
        shown = og(*argv)
        _inert(shown.out)
        doc = shown.json()
        doc = doc[0] if isinstance(doc, list) else doc
        assert doc["payment_tx"] == HOSTILE_TEXT  # the exact text, escaped in JSON
    out = tmp_path / "receipts.json"
    assert og("receipts", "export", "--out", str(out)).code == 0
    assert json.loads(out.read_text("utf-8"))[0]["output_text"] == HOSTILE_TEXT


def test_a_servers_error_reason_prints_inert(
    hostile: HostileGateway, og: Callable[..., Result]
) -> None:
    hostile.reset(Plan(status=500, error_body=json.dumps({"error": HOSTILE_TEXT}).encode()))
    result = og(*ASK, "--devnet-url", hostile.url, "hi")
    assert result.code == 4
    _inert(result.out + result.err)
    assert "gateway error 500" in result.err and "pwned" in result.err
    (receipt,) = ReceiptStore().load()
    assert receipt.error is not None and HOSTILE_TEXT in receipt.error  # kept exactly


@pytest.fixture
def hostile_session() -> Session:
    session = Session.new(title=HOSTILE_TEXT, model=HOSTILE_TEXT)
    session.messages = [Message(role="user", content="hi"),
                        Message(role="assistant", content=HOSTILE_TEXT, model=HOSTILE_TEXT)]  # fmt: skip
    SessionStore().save(session)
    return session


def _on_a_terminal(*argv: str) -> str:
    """Run the CLI with stdout on a pseudo-terminal; what the terminal received."""
    master, slave = pty.openpty()
    run = subprocess.Popen(
        [sys.executable, "-m", "og_chat.cli", *argv], stdout=slave, stderr=slave,
        stdin=subprocess.DEVNULL, env=os.environ.copy(),
    )  # fmt: skip
    os.close(slave)
    received = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    assert run.wait(30) == 0, received[-1000:]
    return received.decode("utf-8", "replace")


def test_sessions_are_inert_on_a_terminal_and_exact_in_a_pipe(
    hostile_session: Session, og: Callable[..., Result], tmp_path: Path
) -> None:
    listed = _on_a_terminal("sessions", "list")
    _inert(listed)
    assert "pwned" in listed
    exported = _on_a_terminal("sessions", "export", hostile_session.id)
    _inert(exported)
    piped = og("sessions", "export", hostile_session.id)  # stdout is a pipe: exact
    assert HOSTILE_TEXT in piped.out
    as_json = og("sessions", "export", hostile_session.id, "--format", "json")
    assert json.loads(as_json.out)["title"] == HOSTILE_TEXT
    out = tmp_path / "s.md"
    assert og("sessions", "export", hostile_session.id, "--out", str(out)).code == 0
    assert HOSTILE_TEXT in out.read_text("utf-8")
    listed_json = og("sessions", "list", "--json")
    _inert(listed_json.out)
    assert json.loads(listed_json.out)[0]["title"] == HOSTILE_TEXT
