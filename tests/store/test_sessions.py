"""Conversations: atomic saves, a fast newest-first list, exports, drafts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from og_chat.store.sessions import (
    Message,
    Session,
    SessionCorrupt,
    SessionError,
    SessionNotFound,
    SessionStore,
)


def conversation() -> Session:
    s = Session.new("Prices", settlement_mode="individual", model="openai/gpt-5")
    s.messages += [
        Message(role="user", content="What does a call cost?"),
        Message(
            role="assistant",
            content=None,
            model="openai/gpt-5",
            tool_calls=[{"id": "c1", "type": "function", "function": {"name": "price"}}],
            receipt_id="r-1",
        ),
        Message(role="tool", content='{"opg": "0.001"}', tool_call_id="c1"),
        Message(
            role="assistant",
            content="About 0.001 OPG.",
            model="openai/gpt-5",
            receipt_id="r-2",
            partial=True,
            error="stream interrupted",
        ),
    ]
    return s


def test_save_and_load_round_trip(data: Path) -> None:
    store = SessionStore(data)
    s = conversation()
    store.save(s)
    loaded = store.load(s.id)
    assert loaded == s
    raw = json.loads((data / "sessions" / f"{s.id}.json").read_text())
    assert raw["schema"] == 1
    assert raw["messages"][1]["tool_calls"][0]["id"] == "c1"
    assert raw["messages"][3]["partial"] is True


def test_save_leaves_no_temporary_files(data: Path) -> None:
    store = SessionStore(data)
    s = conversation()
    for _ in range(5):
        store.save(s)
    assert sorted(p.name for p in (data / "sessions").iterdir()) == [f"{s.id}.json"]


def test_list_is_newest_first_and_follows_changes(data: Path) -> None:
    store = SessionStore(data)
    sessions = [Session.new(f"chat {n}") for n in range(5)]
    for n, s in enumerate(sessions):
        s.id = f"s{n}"
        store.save(s)
        time.sleep(0.002)
    assert [x.id for x in store.list()] == ["s4", "s3", "s2", "s1", "s0"]
    sessions[1].messages.append(Message(role="user", content="again"))
    store.save(sessions[1])
    listed = store.list()
    assert listed[0].id == "s1" and listed[0].message_count == 1
    store.rename("s0", "Renamed")
    assert {x.id: x.title for x in store.list()}["s0"] == "Renamed"
    store.delete("s2")
    assert [x.id for x in store.list()] == ["s1", "s4", "s3", "s0"]


def test_list_of_a_thousand_sessions_reads_only_what_changed(data: Path) -> None:
    store = SessionStore(data)
    template = conversation()
    store.save(template)
    for n in range(1000):  # plain writes: a thousand fsynced saves would only test the disk
        template.id = f"s{n:04d}"
        (store.directory / f"{template.id}.json").write_text(template.to_json())
    assert len(store.list()) == 1001
    assert (data / "sessions" / ".index.json").exists()
    start = time.perf_counter()
    assert len(SessionStore(data).list()) == 1001
    assert time.perf_counter() - start < 1.0  # a loose bound: the index, not 1,000 parses
    template.id = "s0500"
    template.title = "changed"
    store.save(template)
    assert {s.id: s.title for s in store.list()}["s0500"] == "changed"


def test_unreadable_session_is_skipped_in_list_and_typed_on_load(data: Path) -> None:
    store = SessionStore(data)
    good = conversation()
    store.save(good)
    (data / "sessions" / "broken.json").write_text('{"schema": 1, "id": "broken", "mess')
    (data / "sessions" / "wrong.json").write_text('{"id": "wrong", "messages": [{"role": 5}]}')
    listed = store.list()
    assert [s.id for s in listed] == [good.id]
    assert len(store.warnings) == 2
    with pytest.raises(SessionCorrupt, match="not valid JSON"):
        store.load("broken")
    with pytest.raises(SessionCorrupt, match=r"messages\.0\.role"):
        store.load("wrong")
    assert (data / "sessions" / "broken.json").exists()  # left for the user to rescue


def test_newer_schema_is_refused_not_misread(data: Path) -> None:
    (data / "sessions").mkdir()
    (data / "sessions" / "future.json").write_text('{"schema": 9, "id": "future"}')
    with pytest.raises(SessionError, match="newer"):
        SessionStore(data).load("future")


def test_ids_cannot_escape_the_sessions_folder(data: Path) -> None:
    store = SessionStore(data)
    for bad in ("../config", "a/b", "", ".index"):
        with pytest.raises(SessionNotFound):
            store.load(bad)


def test_missing_session(data: Path) -> None:
    with pytest.raises(SessionNotFound):
        SessionStore(data).load("nope")


def test_exports(data: Path) -> None:
    store = SessionStore(data)
    s = conversation()
    store.save(s)
    md = store.export_markdown(s.id)
    assert md.startswith("# Prices\n")
    assert "## You" in md and "receipt r-2" in md and "interrupted" in md and '"price"' in md
    assert json.loads(store.export_json(s.id))["id"] == s.id


def test_drafts_survive_and_clear(data: Path) -> None:
    store = SessionStore(data)
    assert store.load_draft() == ""
    store.save_draft("half a thought ✍")
    store.save_draft("for this chat", "abc")
    assert SessionStore(data).load_draft() == "half a thought ✍"
    assert SessionStore(data).load_draft("abc") == "for this chat"
    store.save_draft("")
    assert store.load_draft() == ""
