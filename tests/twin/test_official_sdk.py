"""The unchanged official SDK (`opengradient==1.1.4`) pays a mainnet-shaped devnet.

`og-chat devnet --chain-id 8453 --tls` is a twin of Base mainnet: chain id 8453,
OPG at Base's address, Permit2 and the proxies where they always are. The official
SDK, given only its documented parameters (`rpc_url`, `tee_registry_address`,
`BASE_MAINNET_RPC`; `REQUESTS_CA_BUNDLE` for the HTTPS RPC, which web3 reads through
requests), approves Permit2, finds the TEE in the registry, chats and streams; and
`LLM.from_url` works too.

Its pins conflict with ours (`og-x402` installs a module named `x402`, as Coinbase's
package does), so it runs in a venv of its own, made here and cached across runs in
the temp dir under a name keyed by the spec (about a minute to make, from PyPI).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from og_chat.devnet import Devnet
from og_chat.sdk.addresses import DEVNET_KEYS, MAINNET_OPG, PERMIT2_ADDRESS
from og_chat.sdk.tls import pinned_file

OFFICIAL_SDK = "opengradient==1.1.4"
SCRIPT = Path(__file__).with_name("official_sdk_script.py")
INSTALL_TIMEOUT = 900


def official_sdk_python() -> Path:
    """The python of a venv holding the official SDK; made once, then reused."""
    tag = f"{OFFICIAL_SDK} py{sys.version_info.major}.{sys.version_info.minor}"
    digest = hashlib.sha256(tag.encode()).hexdigest()[:16]
    root = Path(tempfile.gettempdir()) / f"og-chat-official-sdk-{digest}"
    python = root / "bin" / "python"
    ready = root / ".ready"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker at a time; the others wait and reuse it
        if not ready.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", OFFICIAL_SDK],
                check=True,
                timeout=INSTALL_TIMEOUT,
            )
            ready.write_text(tag)
    return python


@pytest.fixture(scope="module")
def twin() -> Iterator[Devnet]:
    # Sessions stay open until the test settles them (an idle reaper would race it on a slow machine).
    net = Devnet.start(chain_id=8453, tls=True, tokens_per_second=0, session_idle=600.0)
    try:
        yield net
    finally:
        net.stop()


def test_the_official_sdk_pays_the_mainnet_twin_unchanged(twin: Devnet) -> None:
    python = official_sdk_python()
    doc = twin.gateway.devnet_document()
    assert doc["chain_id"] == 8453 and doc["contracts"]["opg"] == MAINNET_OPG
    assert doc["contracts"]["permit2"] == PERMIT2_ADDRESS
    key = DEVNET_KEYS[7]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OG_", "PYTHON"))}
    env.update(
        BASE_MAINNET_RPC=doc["rpc_url"],
        REQUESTS_CA_BUNDLE=pinned_file(doc["tls_certificate"]),
    )
    registry = doc["contracts"]["tee_registry"]
    done = subprocess.run(
        [str(python), str(SCRIPT), twin.url, doc["rpc_url"], registry, key],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["approval_tx"] and int(out["allowance_after"]) >= 10**18
    assert out["chat"] and out["tee_signature"]
    assert out["tee_endpoint"] == twin.url  # found through the registry, over pinned TLS
    assert out["tee_id"] and out["tee_id"].removeprefix("0x") == twin.tee.tee_id[2:]
    assert out["stream_text"] and out["stream_final"]
    assert out["from_url_chat"]
    settled = twin.settle_open_sessions()
    assert settled and all(r["status"] == "settled" for r in settled), settled
    assert all(r["network"] == "eip155:8453" for r in settled)
