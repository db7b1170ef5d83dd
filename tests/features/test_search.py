"""Full-text search (issue 14 item 3): the index beside the JSON files, never trusted over them.

Real files in a temp data directory, real sqlite3: sessions saved through
`SessionStore`, receipts appended through `ReceiptStore`, then edited, deleted and
corrupted behind the index's back.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from pathlib import Path

import pytest

from og_chat.sdk.types import Receipt
from og_chat.store.receipts import ReceiptStore
from og_chat.store.search import Search
from og_chat.store.search_index import INDEX_FILE, SearchError, match_expression
from og_chat.store.sessions import Message, Session, SessionStore

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]


def _session(store: SessionStore, *texts: str, title: str = "New chat") -> Session:
    session = Session.new(title=title)
    for i, text in enumerate(texts):
        role = "user" if i % 2 == 0 else "assistant"
        session.add(Message(role=role, content=text, model=None if role == "user" else "m/x"))
    store.save(session)
    return session


def _receipt(rid: str, text: str, payment_hash: str = "0x" + "ab" * 32) -> Receipt:
    return Receipt(
        id=rid, created_at=time.time(), model="openai/gpt-4.1-mini", provider="openai",
        network="devnet", endpoint="http://127.0.0.1", settlement_mode="batch",
        payment_hash=payment_hash, output_text=text,
    )  # fmt: skip


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_a_word_finds_the_session_and_the_message_index(root: Path) -> None:
    store = SessionStore(root)
    rng = random.Random(7)
    others = [
        _session(store, *(" ".join(rng.choices(WORDS, k=12)) for _ in range(6))) for _ in range(30)
    ]
    target = _session(
        store,
        "how do upto sessions work",
        "An upto session caps the spend.",
        "and permit2?",
        "Permit2 holds the allowance.",
    )
    results = Search(root).search("permit2")
    found = {(h.session_id, h.message_index) for h in results.messages}
    assert found == {(target.id, 2), (target.id, 3)}
    hit = results.messages[0]
    assert "«Permit2»" in hit.snippet or "«permit2»" in hit.snippet
    assert hit.title == "how do upto sessions work"
    assert len(others) == 30


def test_every_word_must_match_and_a_star_matches_a_prefix(root: Path) -> None:
    store = SessionStore(root)
    both = _session(store, "settlement batches and merkle roots")
    one = _session(store, "settlement only")
    search = Search(root)
    assert {h.session_id for h in search.search("settlement merkle").messages} == {both.id}
    assert {h.session_id for h in search.search("settle*").messages} == {both.id, one.id}
    assert search.search("settle").messages == []


@pytest.mark.parametrize("term", ['"unbalanced', "AND OR NOT", "NEAR(x", "col:value", "*", "^x"])
def test_query_syntax_typed_by_accident_is_searched_as_words(root: Path, term: str) -> None:
    _session(SessionStore(root), "AND OR NOT near col value x")
    Search(root).search(term)  # no sqlite3 error, whatever it finds


def test_an_empty_query_is_refused_with_a_hint() -> None:
    with pytest.raises(SearchError) as err:
        match_expression("   ")
    assert err.value.hint


def test_a_save_updates_the_index_without_a_rescan(root: Path) -> None:
    store = SessionStore(root)
    session = _session(store, "first words")
    search = Search(root)
    search.search("first")
    session.add(Message(role="user", content="zebra crossing"))
    store.save(session)
    stamps = search.index.stamps()
    assert stamps[f"s:{session.id}"]  # the save recorded the file it wrote
    assert search.sync() == 0  # nothing left to re-read: the hook did it
    assert [(h.session_id, h.message_index) for h in search.search("zebra").messages] == [
        (session.id, 1)
    ]


def test_the_files_win_over_the_index(root: Path) -> None:
    store = SessionStore(root)
    edited = _session(store, "original walrus text")
    gone = _session(store, "walrus that will be deleted")
    search = Search(root)
    assert len(search.search("walrus").messages) == 2
    # edited behind og-chat's back, and one file removed by hand
    path = store.path_for(edited.id)
    data = json.loads(path.read_text())
    data["messages"][0]["content"] = "rewritten narwhal text"
    path.write_text(json.dumps(data))
    os.unlink(store.path_for(gone.id))
    assert search.search("walrus").messages == []
    assert [h.session_id for h in search.search("narwhal").messages] == [edited.id]


def test_deleting_a_session_removes_it_from_results(root: Path) -> None:
    store = SessionStore(root)
    session = _session(store, "ephemeral ocelot")
    search = Search(root)
    assert search.search("ocelot").messages
    store.delete(session.id)
    assert search.search("ocelot").messages == []


def test_an_unreadable_session_file_is_reported_and_not_searched(root: Path) -> None:
    store = SessionStore(root)
    bad = _session(store, "quokka words")
    search = Search(root)
    assert search.search("quokka").messages
    store.path_for(bad.id).write_text("{not json")
    results = search.search("quokka")
    assert results.messages == []
    assert any(bad.id in w for w in results.warnings)


@pytest.mark.parametrize("damage", [b"", b"garbage" * 500, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_missing_or_corrupt_index_is_rebuilt(root: Path, damage: bytes) -> None:
    store = SessionStore(root)
    session = _session(store, "resilient pangolin")
    ReceiptStore(root).append(_receipt("r" * 32, "pangolin receipt"))
    search = Search(root)
    assert search.search("pangolin").messages
    search.close()
    index = root / INDEX_FILE
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(damage)
    fresh = Search(root)
    results = fresh.search("pangolin")
    assert [h.session_id for h in results.messages] == [session.id]
    assert [r.receipt_id for r in results.receipts] == ["r" * 32]


def test_receipts_match_by_model_id_payment_hash_and_answer(root: Path) -> None:
    receipts = ReceiptStore(root)
    receipts.append(_receipt("3f2a" + "0" * 28, "the capybara answer"))
    receipts.append(_receipt("9c1b" + "0" * 28, "another", payment_hash="0xdeadbeef" + "00" * 28))
    search = Search(root)
    assert [r.receipt_id[:4] for r in search.search("capybara").receipts] == ["3f2a"]
    assert [r.receipt_id[:4] for r in search.search("3f2a").receipts] == ["3f2a"]
    assert [r.receipt_id[:4] for r in search.search("0xdeadbeef").receipts] == ["9c1b"]
    assert len(search.search("gpt").receipts) == 2  # the model's words


def test_a_settlement_event_updates_the_payment_hash(root: Path) -> None:
    receipts = ReceiptStore(root)
    rid = "e" * 32
    receipts.append(_receipt(rid, "text"))
    receipts.load()
    settled = "0x" + "cd" * 32
    receipts.append_event(rid, payment_hash=settled, payment_status="settled")
    search = Search(root)
    assert [r.payment_hash for r in search.search(settled[:12]).receipts] == [settled]
    # another process's event (a store that never loaded): the index notices the log moved on
    ReceiptStore(root).append_event(rid, payment_hash="0x" + "ef" * 32)
    assert [r.receipt_id for r in search.search("0xefefef").receipts] == [rid]


def test_a_completed_write_ahead_receipt_is_indexed_without_a_rescan(root: Path) -> None:
    receipts = ReceiptStore(root)
    receipts.append(_receipt("6b" * 16, "an earlier answer"))
    search = Search(root)
    search.search("anything")  # the index has read the log
    pending = _receipt("7a" * 16, "")
    receipts.write_ahead(pending)()
    receipts.complete(dataclasses.replace(pending, output_text="the okapi answer"))
    # in the file when complete returns, before its fdatasync in the sync thread
    assert ReceiptStore(root).load()[-1].output_text == "the okapi answer"
    receipts.close()  # waits for the sync thread
    assert search.sync() == 0  # the sync thread indexed the final receipt: nothing to re-read
    assert [r.receipt_id for r in search.search("okapi").receipts] == [pending.id]


def test_image_data_is_not_indexed(root: Path) -> None:
    store = SessionStore(root)
    session = Session.new()
    session.add(Message(role="assistant", content="see data:image/png;base64,QUFBQUFB here"))
    store.save(session)
    search = Search(root)
    assert search.search("here").messages
    assert search.search("QUFBQUFB").messages == []
