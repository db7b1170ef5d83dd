"""Whatever is on disk, loading answers with data, warnings or our typed errors, never a crash."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import tomli_w
from hypothesis import HealthCheck, given, settings, strategies as st

from og_chat.sdk.types import Receipt
from og_chat.store.config import ConfigError, load_config
from og_chat.store.query import ReceiptQuery
from og_chat.store.receipts import ReceiptStore
from og_chat.store.sessions import SessionError, SessionStore

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def good_line(n: int) -> bytes:
    receipt = Receipt(
        id=f"r{n}",
        created_at=float(n),
        model="m",
        provider="p",
        network="n",
        endpoint="e",
        settlement_mode="batch",
    )
    return json.dumps({"type": "receipt", "v": 1, "receipt": receipt.to_dict()}).encode() + b"\n"


record_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["receipt", "event", "other", 1]), "v": st.integers(-1, 3)},
    optional={
        "receipt": json_values
        | st.fixed_dictionaries({"id": st.text(max_size=5), "created_at": json_values}),
        "id": json_values,
        "fields": st.dictionaries(
            st.sampled_from(["payment_status", "model", "created_at", "x"]), json_values
        ),
        "at": json_values,
    },
).map(lambda d: json.dumps(d).encode() + b"\n")

lines = st.lists(
    st.integers(0, 50).map(good_line)
    | record_like
    | st.binary(max_size=60)
    | json_values.map(lambda v: json.dumps(v).encode() + b"\n"),
    max_size=12,
)


def check_receipt_log(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        (data / "receipts.jsonl").write_bytes(content)
        store = ReceiptStore(data)
        receipts = store.load()
        assert all(isinstance(r.id, str) and isinstance(r.model, str) for r in receipts)
        quarantined = [w for w in store.warnings if w.kind == "quarantined"]
        if quarantined:
            assert quarantined[0].path is not None
            assert quarantined[0].path.read_bytes() == content  # the original, byte for byte
        again = ReceiptStore(data)
        assert [r.id for r in again.load()] == [r.id for r in receipts]
        assert "quarantined" not in {w.kind for w in again.warnings}  # one repair is enough
        store.filter(
            ReceiptQuery(model="m", provider="p", mode="batch", status="settled", since=1.0)
        )
        store.append(
            Receipt(
                id="new",
                created_at=1.0,
                model="m",
                provider="p",
                network="n",
                endpoint="e",
                settlement_mode="batch",
            )
        )
        assert ReceiptStore(data).load()[-1].id == "new"


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_in_the_receipt_log(content: bytes) -> None:
    check_receipt_log(content)


@FUZZ
@given(lines)
def test_random_lines_in_the_receipt_log(parts: list[bytes]) -> None:
    check_receipt_log(b"".join(parts))


def check_config(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(content)
        try:
            load_config(path, environ={})
        except ConfigError as exc:
            assert str(path) in str(exc)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_config(content: bytes) -> None:
    check_config(content)


toml_tables = st.dictionaries(
    st.sampled_from(
        ["network", "model", "settlement_mode", "theme", "keymap", "spend", "top_up", "x"]
    ),
    st.text(max_size=12)
    | st.integers()
    | st.booleans()
    | st.floats(allow_nan=False)
    | st.dictionaries(
        st.sampled_from(
            ["max_per_authorization_opg", "max_deadline_seconds", "devnet", "quit", "y"]
        ),
        st.text(max_size=8) | st.integers() | st.floats(allow_nan=False),
        max_size=3,
    ),
    max_size=5,
)


@FUZZ
@given(toml_tables)
def test_random_tables_as_config(table: dict[str, object]) -> None:
    check_config(tomli_w.dumps(table).encode())


def check_session(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(Path(tmp))
        store.directory.mkdir()
        (store.directory / "fuzz.json").write_bytes(content)
        (store.directory / ".index.json").write_bytes(content)
        try:
            session = store.load("fuzz")
            assert session.id
        except SessionError:
            pass
        listed = store.list()
        assert len(listed) + len(store.warnings) == 1


session_like = st.fixed_dictionaries(
    {"id": st.sampled_from(["fuzz", "", "../x"]) | json_values},
    optional={
        "schema": json_values,
        "title": json_values,
        "created_at": json_values,
        "messages": st.lists(
            st.fixed_dictionaries(
                {"role": st.sampled_from(["user", "assistant", "robot"]) | json_values},
                optional={
                    "content": json_values,
                    "tool_calls": json_values,
                    "partial": json_values,
                },
            ),
            max_size=3,
        )
        | json_values,
    },
)


@FUZZ
@given(st.binary(max_size=300) | session_like.map(lambda d: json.dumps(d).encode()))
def test_random_session_files(content: bytes) -> None:
    check_session(content)
