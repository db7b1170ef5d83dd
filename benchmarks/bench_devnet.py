"""Devnet benchmarks: ready time (fresh and resumed), paid calls/s, settlements/s, memory.

Run: `/work/venv/bin/python benchmarks/bench_devnet.py [--calls 10000] [--quick]`.
The client runs in the same process as the devnet (one GIL), so calls/s are
conservative; RSS is the whole process (client + gateway + chain).
Targets (DESIGN.md): ready ≤ 1.5 s from a fresh process; ≥ 20 paid calls/s on
a reused session; ≥ 15 on-chain settlements/s; RSS flat over 10,000 calls; ready
≤ 2 s after a restart with 10,000 settled calls in the kept chain (issue 11). That
chain is made once (a few minutes) and cached under /tmp, keyed by the contracts'
code and the store's schema.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks._common import Row, print_rows, row  # noqa: E402

IMPORT_FLOOR = "import web3, eth_tester, eth.vm.forks, aiohttp"
READY_SCRIPT = """
from og_chat.devnet import Devnet
d = Devnet.start(port=0, tokens_per_second=0)
print("READY", d.url, flush=True)
d.stop()
"""
RESUME_SCRIPT = """
import sys
from og_chat.devnet import Devnet
d = Devnet.start(port=0, tokens_per_second=0, state_dir=sys.argv[1])
assert d.chain.identity.resumed
print("READY", d.url, d.chain.index.head, flush=True)
d.stop()
"""
KEPT_MODES = ("private", "batch", "individual")
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


def ready_time(runs: int, script: str = READY_SCRIPT, *args: str) -> list[float]:
    """Seconds from spawning a fresh interpreter to the devnet answering (READY printed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, cwd=REPO, text=True
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


def kept_chain(calls: int) -> tuple[Path, str]:
    """A state directory holding `calls` settled paid calls (a third per mode), made once.

    Cached in /tmp by the contracts' code and the store schema; (path, how it was got).
    """
    from eth_account import Account

    from og_chat.devnet import Devnet
    from og_chat.devnet.chain_store import SCHEMA
    from og_chat.devnet.node import code_digest

    path = Path(tempfile.gettempdir()) / f"og-bench-kept-{calls}-{SCHEMA}-{code_digest()[2:14]}"
    if (path / "done").exists():
        return path, "cached"
    shutil.rmtree(path, ignore_errors=True)
    print(f"  making a kept chain of {calls:,} calls in {path}; once, a few minutes",
          file=sys.stderr, flush=True)  # fmt: skip
    keys = ["0x" + os.urandom(32).hex() for _ in range(6)]
    fund = [(Account.from_key(k).address, 10**6 * 10**18) for k in keys]
    devnet = Devnet.start(tokens_per_second=0, fund=fund, state_dir=path, batch_size=64)
    try:
        for k in keys:
            approve(devnet, k)

        def work(i: int) -> None:
            client = Paying(devnet, keys[i])
            mode = KEPT_MODES[i % 3]
            for _ in range(calls // len(keys)):
                client.call({"X-SETTLEMENT-TYPE": mode})

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(keys))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        devnet.stop()
    (path / "done").write_text("ok")
    return path, "made this run"


def resumed_ready_time(runs: int, calls: int) -> tuple[list[float], int, str, float]:
    """Ready time of a fresh process resuming a copy of the kept chain; (times, blocks, note,
    MiB on disk)."""
    kept, how = kept_chain(calls)
    size = sum(f.stat().st_size for f in kept.iterdir() if f.is_file()) / 2**20
    blocks = 0
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="og-bench-resume-") as tmp:
            copy = Path(tmp) / "state"
            shutil.copytree(kept, copy)
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", RESUME_SCRIPT, str(copy)],
                                    stdout=subprocess.PIPE, cwd=REPO, text=True)  # fmt: skip
            assert proc.stdout is not None
            line = proc.stdout.readline()
            times.append(time.perf_counter() - start)
            assert line.startswith("READY"), line
            blocks = int(line.split()[2])
            proc.wait(timeout=60)
    return times, blocks, how, size


def unpaid_per_second(devnet: Any, n: int) -> float:
    """Anchor: plain httpx POSTs answered 402 by the same gateway (no payment), per second."""
    with httpx.Client(timeout=30) as http:
        url = devnet.url + "/v1/chat/completions"
        http.post(url, json=BODY)
        start = time.perf_counter()
        for _ in range(n):
            assert http.post(url, json=BODY).status_code == 402
        return n / (time.perf_counter() - start)


