"""SIGKILL at random points: every acknowledged write survives and every file still loads.

A forked child appends receipts and events and saves a session in a tight loop,
writing an acknowledgement to a pipe only after the store call returned (that
is, after fsync). The parent kills it after a random number of acknowledgements and a random few
milliseconds, then checks the files. Every 25th round a damaged line is planted first, so kills also land
in the middle of a quarantine-and-repair.
"""

from __future__ import annotations

import os
import random
import select
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from og_chat.sdk.types import Receipt
from og_chat.store.receipts import ReceiptStore
from og_chat.store.sessions import Message, Session, SessionStore

ROUNDS = 220


MakeReceipt = Callable[..., Receipt]


def child(data: Path, round_no: int, ack: int, repair_first: bool, make: MakeReceipt) -> NoReturn:
    try:
        receipts = ReceiptStore(data)
        sessions = SessionStore(data)
        if repair_first:
            receipts.load()
        session = Session(id=f"crash-{round_no}", title=f"round {round_no}")
        n = 0
        while True:
            rid = f"k{round_no}-{n}"
            receipts.append(make(rid, output_text="y" * (n * 37 % 3000)))
            os.write(ack, f"R {rid}\n".encode())
            if n % 4 == 1:
                receipts.append_event(rid, payment_status="settled")
                os.write(ack, f"E {rid}\n".encode())
            if n % 5 == 2:
                session.messages.append(Message(role="user", content=f"message {n} " * 50))
                sessions.save(session)
                os.write(ack, f"S {session.id} {len(session.messages)}\n".encode())
            n += 1
    finally:
        os._exit(0)


def run_round(
    data: Path, round_no: int, rng: random.Random, repair_first: bool, make: MakeReceipt
) -> bytes:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        os.close(read_end)
        child(data, round_no, write_end, repair_first, make)
    os.close(write_end)
    chunks: list[bytes] = []
    # Kill after a random number of acknowledgements, then a random few milliseconds more:
    # the kill lands anywhere in a write, and the child always got work done first, however
    # slow the machine is (a pure time window starves the child on a loaded machine).
    wanted, seen = rng.randint(0, 12), 0
    give_up = time.monotonic() + 30.0
    while seen < wanted and time.monotonic() < give_up:
        if select.select([read_end], [], [], 0.5)[0]:
            chunk = os.read(read_end, 65536)
            chunks.append(chunk)
            seen += chunk.count(b"\n")
    deadline = time.monotonic() + rng.uniform(0.0, 0.005)
    while (left := deadline - time.monotonic()) > 0:
        if select.select([read_end], [], [], left)[0]:
            chunks.append(os.read(read_end, 65536))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    return b"".join(chunks)


@pytest.mark.slow
def test_sigkill_never_loses_an_acknowledged_write(data: Path, make_receipt: MakeReceipt) -> None:
    rng = random.Random(0xC0FFEE)
    acked: set[str] = set()
    settled: set[str] = set()
    saved: dict[str, int] = {}
    watcher = ReceiptStore(data)  # one long-lived reader: exercises incremental loads
    for round_no in range(ROUNDS):
        plant = round_no % 25 == 24
        if plant:
            with (data / "receipts.jsonl").open("ab") as f:
                f.write(b"\x00 planted damage \xff\n")
        out = run_round(data, round_no, rng, plant, make_receipt)
        for line in out.decode().splitlines():  # only whole lines: a cut ack is no ack
            kind, *rest = line.split()
            if kind == "R":
                acked.add(rest[0])
            elif kind == "E":
                settled.add(rest[0])
            elif kind == "S" and len(rest) == 2:
                saved[rest[0]] = int(rest[1])
        by_id = {r.id: r for r in watcher.load()}
        missing = acked - by_id.keys()
        assert not missing, f"round {round_no}: lost {sorted(missing)[:5]}"
        assert all(by_id[rid].payment_status == "settled" for rid in settled)
        assert {w.kind for w in watcher.warnings} <= {"torn", "quarantined"}
        if round_no % 20 == 0:
            assert acked <= {r.id for r in ReceiptStore(data).load()}

    fresh = ReceiptStore(data)
    assert acked <= {r.id for r in fresh.load()}
    sessions = SessionStore(data)
    listed = {s.id: s.message_count for s in sessions.list()}
    assert sessions.warnings == []
    for sid, count in saved.items():
        assert listed[sid] >= count
        assert len(sessions.load(sid).messages) >= count
    for extra in set(listed) - set(saved):  # saved, then killed before the ack
        sessions.load(extra)
    print(
        f"{ROUNDS} kills; {len(acked)} receipts, {len(settled)} events, {len(saved)} sessions acked"
    )
    assert len(acked) > 2 * ROUNDS  # the children got real work done between kills
    assert len(saved) > ROUNDS // 4
    assert list(data.glob("receipts.jsonl.corrupt-*"))  # planted damage was kept aside
