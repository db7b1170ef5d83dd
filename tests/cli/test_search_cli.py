"""`og-chat search` end to end: answers from the devnet found by their words (issue 14 item 3)."""

from __future__ import annotations

from typing import Any

from og_chat.cli import EXIT_USAGE
from og_chat.store.paths import data_dir
from og_chat.store.search_index import INDEX_FILE
from og_chat.store.sessions import Message, Session, SessionStore
from tests.cli.helpers import unique_prompt


def test_an_asked_question_and_its_receipt_are_found(og: Any) -> None:
    prompt = unique_prompt("explain the aardvark protocol")
    asked = og("ask", "--json", "-m", "gpt-4.1-mini", "--max-tokens", "40", prompt)
    assert asked.code == 0, asked.err
    doc = asked.json()
    found = og("search", "aardvark", "--json")
    assert found.code == 0, found.err
    hits = found.json()
    assert {"session_id": doc["session_id"], "message_index": 0} in [
        {k: h[k] for k in ("session_id", "message_index")} for h in hits["messages"]
    ]
    assert doc["receipt"]["id"] in [r["receipt_id"] for r in hits["receipts"]]  # its answer
    by_hash = og("search", doc["receipt"]["payment_hash"][:14], "--json").json()
    assert doc["receipt"]["id"] in [r["receipt_id"] for r in by_hash["receipts"]]
    table = og("search", "aardvark")
    assert doc["session_id"] in table.out and "«aardvark»" in table.out


def test_snippets_are_made_inert(og: Any) -> None:
    session = Session.new()
    session.add(Message(role="assistant", content="evil \x1b]0;pwned\x07 \x1b[2J okapi\nnext line"))
    SessionStore().save(session)
    result = og("search", "okapi")
    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "\x07" not in result.out
    assert "␛" in result.out
    line = next(ln for ln in result.out.splitlines() if session.id in ln)
    assert "next line" in line  # the snippet stays on one line
    doc = og("search", "okapi", "--json").json()
    assert "\x1b" not in doc["messages"][0]["snippet"]


def test_reindex_rebuilds_from_the_files(og: Any) -> None:
    session = Session.new()
    session.add(Message(role="user", content="the tapir question"))
    SessionStore().save(session)
    (data_dir() / INDEX_FILE).write_bytes(b"not a database")
    result = og("search", "--reindex", "tapir", "--json")
    assert result.code == 0, result.err
    assert "rebuilt" in result.err
    assert [h["session_id"] for h in result.json()["messages"]] == [session.id]
    assert og("search", "--reindex").code == 0


def test_nothing_to_search_for_is_a_usage_error(og: Any) -> None:
    result = og("search")
    assert result.code == EXIT_USAGE
    assert "nothing to search for" in result.err
    none = og("search", "zzzunfindable")
    assert none.code == 0 and "nothing matches" in none.err
