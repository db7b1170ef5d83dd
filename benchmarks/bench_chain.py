"""Devnet chain benchmarks: cold start to ready, on-chain settlements per second, memory.

    /work/venv/bin/python benchmarks/bench_chain.py [--settlements 300] [--concurrency 8] [--json]

Targets (DESIGN.md): ready ≤ 1.5 s from process start including imports; ≥ 15 on-chain
settlements/s; memory flat. A settlement here is an upto payment verified and settled
through the devnet facilitator (real transaction, receipt read back); the client's
signatures are made beforehand so the number measures the chain, not the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks._common import Row, print_rows, row  # noqa: E402

READY_SNIPPET = (
    "from og_chat.devnet.chain import Chain\n"
    "c = Chain.start()\n"
    "print('ready', flush=True)\n"
    "c.stop()\n"
)


def measure_ready(runs: int) -> list[float]:
    """Wall time from spawning `python` to the chain answering, per run."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", READY_SNIPPET], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        times.append(time.perf_counter() - start)
        proc.wait()
        assert line.strip() == "ready", line
    return times


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def measure_settlements(n: int, concurrency: int) -> dict[str, float]:
    from eth_account import Account

    from og_chat.devnet.chain import Chain
    from og_chat.devnet.facilitator import Facilitator
    from og_chat.sdk.signing import sign_payment
    from og_chat.sdk.x402 import PaymentRequired, PaymentRequirements

    chain = Chain.start()
    facilitator = Facilitator(chain)
    payers = [Account.from_key(os.urandom(32)) for _ in range(concurrency)]

    async def prepare(payer: Any) -> None:
        await chain.fund(payer.address, 10**24)
        data = chain.contract("OPGToken").functions.approve(chain.addresses.permit2, 2**256 - 1)
        tx = {
            "type": 2, "chainId": chain.chain_id, "nonce": 0, "to": chain.addresses.opg,
            "data": data._encode_transaction_data(), "gas": 80_000,
            "maxFeePerGas": 50 * 10**9, "maxPriorityFeePerGas": 10**9, "value": 0,
        }  # fmt: skip
        await chain.send_raw_transaction(
            bytes(Account.sign_transaction(tx, payer.key).raw_transaction)
        )

    await asyncio.gather(*(prepare(p) for p in payers))

    req = PaymentRequirements(
        scheme="upto", network=f"eip155:{chain.chain_id}", amount=str(10**17),
        asset=chain.addresses.opg, payTo=chain.accounts[9].address, maxTimeoutSeconds=3600,
        extra={"name": "OpenGradient", "version": "1", "assetTransferMethod": "permit2",
               "facilitatorAddress": facilitator.address},
    )  # fmt: skip
    required = PaymentRequired(x402Version=2, accepts=[req])
    keys = ["0x" + bytes(p.key).hex() for p in payers]
    payloads = [sign_payment(keys[i % concurrency], required, req).payload for i in range(n)]
    charge = req.model_copy(update={"amount": "12345"})

    async def one(payload: object) -> None:
        verdict = await facilitator.verify(payload, req)  # type: ignore[arg-type]
        assert verdict.is_valid, verdict
        result = await facilitator.settle(payload, charge)  # type: ignore[arg-type]
        assert result.success, result

    # Let the chain clock fall back to the wall clock, so the burst starts with the full budget.
    while chain.chain_time() > time.time() + 1:
        await asyncio.sleep(0.2)
    # Sequential burst (within the drift budget every settle gets its own block at once).
    burst = min(20, n // 4)
    t0 = time.perf_counter()
    for payload in payloads[:burst]:
        await one(payload)
    sequential = burst / (time.perf_counter() - t0)

    rss_before = rss_mb()
    queue = list(payloads[burst:])

    async def worker() -> None:
        while queue:
            await one(queue.pop())

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    sustained = (n - burst) / elapsed
    rss_after = rss_mb()

    head = int(chain.rpc("eth_blockNumber", []), 16)
    block = chain.rpc("eth_getBlockByNumber", ["latest", False])
    drift = int(block["timestamp"], 16) - time.time()
    chain.stop()
    return {
        "sequential_burst_per_s": round(sequential, 1),
        "concurrent_sustained_per_s": round(sustained, 1),
        "concurrency": concurrency,
        "settlements": n,
        "blocks": head,
        "chain_clock_ahead_s": round(drift, 1),
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_after": round(rss_after, 1),
    }


async def measure_transfers(n: int, concurrency: int) -> float:
    """Anchor: plain OPG transfers (the simplest token transaction) on a fresh chain, same
    count and concurrency as the settlements: what the chain mines when no permit is checked."""
    from eth_account import Account

    from og_chat.devnet.chain import Chain

    chain = Chain.start()
    payers = [Account.from_key(os.urandom(32)) for _ in range(concurrency)]
    await asyncio.gather(*(chain.fund(p.address, 10**24) for p in payers))
    call = chain.contract("OPGToken").functions.transfer(chain.accounts[9].address, 1)
    data = call._encode_transaction_data()
    per_payer = max(1, n // concurrency)

    async def transfers(payer: Any) -> None:
        for nonce in range(per_payer):
            tx = {
                "type": 2, "chainId": chain.chain_id, "nonce": nonce, "to": chain.addresses.opg,
                "data": data, "gas": 80_000, "maxFeePerGas": 50 * 10**9,
                "maxPriorityFeePerGas": 10**9, "value": 0,
            }  # fmt: skip
            raw = bytes(Account.sign_transaction(tx, payer.key).raw_transaction)
            assert (await chain.send_raw_transaction(raw)).status == 1

    while chain.chain_time() > time.time() + 1:
        await asyncio.sleep(0.2)
    t0 = time.perf_counter()
    await asyncio.gather(*(transfers(p) for p in payers))
    rate = per_payer * concurrency / (time.perf_counter() - t0)
    chain.stop()
    return rate


IMPORT_FLOOR = "import web3, eth_tester, eth.vm.forks"


def measure_import_floor(runs: int) -> float:
    """Anchor: a fresh interpreter importing the chain's stack (web3, py-evm), nothing else."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORT_FLOOR], check=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(runs: int = 3, settlements: int = 240, concurrency: int = 8) -> list[Row]:
    """Measure and return the rows of the benchmark table."""
    ready = statistics.median(measure_ready(runs))
    floor = measure_import_floor(runs)
    m = asyncio.run(measure_settlements(settlements, concurrency))
    sustained, burst = m["concurrent_sustained_per_s"], m["sequential_burst_per_s"]
    transfers = asyncio.run(measure_transfers(settlements, concurrency))
    return [
        row(f"chain alone ready, fresh process (median of {runs})", ready, "s", "≤ 1.5 s",
            f"python + `{IMPORT_FLOOR}` {floor:.2f} s (ratio {ready / floor:.2f})", ready <= 1.5),
        row(f"chain: settlements/s, {settlements} verify+settle at concurrency {concurrency}",
            sustained, "/s", "≥ 15",
            f"plain OPG transfers, same count and concurrency, fresh chain {transfers:.1f}/s "
            f"(ratio {sustained / transfers:.2f}); "
            f"sequential burst {burst:.1f}/s; RSS {m['rss_mb_before']:.0f}→{m['rss_mb_after']:.0f} MiB; "
            f"{m['blocks']} blocks, clock +{m['chain_clock_ahead_s']:.0f} s",
            sustained >= 15),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settlements", type=int, default=240)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    if args.json:
        ready = measure_ready(args.runs)
        out: dict[str, object] = {
            "ready_s_median": round(statistics.median(ready), 3),
            "ready_s_runs": [round(t, 3) for t in ready],
        }
        out.update(asyncio.run(measure_settlements(args.settlements, args.concurrency)))
        print(json.dumps(out, indent=1))
    else:
        print_rows(run(args.runs, args.settlements, args.concurrency))


if __name__ == "__main__":
    main()
