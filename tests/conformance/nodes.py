"""The two nodes the conformance tests compare: anvil (from npm) and the devnet's `/rpc`.

anvil is the `@foundry-rs/anvil` devDependency (`npm ci` installs its binary under
node_modules/@foundry-rs/anvil-<platform>/bin/anvil). Without it the tests FAIL, they
do not skip: a CI run that lost npm must not pass as conformant.
"""

from __future__ import annotations

import glob
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def anvil_binary() -> str:
    """The anvil executable; fails the test when npm did not install it."""
    found = shutil.which("anvil")
    if found:
        return found
    candidates = glob.glob(str(REPO / "node_modules/@foundry-rs/anvil-*/bin/anvil"))
    if not candidates:
        pytest.fail(
            "anvil is not installed: run `npm ci` in the repository (it installs "
            "@foundry-rs/anvil); the conformance tests compare the devnet against it"
        )
    return candidates[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_anvil() -> Iterator[str]:
    """A fresh anvil on 127.0.0.1 (an ephemeral port); stopped on exit."""
    port = free_port()
    proc = subprocess.Popen(
        [anvil_binary(), "--host", "127.0.0.1", "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("anvil did not start")
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


class Node:
    """One JSON-RPC endpoint, spoken to in raw HTTP so every envelope detail shows."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.http = httpx.Client(timeout=30)
        self.saved: dict[str, Any] = {}
        """Values earlier steps stored (hashes, addresses) for later steps on this node."""

    def post(self, body: Any) -> tuple[int, Any]:
        """POST a JSON body; (HTTP status, decoded answer or None for an empty body)."""
        answer = self.http.post(self.url, json=body)
        return answer.status_code, (answer.json() if answer.content else None)

    def post_raw(self, content: bytes) -> tuple[int, Any]:
        answer = self.http.post(
            self.url, content=content, headers={"Content-Type": "application/json"}
        )
        return answer.status_code, (answer.json() if answer.content else None)

    def rpc(self, method: str, params: list[Any]) -> dict[str, Any]:
        """One request; the whole response object (result or error)."""
        status, answer = self.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        assert status == 200 and isinstance(answer, dict), (self.name, method, status, answer)
        return answer

    def result(self, method: str, params: list[Any]) -> Any:
        answer = self.rpc(method, params)
        assert "result" in answer, (self.name, method, params, answer)
        return answer["result"]

    def mined_receipt(self, tx_hash: str) -> dict[str, Any]:
        """The receipt, once the transaction is mined (both nodes answer at once: automine)."""
        deadline = time.monotonic() + 20
        while True:
            receipt = self.result("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                return dict(receipt)
            assert time.monotonic() < deadline, f"{self.name}: {tx_hash} was not mined"
            time.sleep(0.05)
