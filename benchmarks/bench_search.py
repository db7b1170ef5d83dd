"""Benchmark full-text search against the targets of issue 14 (item 3).

- a search over 10,000 conversations / 1,000,000 messages answers in ≤ 0.3 s (median),
  the check of every session file against the index included; anchor: a sequential
  scan of the JSON files for the same word, in the same run
- the index update of one save (a 100-message session gaining one message) ≤ 5 ms;
  anchor: the save's own atomic write + fsync, in the same run

The corpus is generated once and cached under /tmp, keyed by `CORPUS_VERSION` and its
size: words drawn from a Zipf-like vocabulary (a few very common, most rare), with
planted words of known frequency to search for. Building it (and its index) takes a
few minutes the first time.

Run: ``python benchmarks/bench_search.py [--sessions 10000] [--messages 100]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks._common import Row, print_rows, row
from og_chat.store.search import Search
from og_chat.store.search_index import file_stamp
from og_chat.store.sessions import Message, SessionStore

CORPUS_VERSION = 1
"""Bump when the corpus's shape changes: a new cache folder is generated."""
WORDS_PER_MESSAGE = 24
VOCABULARY = 30_000
PLANTED = {"quetzalrare": 10, "marmosetmid": 1_000, "wombatwide": 50_000}
"""Words put into that many messages each of a 1,000,000-message corpus (a smaller corpus
gets proportionally fewer, at least one), to search for."""


def planted_counts(total: int) -> dict[str, int]:
    return {w: max(1, n * total // 1_000_000) for w, n in PLANTED.items()}


def corpus_dir(sessions: int, messages: int) -> Path:
    return Path(f"/tmp/og-bench-search-v{CORPUS_VERSION}-{sessions}x{messages}")


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(VOCABULARY)]
    weights = [1.0 / (rank + 1) for rank in range(VOCABULARY)]
    return words, weights


def generate(root: Path, sessions: int, messages: int) -> None:
    """Session files as `SessionStore` writes them, without going through pydantic (speed)."""
    rng = random.Random(CORPUS_VERSION)
    words, weights = _vocabulary(rng)
    total = sessions * messages
    planted: dict[int, list[str]] = {}
    for word, count in planted_counts(total).items():
        for slot in rng.sample(range(total), count):
            planted.setdefault(slot, []).append(word)
    directory = root / "sessions"
    directory.mkdir(parents=True, exist_ok=True)
    pool = rng.choices(words, weights, k=200_000)  # drawing per word is the slow part
    base = 1_750_000_000.0
    for s in range(sessions):
        body = []
        for m in range(messages):
            start = rng.randrange(len(pool) - WORDS_PER_MESSAGE)
            text = pool[start : start + WORDS_PER_MESSAGE] + planted.get(s * messages + m, [])
            role = "user" if m % 2 == 0 else "assistant"
            body.append({"role": role, "content": " ".join(text), "created_at": base + m})
        sid = f"20250101-{s:06d}-{s:08x}"
        doc = {
            "schema": 1, "id": sid, "title": f"conversation {s}", "created_at": base + s,
            "updated_at": base + s, "settlement_mode": "batch",
            "model": "anthropic/claude-haiku-4-5", "messages": body,
        }  # fmt: skip
        (directory / f"{sid}.json").write_text(json.dumps(doc, indent=1))
        if s % 1000 == 999:
            print(f"  generated {s + 1} conversations", file=sys.stderr, flush=True)
    (root / "complete").write_text("ok")


def ensure_corpus(sessions: int, messages: int) -> tuple[Path, str]:
    root = corpus_dir(sessions, messages)
    if (root / "complete").exists():
        note = "cached corpus"
    else:
        print(f"  generating {sessions * messages:,} messages in {root}", file=sys.stderr)
        t0 = time.perf_counter()
        generate(root, sessions, messages)
        note = f"corpus generated this run in {time.perf_counter() - t0:.0f} s"
    search = Search(root)
    t0 = time.perf_counter()
    read = search.sync(lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    if read:
        note += f"; index built from {read} files in {time.perf_counter() - t0:.0f} s"
    search.close()
    return root, note


def sequential_scan(root: Path, word: str) -> tuple[float, int]:
    """The anchor: read and parse every session file, look for the word in each message."""
    t0 = time.perf_counter()
    hits = 0
    for entry in os.scandir(root / "sessions"):
        if not entry.name.endswith(".json") or entry.name.startswith("."):
            continue  # .index.json is the session list's cache, not a conversation
        with open(entry.path, "rb") as f:
            doc = json.load(f)
        for message in doc["messages"]:
            if word in (message.get("content") or "").lower().split():
                hits += 1
    return time.perf_counter() - t0, hits


def time_searches(root: Path, word: str, repeats: int) -> tuple[float, int]:
    search = Search(root)
    search.search(word)  # the process's first query warms sqlite's page cache
    times = []
    found = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        results = search.search(word)
        times.append(time.perf_counter() - t0)
        found = len(results.messages)
    search.close()
    return statistics.median(times), found


def time_index_updates(root: Path, saves: int) -> tuple[float, float]:
    """(median index update, median whole save) for a 100-message session gaining a message."""
    store = SessionStore(root)
    session = store.latest()
    index_times, save_times = [], []
    path = store.path_for(session.id)
    for n in range(saves):
        session.messages.append(Message(role="user", content=f"benchmark addition {n} kiwi"))
        t0 = time.perf_counter()
        store.save(session)
        save_times.append(time.perf_counter() - t0)
        stamp = file_stamp(path.stat())
        session.messages.append(Message(role="assistant", content=f"answer {n} kiwi"))
        t0 = time.perf_counter()
        store.index(session, stamp)  # the hook alone (the file is not rewritten here)
        index_times.append(time.perf_counter() - t0)
    for _ in range(2 * saves):  # leave the cached corpus as it was
        session.messages.pop()
    store.save(session)
    store.search_index.close()
    return statistics.median(index_times), statistics.median(save_times)


def run(sessions: int = 10_000, messages: int = 100, repeats: int = 7) -> list[Row]:
    root, note = ensure_corpus(sessions, messages)
    size = f"{sessions:,} conversations / {sessions * messages:,} messages"
    rows = []
    scan_time, scan_hits = sequential_scan(root, "marmosetmid")
    for word, planted in planted_counts(sessions * messages).items():
        median, found = time_searches(root, word, repeats)
        rows.append(
            row(
                f"search over {size}: '{word}' in {planted:,} messages, top {found} "
                f"(median of {repeats})",
                median, "s", "≤ 0.3 s",
                f"sequential scan of the JSON files 'marmosetmid' {scan_time:.1f} s, "
                f"{scan_hits} hits (ratio {median / scan_time:.4f}); {note}",
                median <= 0.3,
            )
        )  # fmt: skip
    index_update, save = time_index_updates(root, 50)
    rows.append(
        row(
            "search index update on save, 100-message session + 1 message (median of 50)",
            index_update * 1000, "ms", "≤ 5 ms",
            f"the save's atomic write + fsync + index {save * 1000:.2f} ms "
            f"(ratio {index_update / save:.2f})",
            index_update * 1000 <= 5,
        )
    )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100)
    args = parser.parse_args()
    print_rows(run(args.sessions, args.messages))


if __name__ == "__main__":
    main()
