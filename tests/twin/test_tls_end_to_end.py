"""TLS end to end: `og-chat ask` pays `og-chat devnet --tls` over HTTPS, pinned on every link.

Both are real subprocesses. The devnet serves its gateway and `/rpc` with one
self-signed certificate, registered on-chain and published in `/devnet`; the client
pins it for the gateway, the registry read, the wallet's approval and the chain
reads, after the registry confirmed it. Nothing is trusted from the system's CAs.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from og_chat.sdk import tls
from og_chat.sdk.errors import ConfigurationError
from tests.twin.devnet_process import devnet_process, og_chat_command


@pytest.fixture(scope="module")
def tls_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    with devnet_process("--tls", home=tmp_path_factory.mktemp("devnet-home")) as started:
        yield started


def _ask(url: str, home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OG_")}
    env.update(OG_CHAT_HOME=str(home), SSL_CERT_FILE=os.devnull, REQUESTS_CA_BUNDLE=os.devnull)
    return subprocess.run(
        [*og_chat_command(), "ask", "--devnet-url", url, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_og_chat_ask_pays_a_tls_devnet_over_pinned_https(
    tls_devnet: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, banner = tls_devnet
    assert url.startswith("https://")
    assert any("certificate sha256" in line for line in banner)
    # The system's trust store is emptied for the client: only the pin can make this work.
    done = _ask(url, tmp_path, "--json", "-m", "openai/gpt-4.1-mini", "hello over TLS")
    assert done.returncode == 0, done.stderr
    receipt = json.loads(done.stdout)["receipt"]
    assert receipt["endpoint"].startswith("https://")
    assert receipt["signature_status"] == "verified"
    assert receipt["payment_hash"].startswith("0x")


def test_the_published_certificate_is_the_one_served_and_registered(
    tls_devnet: tuple[str, list[str]],
) -> None:
    url, _ = tls_devnet
    doc = httpx.get(url + "/devnet", verify=False).json()
    pem = doc["tls_certificate"]
    host, port = url.removeprefix("https://").rsplit(":", 1)
    served = ssl.get_server_certificate((host, int(port)))
    assert tls.certificate_der(served) == tls.certificate_der(pem)
    rpc = doc["rpc_url"]
    tls.check_registered(pem, endpoint=url, rpc_url=rpc, registry=doc["contracts"]["tee_registry"])
    # A certificate the registry does not name for this endpoint is refused.
    from og_chat.devnet.tee import TeeKeys

    other = TeeKeys.generate(("127.0.0.1",)).certificate_pem
    with pytest.raises(ConfigurationError):
        tls.check_registered(
            other, endpoint=url, rpc_url=rpc, registry=doc["contracts"]["tee_registry"]
        )
    with pytest.raises(ConfigurationError, match="names no TEE"):
        tls.check_registered(
            pem, endpoint=url + "/elsewhere", rpc_url=rpc, registry=doc["contracts"]["tee_registry"]
        )
