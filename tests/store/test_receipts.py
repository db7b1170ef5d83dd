"""The receipt log: append-only, folded on load, damage kept aside and never deleted."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from og_chat.sdk.types import Receipt
from og_chat.store.query import ReceiptQuery
from og_chat.store.receipts import (
    ReceiptError,
    ReceiptNotFound,
    ReceiptStore,
    export_csv,
    export_json,
)

REPO = Path(__file__).resolve().parents[2]


MakeReceipt = Callable[..., Receipt]


def kinds(store: ReceiptStore) -> list[str]:
    return [w.kind for w in store.warnings]


def test_append_then_load_in_order(data: Path, make_receipt: MakeReceipt) -> None:
    store = ReceiptStore(data)
    written = [make_receipt(f"r{n}", merkle_proof=["0x01", "0x02"]) for n in range(5)]
    for r in written:
        store.append(r)
    loaded = ReceiptStore(data).load()
    assert loaded == written
    assert all(isinstance(r, Receipt) for r in loaded)
    lines = (data / "receipts.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["type"] == "receipt" and json.loads(lines[0])["v"] == 1


def test_events_are_appended_and_folded_not_rewritten(
    data: Path, make_receipt: MakeReceipt
) -> None:
    store = ReceiptStore(data)
    store.append(make_receipt("abc123"))
    before = (data / "receipts.jsonl").read_bytes()
    store.append_event("abc123", payment_status="settled", payment_tx="0x" + "12" * 32)
    store.append_event("abc123", merkle_proof=["0xaa"], batch_root="0xbb")
    after = (data / "receipts.jsonl").read_bytes()
    assert after.startswith(before)
    (r,) = ReceiptStore(data).load()
    assert r.payment_status == "settled" and r.payment_tx == "0x" + "12" * 32
    assert r.merkle_proof == ["0xaa"] and r.batch_root == "0xbb"
    event = json.loads(after.splitlines()[1])
    assert event["type"] == "event" and event["id"] == "abc123" and "at" in event


def test_event_may_not_change_identity(data: Path) -> None:
    with pytest.raises(ReceiptError, match="id"):
        ReceiptStore(data).append_event("x", id="y")
    with pytest.raises(ReceiptError, match="colour"):
        ReceiptStore(data).append_event("x", colour="red")


def test_incremental_load_sees_new_appends(data: Path, make_receipt: MakeReceipt) -> None:
    store = ReceiptStore(data)
    store.append(make_receipt("a"))
    assert [r.id for r in store.load()] == ["a"]
    other = ReceiptStore(data)
    other.append(make_receipt("b"))
    other.append_event("a", payment_status="failed")
    loaded = store.load()
    assert [r.id for r in loaded] == ["a", "b"]
    assert loaded[0].payment_status == "failed"


def test_get_by_id_or_unique_prefix(data: Path, make_receipt: MakeReceipt) -> None:
    store = ReceiptStore(data)
    for rid in ("0xaaaa01", "0xaaaa02", "0xbbbb01"):
        store.append(make_receipt(rid))
    assert store.get("0xbb").id == "0xbbbb01"
    assert store.get("0xaaaa02").id == "0xaaaa02"
    with pytest.raises(ReceiptNotFound, match="matches 2"):
        store.get("0xaaaa")
    with pytest.raises(ReceiptNotFound):
        store.get("0xcc")


def test_filter(data: Path, make_receipt: MakeReceipt) -> None:
    store = ReceiptStore(data)
    store.append(make_receipt("1", created_at=100.0))
    store.append(make_receipt("2", created_at=200.0, model="openai/gpt-5", provider="openai"))
    store.append(make_receipt("3", created_at=300.0, settlement_mode="private"))
    store.append_event("3", payment_status="settled")
    ids = lambda rs: [r.id for r in rs]  # noqa: E731
    assert ids(store.filter(ReceiptQuery(model="gpt-5"))) == ["2"]
    assert ids(store.filter(ReceiptQuery(model="openai/gpt-5"))) == ["2"]
    assert ids(store.filter(ReceiptQuery(provider="anthropic"))) == ["1", "3"]
    assert ids(store.filter(ReceiptQuery(mode="private"))) == ["3"]
    assert ids(store.filter(ReceiptQuery(status="settled"))) == ["3"]
    assert ids(store.filter(ReceiptQuery(since=150.0))) == ["2", "3"]
    assert ids(store.filter(ReceiptQuery(provider="anthropic", since=150))) == ["3"]


def test_exports(data: Path, make_receipt: MakeReceipt) -> None:
    store = ReceiptStore(data)
    store.append(make_receipt("r1", merkle_proof=["0x1", "0x2"]))
    store.append(make_receipt("r2", output_text='a "quoted", multi\nline answer'))
    receipts = store.load()
    assert [d["id"] for d in json.loads(export_json(receipts))] == ["r1", "r2"]
    rows = list(csv.DictReader(io.StringIO(export_csv(receipts))))
    assert rows[0]["merkle_proof"] == '["0x1", "0x2"]'
    assert rows[1]["output_text"] == 'a "quoted", multi\nline answer'
    assert rows[0]["conversation_id"] == ""


def test_torn_last_line_is_skipped_reported_and_set_aside_on_next_append(
    data: Path, make_receipt: MakeReceipt
) -> None:
    store = ReceiptStore(data)
    store.append(make_receipt("good"))
    path = data / "receipts.jsonl"
    with path.open("ab") as f:
        f.write(b'{"type":"receipt","v":1,"receipt":{"id":"tor')
    fresh = ReceiptStore(data)
    assert [r.id for r in fresh.load()] == ["good"]
    assert kinds(fresh) == ["torn"]
    fresh.append(make_receipt("next"))
    assert [r.id for r in ReceiptStore(data).load()] == ["good", "next"]
    (torn,) = data.glob("receipts.jsonl.torn-*")
    assert torn.read_bytes() == b'{"type":"receipt","v":1,"receipt":{"id":"tor'
    assert not list(data.glob("receipts.jsonl.corrupt-*"))


def test_corrupt_middle_is_quarantined_and_good_lines_kept(
    data: Path, make_receipt: MakeReceipt
) -> None:
    store = ReceiptStore(data)
    store.append(make_receipt("first"))
    path = data / "receipts.jsonl"
    with path.open("ab") as f:
        f.write(b"\x00\x00garbage\xff not json\n")
        f.write(b'{"type":"receipt","v":1,"receipt":{"id":5}}\n')
    store.append(make_receipt("second"))
    store.append_event("second", payment_status="settled")
    original = path.read_bytes()

    fresh = ReceiptStore(data)
    loaded = fresh.load()
    assert [r.id for r in loaded] == ["first", "second"]
    assert loaded[1].payment_status == "settled"
    assert kinds(fresh) == ["quarantined"]
    warning = fresh.warnings[0]
    assert warning.path is not None and warning.path.name.startswith("receipts.jsonl.corrupt-")
    assert "2 damaged line(s)" in str(warning)
    assert warning.path.read_bytes() == original  # nothing deleted
    # the live file is clean now: no second quarantine, appends keep working
    again = ReceiptStore(data)
    again.append(make_receipt("third"))
    assert [r.id for r in again.load()] == ["first", "second", "third"]
    assert again.warnings == []
    assert len(list(data.glob("receipts.jsonl.corrupt-*"))) == 1


def test_appender_follows_the_repaired_file(data: Path, make_receipt: MakeReceipt) -> None:
    writer = ReceiptStore(data)
    writer.append(make_receipt("a"))
    with (data / "receipts.jsonl").open("ab") as f:
        f.write(b"oops\n")
    ReceiptStore(data).load()  # quarantines, replacing the file the writer has open
    writer.append(make_receipt("b"))
    assert [r.id for r in ReceiptStore(data).load()] == ["a", "b"]


def test_records_from_a_newer_version_are_skipped_not_quarantined(
    data: Path, make_receipt: MakeReceipt
) -> None:
    store = ReceiptStore(data)
    store.append(make_receipt("a"))
    with (data / "receipts.jsonl").open("ab") as f:
        f.write(b'{"type":"receipt","v":2,"receipt":{"id":"future"}}\n')
        f.write(b'{"type":"annotation","v":1,"text":"hi"}\n')
        f.write(b'{"type":"event","v":1,"id":"ghost","at":1,"fields":{}}\n')
    store.append(make_receipt("b"))
    fresh = ReceiptStore(data)
    assert [r.id for r in fresh.load()] == ["a", "b"]
    assert kinds(fresh) == ["skipped", "skipped", "orphan_event"]
    assert not list(data.glob("receipts.jsonl.corrupt-*"))


def test_snapshot_speeds_cold_loads_and_is_ignored_when_stale(
    data: Path, make_receipt: MakeReceipt
) -> None:
    store = ReceiptStore(data)
    path = data / "receipts.jsonl"
    with path.open("ab") as f:  # many lines at once, as the snapshot only pays off then
        for n in range(1500):
            record = {"type": "receipt", "v": 1, "receipt": make_receipt(f"r{n}").to_dict()}
            f.write(json.dumps(record).encode() + b"\n")
    first = ReceiptStore(data).load()
    assert store.snapshot_path.exists()
    store.append_event("r7", payment_status="settled")
    store.append(make_receipt("late"))
    second = ReceiptStore(data).load()
    assert [r.id for r in second] == [r.id for r in first] + ["late"]
    assert second[7].payment_status == "settled"
    # a damaged snapshot is not trusted
    blob = bytearray(store.snapshot_path.read_bytes())
    blob[-10] ^= 0xFF
    store.snapshot_path.write_bytes(bytes(blob))
    assert ReceiptStore(data).load() == second
    # nor is one that describes another file
    store.snapshot_path.unlink()
    ReceiptStore(data).load()
    path.write_bytes(path.read_bytes().replace(b'"r1"', b'"x1"', 1))  # new inode, same size
    assert ReceiptStore(data).load()[1].id == "x1"


WRITER = """
import sys, time
from pathlib import Path
from og_chat.sdk.types import Receipt
from og_chat.store.receipts import ReceiptStore
store = ReceiptStore(Path(sys.argv[1]))
who = sys.argv[2]
for n in range(int(sys.argv[3])):
    store.append(Receipt(id=f"{who}-{n}", created_at=time.time(), model="m", provider="p",
        network="n", endpoint="e", settlement_mode="batch", output_text="x" * (n % 700)))
    if n % 5 == 0:
        store.append_event(f"{who}-{n}", payment_status="settled")
"""


def test_concurrent_writers_lose_nothing_and_never_interleave(data: Path) -> None:
    writers, each = 4, 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data), f"w{k}", str(each)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        for k in range(writers)
    ]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    raw = (data / "receipts.jsonl").read_bytes()
    lines = raw.split(b"\n")
    assert lines.pop() == b""
    assert all(json.loads(line)["type"] in ("receipt", "event") for line in lines)
    store = ReceiptStore(data)
    receipts = store.load()
    assert store.warnings == []
    assert {r.id for r in receipts} == {f"w{k}-{n}" for k in range(writers) for n in range(each)}
    assert all(
        (r.payment_status == "settled") == (int(r.id.split("-")[1]) % 5 == 0) for r in receipts
    )
