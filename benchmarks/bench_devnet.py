"""Devnet benchmarks: ready time, paid calls/s, settlements/s, memory over many calls.

Run: `/work/venv/bin/python benchmarks/bench_devnet.py [--calls 10000] [--quick]`.
Targets (DESIGN.md): ready ≤ 1.5 s from a fresh process; ≥ 20 paid calls/s on
a reused session; ≥ 15 on-chain settlements/s; RSS flat over 10,000 calls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY_SCRIPT = """
from og_chat.devnet import Devnet
d = Devnet.start(port=0, tokens_per_second=0)
print("READY", d.url, flush=True)
d.stop()
"""
BODY = {
    "model": "gpt-4.1-mini",
    "messages": [{"role": "user", "content": "benchmark call"}],
    "max_tokens": 20,
    "temperature": 0.0,
}


def rss_mb() -> float:
    """Resident set size of this process, MiB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def ready_time(runs: int) -> list[float]:
    """Seconds from spawning a fresh interpreter to the devnet answering (READY printed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", READY_SCRIPT], stdout=subprocess.PIPE, cwd=REPO, text=True
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        times.append(time.perf_counter() - start)
        assert line.startswith("READY"), line
        proc.wait(timeout=60)
    return times


class Paying:
    """A synchronous paying client: one signature per session, X-Upto-Session after that."""

    def __init__(self, devnet: Any, key: str) -> None:
        from og_chat.sdk.signing import sign_payment
        from og_chat.sdk.x402 import decode_payment_required, encode_payment_signature

        self._sign, self._decode, self._encode = (
            sign_payment,
            decode_payment_required,
            encode_payment_signature,
        )
        self.devnet, self.key = devnet, key
        self.session: str | None = None
        self.http = httpx.Client(timeout=30)
        self.signatures = 0

    def call(self, headers: dict[str, str] | None = None, *, fresh: bool = False) -> httpx.Response:
        url = self.devnet.url + "/v1/chat/completions"
        h = dict(headers or {})
        if self.session and not fresh:
            h["X-Upto-Session"] = self.session
        resp = self.http.post(url, json=BODY, headers=h)
        if resp.status_code == 402 and "payment-required" not in resp.headers:
            resp = self.http.post(url, json=BODY, headers=dict(headers or {}))
        if resp.status_code == 402:
            required = self._decode(resp.headers["payment-required"])
            signed = self._sign(self.key, required, required.accepts[0])
            self.signatures += 1
            h = {**(headers or {}), "PAYMENT-SIGNATURE": self._encode(signed.payload)}
            resp = self.http.post(url, json=BODY, headers=h)
        resp.raise_for_status()
        self.session = resp.headers["x-upto-session"]
        return resp


def approve(devnet: Any, key: str) -> None:
    """Permit2 approval for a fresh genesis-funded key (nonce 0)."""
    sys.path.insert(0, REPO)
    from tests.devnet.paying_client import signed_approval

    assert devnet.chain.send_raw_transaction_sync(signed_approval(devnet, key)).status == 1


def calls_per_second(devnet: Any, key: str, n: int, mode: str) -> float:
    """Sequential paid calls on one reused session (one signature), end to end over HTTP."""
    client = Paying(devnet, key)
    client.call({"X-SETTLEMENT-TYPE": mode})  # opens the session
    start = time.perf_counter()
    for _ in range(n):
        client.call({"X-SETTLEMENT-TYPE": mode})
    elapsed = time.perf_counter() - start
    assert client.signatures == 1
    return n / elapsed


def settlements_per_second(devnet: Any, keys: list[str], sessions: int) -> tuple[float, int]:
    """Open `sessions` sessions (one call each), then settle them all on-chain at once."""
    clients = [Paying(devnet, keys[i % len(keys)]) for i in range(sessions)]
    for c in clients:
        c.call({"X-SETTLEMENT-TYPE": "private"}, fresh=True)
    start = time.perf_counter()
    records = devnet.settle_open_sessions()
    elapsed = time.perf_counter() - start
    settled = [r for r in records if r["status"] == "settled" and r["tx_hash"]]
    return len(settled) / elapsed, len(settled)


def memory_over_calls(devnet: Any, key: str, n: int, mode: str) -> list[tuple[int, float]]:
    """RSS after every n/10 calls on one session."""
    client = Paying(devnet, key)
    samples = [(0, rss_mb())]
    step = max(1, n // 10)
    for i in range(1, n + 1):
        client.call({"X-SETTLEMENT-TYPE": mode})
        if i % step == 0:
            samples.append((i, rss_mb()))
    return samples


def main() -> None:
    """Run every benchmark and print medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000, help="calls for the memory run")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    reps = 3 if args.quick else 5

    ready = ready_time(reps)
    print(f"ready (fresh process → gateway answers): median {statistics.median(ready):.3f} s  "
          f"runs {[round(t, 3) for t in ready]}  target ≤ 1.5 s")  # fmt: skip

    from eth_account import Account

    from og_chat.devnet import Devnet

    keys = ["0x" + os.urandom(32).hex() for _ in range(8)]
    fund = [(Account.from_key(k).address, 1000 * 10**18) for k in keys]
    devnet = Devnet.start(tokens_per_second=0, session_idle=3600, fund=fund)
    try:
        for k in keys:
            approve(devnet, k)
        for mode in ("private", "batch", "individual"):
            runs = [calls_per_second(devnet, keys[0], 50, mode) for _ in range(reps)]
            print(f"paid calls/s on one session ({mode:>10}): median {statistics.median(runs):.1f}  "
                  f"runs {[round(r, 1) for r in runs]}  target ≥ 20")  # fmt: skip
            devnet.settle_open_sessions()
        rates = []
        for _ in range(reps):
            rate, count = settlements_per_second(devnet, keys, 30)
            rates.append(rate)
        print(f"on-chain settlements/s ({count} sessions at once): median {statistics.median(rates):.1f}  "
              f"runs {[round(r, 1) for r in rates]}  target ≥ 15")  # fmt: skip
        for i, mode in enumerate(("private", "batch")):
            start = time.perf_counter()
            samples = memory_over_calls(devnet, keys[1 + i], args.calls, mode)
            elapsed = time.perf_counter() - start
            growth = samples[-1][1] - samples[1][1]
            print(f"RSS over {args.calls} paid calls, {mode} ({args.calls / elapsed:.0f} calls/s): "
                  + ", ".join(f"{n}: {mb:.0f}" for n, mb in samples)
                  + f" MiB  (after the first tenth: {growth:+.1f} MiB, "
                  f"{growth * 2**20 / (args.calls * 0.9):.0f} B/call)")  # fmt: skip
    finally:
        devnet.stop()


if __name__ == "__main__":
    main()
