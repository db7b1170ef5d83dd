"""Conversations from the CLI (issue 14 items 1 and 4), checked at the upstream.

The devnet runs with `--upstream` pointed at `RecordingUpstream`, our own
OpenAI-compatible double, so each test sees exactly what the gateway forwarded:
the system prompt, the temperature, max_tokens and the continued history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from og_chat.cli import EXIT_USAGE
from og_chat.devnet import Devnet
from og_chat.store.config import config_path
from og_chat.store.paths import data_dir
from og_chat.store.receipts import ReceiptStore
from og_chat.store.sessions import SessionStore
from tests.cli.helpers import unique_prompt
from tests.features.upstream_double import RecordingUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def relay(upstream: RecordingUpstream) -> Iterator[Devnet]:
    """A devnet whose answers come from the recording upstream (paid, signed as usual)."""
    net = Devnet.start(upstream=upstream.url, tokens_per_second=0, session_idle=1.0)
    try:
        yield net
    finally:
        net.stop()


def ask(og: Any, relay: Devnet, *argv: str) -> Any:
    result = og("ask", "--devnet-url", relay.url, "-m", "gpt-4.1-mini", *argv)
    assert result.code == 0, result.err
    return result


def test_system_prompt_temperature_and_max_tokens_reach_the_upstream(
    og: Any, relay: Devnet, upstream: RecordingUpstream
) -> None:
    prompt = unique_prompt("what is x402")
    ask(
        og,
        relay,
        "-s",
        "Answer like a pirate.",
        "--temperature",
        "0.7",
        "--max-tokens",
        "77",
        prompt,
    )
    sent = upstream.requests[-1]
    assert sent["messages"] == [
        {"role": "system", "content": "Answer like a pirate."},
        {"role": "user", "content": prompt},
    ]
    assert sent["temperature"] == 0.7
    assert sent["max_tokens"] == 77


def test_without_flags_the_temperature_is_the_sdk_default(
    og: Any, relay: Devnet, upstream: RecordingUpstream
) -> None:
    ask(og, relay, unique_prompt())
    sent = upstream.requests[-1]
    assert sent["temperature"] == 0.0
    assert [m["role"] for m in sent["messages"]] == ["user"]


def test_continue_sends_the_whole_history_and_saves_into_the_same_session(
    og: Any, relay: Devnet, upstream: RecordingUpstream
) -> None:
    first, second, third = (unique_prompt(w) for w in ("first", "second", "third"))
    doc = json.loads(ask(og, relay, "--json", "-s", "Be brief.", first).out)
    session_id = doc["session_id"]
    assert doc["receipt"]["conversation_id"] == session_id
    ask(og, relay, "-c", second)
    sent = upstream.requests[-1]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},  # the session's own system prompt
        {"role": "user", "content": first},
        {"role": "assistant", "content": doc["answer"]},
        {"role": "user", "content": second},
    ]
    ask(og, relay, "--continue", third)
    assert len(upstream.requests[-1]["messages"]) == 6
    session = SessionStore().load(session_id)
    assert [m.role for m in session.messages] == ["user", "assistant"] * 3
    assert session.messages[-1].content == RecordingUpstream.answer_for(upstream.requests[-1])
    assert session.system_prompt == "Be brief."
    assert session.title == first
    receipts = ReceiptStore().load()
    ids = {m.receipt_id for m in session.messages if m.role == "assistant"}
    assert ids <= {r.id for r in receipts}
    assert {r.conversation_id for r in receipts if r.id in ids} == {session_id}


def test_session_id_continues_that_conversation_not_the_latest(
    og: Any, relay: Devnet, upstream: RecordingUpstream
) -> None:
    older = json.loads(ask(og, relay, "--json", unique_prompt("older")).out)["session_id"]
    newer = json.loads(ask(og, relay, "--json", unique_prompt("newer")).out)["session_id"]
    follow = unique_prompt("follow-up")
    ask(og, relay, "--session", older, follow)
    sent = upstream.requests[-1]["messages"]
    assert "older" in sent[0]["content"] and sent[-1]["content"] == follow
    store = SessionStore()
    assert len(store.load(older).messages) == 4
    assert len(store.load(newer).messages) == 2
    assert store.list()[0].id == older  # the answer made it the latest


def test_a_conversation_started_by_ask_is_listed_with_its_settings(og: Any, relay: Devnet) -> None:
    prompt = unique_prompt("listed")
    sid = json.loads(ask(og, relay, "--json", "--temperature", "1.2", prompt).out)["session_id"]
    listed = og("sessions", "list", "--json")
    assert sid in [s["id"] for s in listed.json()]
    saved = json.loads((data_dir() / "sessions" / f"{sid}.json").read_text())
    assert saved["temperature"] == 1.2
    assert saved["model"] == "openai/gpt-4.1-mini"
    assert saved["settlement_mode"] == "batch"


def test_no_save_leaves_no_session(og: Any, relay: Devnet) -> None:
    before = len(SessionStore().list())
    doc = json.loads(ask(og, relay, "--json", "--no-save", unique_prompt()).out)
    assert doc["session_id"] is None
    assert len(SessionStore().list()) == before


def _write_personas(text: str) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


PERSONAS = """
[personas.reviewer]
system = "You review diffs. Most important issue first."
model = "claude-sonnet-4-6"
temperature = 0.2
max_tokens = 300
"""


def test_a_persona_sets_system_model_temperature_and_flags_override_it(
    og: Any, relay: Devnet, upstream: RecordingUpstream
) -> None:
    _write_personas(PERSONAS)
    doc = json.loads(
        og("ask", "--devnet-url", relay.url, "--json", "--persona", "reviewer", "diff 1").out
    )
    sent = upstream.requests[-1]
    assert doc["model"] == "anthropic/claude-sonnet-4-6"
    assert sent["messages"][0] == {
        "role": "system",
        "content": "You review diffs. Most important issue first.",
    }
    assert sent["temperature"] == 0.2
    assert sent["max_tokens"] == 300
    result = og(
        "ask", "--devnet-url", relay.url, "--persona", "reviewer",
        "--temperature", "0.9", "-s", "Be kind.", "-m", "gpt-4.1-mini", "diff 2",
    )  # fmt: skip
    assert result.code == 0, result.err
    sent = upstream.requests[-1]
    assert sent["temperature"] == 0.9
    assert sent["messages"][0]["content"] == "Be kind."
    assert sent["model"] == "gpt-4.1-mini"
    assert sent["max_tokens"] == 300  # not overridden: still the persona's
    session = SessionStore().latest()
    assert session.persona == "reviewer" and session.temperature == 0.9


def test_an_unknown_persona_is_a_usage_error_naming_the_key(og: Any, relay: Devnet) -> None:
    _write_personas(PERSONAS)
    result = og("ask", "--devnet-url", relay.url, "--persona", "nobody", "hi")
    assert result.code == EXIT_USAGE
    assert "personas.nobody" in result.err and "reviewer" in result.err


def test_a_bad_persona_value_names_the_key_and_what_is_allowed(og: Any, relay: Devnet) -> None:
    _write_personas("[personas.hot]\ntemperature = 7\n")
    result = og("ask", "--devnet-url", relay.url, "--persona", "hot", "hi")
    assert result.code == EXIT_USAGE
    assert "personas.hot.temperature" in result.err
    assert "from 0 to 2" in result.err


def test_an_old_session_file_loads_and_can_be_continued(
    og: Any, relay: Devnet, upstream: RecordingUpstream
) -> None:
    """A session written before conversation settings existed (schema 1, no new keys)."""
    sessions = data_dir() / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    old = {
        "schema": 1,
        "id": "20240101-000000-0ld0ld00",
        "title": "from an older og-chat",
        "created_at": 1.0,
        "updated_at": 2.0,
        "settlement_mode": "private",
        "model": "openai/gpt-4.1-mini",
        "messages": [
            {"role": "user", "content": "old question", "created_at": 1.0},
            {"role": "assistant", "content": "old answer", "model": "openai/gpt-4.1-mini"},
            {"role": "user", "content": "a failed one"},
            {"role": "assistant", "error": "gateway error 502", "model": "openai/gpt-4.1-mini"},
        ],
    }
    Path(sessions / f"{old['id']}.json").write_text(json.dumps(old))
    result = og("ask", "--devnet-url", relay.url, "--json", "--session", str(old["id"]), "new")
    assert result.code == 0, result.err
    assert result.json()["receipt"]["settlement_mode"] == "private"  # the session's own mode
    assert upstream.requests[-1]["messages"] == [
        {"role": "user", "content": "old question"},
        {"role": "assistant", "content": "old answer"},
        {"role": "user", "content": "a failed one"},  # the failed answer is not resent
        {"role": "user", "content": "new"},
    ]


def test_continue_with_no_conversation_is_a_usage_error(og: Any, relay: Devnet) -> None:
    result = og("ask", "--devnet-url", relay.url, "-c", "hello")
    assert result.code == EXIT_USAGE
    assert "no conversation to continue" in result.err


def test_continue_and_session_cannot_be_combined(og: Any) -> None:
    result = og("ask", "-c", "--session", "x", "hi")
    assert result.code == EXIT_USAGE
