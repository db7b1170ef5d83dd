"""Item 9: concurrent first runs do not race.

A fresh `og-chat devnet`, one data directory, 100 `og-chat ask` started at once. The
devnet sponsors approvals, so every first payment carries its own signed approval (all
with the dev account's nonce 0); the facilitator broadcasts the first before its
session settles and finds the others covered by it. (A gateway that does not sponsor
is approved by one process at a time, under `store.locks.APPROVAL_LOCK`: the second
test.) Every run succeeds; the dev account sends exactly one transaction (no nonce
race, no `Invalid transaction nonce`, no 120 s receipt waits).

Each run reads its allowance with an `eth_call` on the devnet's `/rpc`. While that call's
time limit was 1 s of wall-clock time, the reads of a devnet busy with a hundred payments could be
aborted; a run that cannot read its allowance pays without an approval and is refused
("allowance to Permit2 is 0"): 54 of 100 once, on a loaded machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from og_chat.sdk.addresses import DEVNET_ADDRESSES

PROCESSES = 100
NICENESS = 10
"""How much lower than the test's own the runs' CPU priority is."""


@pytest.fixture
def fresh_devnet(tmp_path: Path) -> Iterator[str]:
    """`og-chat devnet` in its own process and home, unpaced; its gateway URL."""
    env = {**os.environ, "OG_CHAT_HOME": str(tmp_path / "devnet-home")}
    env.pop("OG_DEVNET_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "og_chat.cli", "devnet", "--port", "0", "--tokens-per-second", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = None
    assert server.stdout is not None
    deadline = time.monotonic() + 120
    for line in server.stdout:
        found = re.match(r"\s+gateway\s+(http://\S+)", line)
        if found:
            url = found.group(1)
            break
        assert time.monotonic() < deadline, "the devnet did not start"
    try:
        assert url, "the devnet printed no gateway URL"
        yield url
    finally:
        server.send_signal(signal.SIGINT)  # it settles its open sessions, then exits
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def _at_once(commands: list[list[str]], home: Path) -> list[tuple[int, str, str]]:
    """Start every command at once with one data directory; (exit code, stdout, stderr) each.

    They run at a lower priority (nice 10): a hundred of them took both cores for a
    minute, and a snapshot test on the other xdist worker, starved, timed out in Textual's
    30 s wait for its widgets (one CI run). The devnet serving them keeps its priority.
    """
    env = {**os.environ, "OG_CHAT_HOME": str(home)}
    env.pop("OG_DEVNET_URL", None)
    runs = []
    for command in commands:
        run = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        with contextlib.suppress(OSError):  # it may already have exited
            os.setpriority(os.PRIO_PROCESS, run.pid, NICENESS)
        runs.append(run)
    outputs = [run.communicate(timeout=600) for run in runs]
    return [(run.returncode, out, err) for run, (out, err) in zip(runs, outputs, strict=True)]


def _dev_account_nonce(devnet_url: str) -> int:
    """How many transactions the dev account (the wallet every run pays with) has sent."""
    rpc = httpx.post(
        devnet_url + "/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionCount",
              "params": [DEVNET_ADDRESSES[0], "latest"]},
        timeout=30,
    ).json()  # fmt: skip
    return int(rpc["result"], 16)


def test_a_hundred_first_runs_at_once_all_succeed_with_one_approval(
    fresh_devnet: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    ask = [sys.executable, "-m", "og_chat.cli", "ask", "--devnet-url", fresh_devnet,
           "-m", "gpt-4.1-mini", "--max-tokens", "4"]  # fmt: skip
    results = _at_once([[*ask, f"say {i}"] for i in range(PROCESSES)], tmp_path / "one-home")
    elapsed = time.monotonic() - started
    failed = [(code, err[-300:]) for code, _, err in results if code != 0]
    assert failed == [], failed[:3]
    assert not any("nonce" in err.lower() for _, _, err in results)
    assert all("receipt " in err for _, _, err in results)
    assert _dev_account_nonce(fresh_devnet) == 1  # one approval for a hundred processes
    print(f"{PROCESSES} first runs in {elapsed:.1f} s")


TOP_UP = """
import asyncio, sys
from og_chat.app.runtime import Runtime
from og_chat.sdk.network_choice import NetworkRequest

async def main() -> None:
    runtime = await Runtime.open(request=NetworkRequest(devnet_url=sys.argv[1]), top_up=False)
    try:
        print(await runtime.top_up())
    finally:
        await runtime.close()

asyncio.run(main())
"""
"""What `open` runs where the gateway does not sponsor approvals: `Runtime.top_up`."""

APPROVERS = 8


def test_where_the_gateway_does_not_sponsor_one_process_approves_and_the_others_wait(
    fresh_devnet: str, tmp_path: Path
) -> None:
    """The approval lock: of eight processes topping up one wallet from one data directory
    at once, one sends the approval; the others wait for it, then find it and send nothing."""
    command = [sys.executable, "-c", TOP_UP, fresh_devnet]
    results = _at_once([command] * APPROVERS, tmp_path / "one-home")
    assert [code for code, _, _ in results] == [0] * APPROVERS, [e[-300:] for _, _, e in results]
    sent = [out.strip() for _, out, _ in results if out.strip() != "None"]
    assert len(sent) == 1 and sent[0].startswith("0x"), [out for _, out, _ in results]
    assert _dev_account_nonce(fresh_devnet) == 1
