"""Benchmark the receipt log against the targets in DESIGN.md.

- append one receipt, including fdatasync: median ≤ 2 ms
- load 100,000 receipts (plus settlement events) from a cold store: median ≤ 0.5 s

Run: ``python benchmarks/bench_store.py [--receipts 100000] [--appends 500]``.
The receipts look like real ones: every hash, signature and payment field filled.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks._common import Row, print_rows, row
from og_chat.sdk.types import Receipt
from og_chat.store.receipts import RECORD_VERSION, ReceiptStore


def sample_receipt(n: int) -> Receipt:
    """A receipt with the fields a paid, batch-settled call fills in."""
    h = f"{n:064x}"
    return Receipt(
        id=f"rcpt-{n:010d}-{h[-12:]}",
        created_at=1_760_000_000.0 + n,
        model="anthropic/claude-haiku-4-5",
        provider="anthropic",
        network="eip155:8453",
        endpoint="https://gateway.example/v1/chat/completions",
        settlement_mode="batch",
        conversation_id="20250101-120000-abcdef",
        tee_id="0x" + h,
        request_hash="0x" + h,
        output_hash="0x" + h[::-1],
        tee_signature="A" * 344,
        tee_timestamp=1_760_000_000 + n,
        signature_status="verified",
        prompt_tokens=120,
        completion_tokens=480,
        total_tokens=600,
        price_opg="0.000123",
        charged_opg="0.000120",
        scheme="upto",
        asset="0xFbC2051AE2265686a469421b2C5A2D5462FbF5eB",
        pay_to="0x" + "ab" * 20,
        authorization_cap="100000000000000000",
        nonce=str(10**30 + n),
        deadline=1_760_000_300 + n,
        payer="0x" + "cd" * 20,
        upto_session="sess-" + h[:16],
        authorization_digest="0x" + h,
        payment_hash="0x" + h,
        payment_status="pending",
        output_text="Here is a short answer of a couple of sentences. " * 4,
        finish_reason="stop",
    )


def bench_append(directory: Path, count: int) -> float:
    """Median seconds per `ReceiptStore.append`, fdatasync included."""
    store = ReceiptStore(directory)
    times: list[float] = []
    for n in range(count):
        receipt = sample_receipt(n)
        start = time.perf_counter()
        store.append(receipt)
        times.append(time.perf_counter() - start)
    store.close()
    return statistics.median(times)


def write_log(directory: Path, count: int) -> int:
    """Write ``count`` receipts and one settlement event per ten, directly (no fsync)."""
    path = directory / "receipts.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for n in range(count):
            rec = {"type": "receipt", "v": RECORD_VERSION, "receipt": sample_receipt(n).to_dict()}
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
            if n % 10 == 0:
                event = {
                    "type": "event",
                    "v": RECORD_VERSION,
                    "id": sample_receipt(n).id,
                    "at": 1_760_000_100.0 + n,
                    "fields": {"payment_status": "settled", "payment_tx": "0x" + "ef" * 32},
                }
                f.write(json.dumps(event, separators=(",", ":")) + "\n")
    return path.stat().st_size


def bench_load(directory: Path, count: int, repeats: int, *, snapshot: bool) -> tuple[float, int]:
    """Median seconds for a new process's first `load` (a fresh store each time).

    With ``snapshot=False`` the snapshot is deleted before each run, so every line
    is parsed as JSON (the first start after the log was written by another tool).
    """
    times: list[float] = []
    loaded = 0
    store = ReceiptStore(directory)
    if snapshot:
        store.load()  # the first cold load writes the snapshot
    for _ in range(repeats):
        if not snapshot:
            store.snapshot_path.unlink(missing_ok=True)
        store = ReceiptStore(directory)
        start = time.perf_counter()
        receipts = store.load()
        times.append(time.perf_counter() - start)
        loaded = len(receipts)
        assert not store.warnings, store.warnings
    assert loaded == count
    return statistics.median(times), loaded


def bench_raw_append(directory: Path, count: int) -> float:
    """Anchor: the floor, `os.write` of the same encoded line + `os.fdatasync`, median seconds."""
    fd = os.open(directory / "raw.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times: list[float] = []
    try:
        for n in range(count):
            rec = {"type": "receipt", "v": RECORD_VERSION, "receipt": sample_receipt(n).to_dict()}
            start = time.perf_counter()
            os.write(fd, (json.dumps(rec, separators=(",", ":")) + "\n").encode())
            os.fdatasync(fd)
            times.append(time.perf_counter() - start)
    finally:
        os.close(fd)
    return statistics.median(times)


def bench_naive_parse(directory: Path) -> tuple[float, float]:
    """Anchors: read the log's bytes only; and `json.loads` every line (no folding, no objects)."""
    path = directory / "receipts.jsonl"
    start = time.perf_counter()
    data = path.read_bytes()
    read = time.perf_counter() - start
    start = time.perf_counter()
    for line in data.splitlines():
        json.loads(line)
    return read, time.perf_counter() - start + read


def run(receipts: int = 100_000, appends: int = 500, repeats: int = 3,
        directory: Path | None = None) -> list[Row]:  # fmt: skip
    """Measure and return the rows of the benchmark table."""
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        root = Path(tmp)
        (root / "append").mkdir()
        (root / "load").mkdir()
        append = bench_append(root / "append", appends)
        raw = bench_raw_append(root / "append", appends)
        size = write_log(root / "load", receipts)
        cold, loaded = bench_load(root / "load", receipts, repeats, snapshot=False)
        warm, _ = bench_load(root / "load", receipts, repeats, snapshot=True)
        read, naive = bench_naive_parse(root / "load")
    what = f"{loaded:,} receipts + {receipts // 10:,} events, {size / 1e6:.0f} MB"
    return [
        row(f"receipt append incl. fdatasync (median of {appends})", append * 1e3, "ms", "≤ 2 ms",
            f"raw os.write+fdatasync of the same line {raw * 1e3:.3f} ms (ratio {append / raw:.2f})",
            append <= 0.002),
        row(f"load {what}: with the snapshot (median of {repeats})", warm, "s", "≤ 0.5 s",
            f"read bytes only {read:.2f} s; json.loads per line {naive:.2f} s (ratio {warm / naive:.2f})",
            warm <= 0.5),
        row(f"load {what}: without the snapshot (parse all + write it, median of {repeats})", cold,
            "s", "≤ 0.5 s", f"json.loads per line {naive:.2f} s (ratio {cold / naive:.2f}); "
            "the first start after another tool wrote the log", cold <= 0.5),
    ]  # fmt: skip


def main() -> None:
    """Print the medians next to their targets."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write (default: a temp dir)"
    )
    args = parser.parse_args()
    print_rows(run(args.receipts, args.appends, args.repeats, args.dir))


if __name__ == "__main__":
    main()