def import_floor(runs: int) -> float:
    """Anchor: a fresh interpreter importing the devnet's stack, nothing else."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORT_FLOOR], check=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def verify_many(n: int) -> tuple[float, dict[str, int], float]:
    """`receipts verify` of n settled receipts in one run (one Verifier, as the CLI does):
    (seconds, verdict counts, anchor seconds: one plain eth_getTransactionReceipt per call)."""
    import asyncio
    from collections import Counter

    from og_chat.app.verify import Verifier
    from og_chat.devnet import Devnet
    from og_chat.sdk import LLM
    from og_chat.sdk.addresses import DEVNET_KEYS

    devnet = Devnet.start(tokens_per_second=0, session_idle=3600)
    receipts: list[Any] = []
    try:

        async def calls() -> None:
            llm = LLM(DEVNET_KEYS[4], network="devnet", devnet_url=devnet.url,
                      on_receipt=receipts.append)  # fmt: skip
            for i in range(n):
                mode = KEPT_MODES[i % len(KEPT_MODES)]
                await llm.chat("openai/gpt-4.1-mini", [{"role": "user", "content": f"call {i}"}],
                               max_tokens=8, x402_settlement_mode=mode)  # fmt: skip
            await llm.close()

        asyncio.run(calls())
        devnet.settle_open_sessions()
        devnet.flush_batch()
        time.sleep(2)  # the last block is sealed
        start = time.perf_counter()
        with Verifier() as verifier:
            states = Counter(verifier.verify(r).state.value for r in receipts)
        elapsed = time.perf_counter() - start
        rpc = devnet.url + "/rpc"
        start = time.perf_counter()
        with httpx.Client() as http:
            for r in receipts:
                http.post(rpc, json={"jsonrpc": "2.0", "id": 1, "params": [r.payment_tx],
                                     "method": "eth_getTransactionReceipt"})  # fmt: skip
        anchor = time.perf_counter() - start
    finally:
        devnet.stop()
    return elapsed, dict(states), anchor


def run(calls: int = 10_000, reps: int = 3) -> list[Row]:
    """Measure and return the rows of the benchmark table."""
    from eth_account import Account

    from og_chat.devnet import Devnet

    rows: list[Row] = []
    ready = statistics.median(ready_time(reps))
    floor = import_floor(reps)
    rows.append(row(f"devnet ready, fresh process → gateway answers (median of {reps})", ready,
                    "s", "≤ 1.5 s", f"python + `{IMPORT_FLOOR}` {floor:.2f} s "
                    f"(ratio {ready / floor:.2f})", ready <= 1.5))  # fmt: skip
    kept = 10_000
    times, blocks, how, size = resumed_ready_time(reps, kept)
    resumed = statistics.median(times)
    rows.append(row(f"devnet ready after a restart, {kept:,} settled calls kept "
                    f"(fresh process, median of {reps})", resumed, "s", "≤ 2 s",
                    f"fresh start {ready:.2f} s same run (ratio {resumed / ready:.2f}); "
                    f"{blocks:,} blocks, {size:.0f} MiB on disk ({how})",
                    resumed <= 2.0))  # fmt: skip
    keys = ["0x" + os.urandom(32).hex() for _ in range(8)]
    fund = [(Account.from_key(k).address, 1000 * 10**18) for k in keys]
    devnet = Devnet.start(tokens_per_second=0, session_idle=3600, fund=fund)
    try:
        for k in keys:
            approve(devnet, k)
        plain = unpaid_per_second(devnet, 200)
        for mode in ("private", "batch", "individual"):
            rates = [calls_per_second(devnet, keys[0], 50, mode) for _ in range(reps)]
            rate = statistics.median(rates)
            rows.append(row(f"devnet paid calls/s, one reused session, {mode} (50 calls × {reps})",
                            rate, "/s", "≥ 20", f"unpaid 402 round trips {plain:.0f}/s same gateway "
                            f"(ratio {rate / plain:.2f})", rate >= 20))  # fmt: skip
            devnet.settle_open_sessions()
        rates, blocks = [], []
        for _ in range(reps):
            head = int(devnet.chain.rpc("eth_blockNumber", []), 16)
            rate, count = settlements_per_second(devnet, keys, 30)
            rates.append(rate)
            blocks.append(int(devnet.chain.rpc("eth_blockNumber", []), 16) - head)
        rate = statistics.median(rates)
        rows.append(row(f"devnet on-chain settlements/s, {count} open sessions settled at once",
                        rate, "/s", "≥ 15", f"{statistics.median(blocks)} blocks per {count} "
                        "settlements; sustained load: see the chain row", rate >= 15))  # fmt: skip
        start = time.perf_counter()
        samples = memory_over_calls(devnet, keys[1], calls, "batch")
        elapsed = time.perf_counter() - start
        growth = samples[-1][1] - samples[1][1]
        rows.append(row(f"devnet RSS growth over {calls:,} paid batch calls, after the first tenth",
                        growth, "MiB", "flat: ≤ +5 MiB",
                        f"RSS {samples[0][1]:.0f}→{samples[-1][1]:.0f} MiB; "
                        f"{growth * 2**20 / (calls * 0.9):.0f} B/call; {calls / elapsed:.0f} calls/s",
                        growth <= 5))  # fmt: skip
    finally:
        devnet.stop()
    verified = 1_000
    seconds, states, anchor = verify_many(verified)
    rows.append(row(f"receipts verify of {verified:,} settled receipts, one run (a third per mode)",
                    seconds, "s", "≤ 10 s", f"one eth_getTransactionReceipt per call {anchor:.2f} s "
                    f"same devnet (ratio {seconds / anchor:.1f}); verdicts {states}",
                    seconds <= 10 and states == {"verified": verified}))  # fmt: skip
    return rows


def main() -> None:
    """Run every benchmark and print the rows."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000, help="calls for the memory run")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    print_rows(run(args.calls, 2 if args.quick else 3))


if __name__ == "__main__":
    main()
