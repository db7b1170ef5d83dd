"""Superseded turns (a regenerated answer, an edited prompt): kept and exported, never sent."""

from __future__ import annotations

from pathlib import Path

from og_chat.store.sessions import Message, Session, SessionStore


def test_a_superseded_turn_is_saved_exported_and_left_out_of_the_wire(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = Session.new(model="anthropic/claude-haiku-4-5")
    session.add(Message(role="user", content="name a colour"))
    session.add(Message(role="assistant", content="teal", receipt_id="r1", superseded=True))
    session.add(Message(role="assistant", content="ochre", receipt_id="r2"))
    store.save(session)

    saved = store.load(session.id)
    assert [m.superseded for m in saved.messages] == [False, True, False]
    assert saved.wire_messages() == [
        {"role": "user", "content": "name a colour"},
        {"role": "assistant", "content": "ochre"},
    ]
    markdown = store.export_markdown(session.id)
    assert "receipt r1" in markdown and "superseded" in markdown
    assert markdown.index("teal") < markdown.index("superseded") < markdown.index("ochre")


def test_a_session_written_before_superseded_existed_reads_as_nothing_superseded(
    tmp_path: Path,
) -> None:
    store = SessionStore(tmp_path)
    session = Session.new()
    session.add(Message(role="user", content="hi"))
    store.save(session)
    path = store.path_for(session.id)
    path.write_text(path.read_text().replace('"superseded": false,', ""))
    assert "superseded" not in path.read_text()
    assert store.load(session.id).wire_messages() == [{"role": "user", "content": "hi"}]
