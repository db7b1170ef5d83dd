"""The devnet as a service: its documents, JSON-RPC, facilitator routes, CLI, TLS, lifecycle."""

from __future__ import annotations

import argparse
import asyncio
import ssl
from typing import Any

import httpx
import pytest

from og_chat.devnet import Devnet, add_devnet_arguments
from og_chat.devnet.server import describe
from og_chat.sdk.models import CATALOGUE
from og_chat.sdk.networks import devnet_profile
from tests.devnet.paying_client import chat_body, make_payer


async def test_devnet_document(devnet: Devnet, client: httpx.AsyncClient) -> None:
    doc = (await client.get(devnet.url + "/devnet")).json()
    assert doc["chain_id"] == devnet.chain_id
    assert doc["network"] == f"eip155:{devnet.chain_id}"
    assert doc["rpc_url"] == devnet.url + "/rpc" and doc["gateway_url"] == devnet.url
    assert set(doc["contracts"]) == {
        "opg",
        "permit2",
        "upto_proxy",
        "exact_permit2_proxy",
        "tee_registry",
        "settlement",
    }
    assert doc["contracts"]["permit2"] == "0x000000000022D473030F116dDEE9F6B43aC78BA3"
    assert doc["token"] == {"name": "OpenGradient", "version": "1", "decimals": 18, "symbol": "OPG"}
    assert doc["session"] == {"cap": "100000000000000000", "idle_seconds": 1.0}
    assert len(doc["accounts"]) == 10 and doc["accounts"][0]["private_key"].startswith("0x")
    assert set(doc["prices"]) == set(CATALOGUE)
    assert all(
        p["prompt_per_million"] > 0 and p["completion_per_million"] > 0
        for p in doc["prices"].values()
    )
    genesis = (
        await client.post(
            devnet.url + "/rpc",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_getBlockByNumber",
                "params": ["0x0", False],
            },
        )
    ).json()["result"]
    assert doc["genesis_hash"] == genesis["hash"]  # the chain's identity: block 0 …
    assert len(bytes.fromhex(doc["instance_id"])) == 16  # … and this instance of it
    assert doc["persistent"] is False  # a test devnet keeps nothing
    profile = devnet_profile(doc, devnet.url)  # the client's reader accepts it
    assert profile.chain_id == devnet.chain_id and profile.opg == doc["contracts"]["opg"]


async def test_health_and_facilitator_routes(devnet: Devnet, client: httpx.AsyncClient) -> None:
    assert (await client.get(devnet.url + "/health")).json()["status"] == "ok"
    supported = (await client.get(devnet.url + "/supported")).json()
    kinds = supported["kinds"]
    assert any(k["scheme"] == "upto" and k["network"] == f"eip155:{devnet.chain_id}" for k in kinds)


async def test_json_rpc_single_batch_and_errors(devnet: Devnet, client: httpx.AsyncClient) -> None:
    one = (
        await client.post(
            devnet.url + "/rpc",
            json={"jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": []},
        )
    ).json()
    assert one == {"jsonrpc": "2.0", "id": 7, "result": hex(devnet.chain_id)}
    batch = (
        await client.post(
            devnet.url + "/rpc",
            json=[
                {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                {"jsonrpc": "2.0", "id": 2, "method": "no_such_method", "params": []},
                {"jsonrpc": "2.0", "id": 3},
            ],
        )
    ).json()
    assert batch[0]["id"] == 1 and batch[0]["result"].startswith("0x")
    assert batch[1]["error"]["code"] == -32601
    assert batch[2]["error"]["code"] == -32600
    parse = (await client.post(devnet.url + "/rpc", content=b"{oops")).json()
    assert parse["error"]["code"] == -32700


def test_web3_talks_to_the_rpc_endpoint(devnet: Devnet) -> None:
    from web3 import HTTPProvider, Web3

    w3 = Web3(HTTPProvider(devnet.url + "/rpc"))
    assert w3.eth.chain_id == devnet.chain_id
    assert w3.eth.get_balance(devnet.accounts[0].address) > 0


def test_cli_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_devnet_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.tls, args.fund) == ("127.0.0.1", 8402, False, [])
    addr = "0x" + "ab" * 20
    args = parser.parse_args(
        [
            "--port",
            "0",
            "--tls",
            "--fund",
            addr,
            "--fund",
            f"{addr}:2.5",
            "--tokens-per-second",
            "0",
        ]
    )
    assert args.fund == [(addr, 1000 * 10**18), (addr, 25 * 10**17)]
    assert args.tls and args.tokens_per_second == 0
    assert (args.state, args.fresh) == (None, False)
    args = parser.parse_args(["--state", "/tmp/kept", "--fresh"])
    assert (args.state, args.fresh) == ("/tmp/kept", True)
    with pytest.raises(SystemExit):
        parser.parse_args(["--fund", "nope"])


def test_banner_lists_everything(devnet: Devnet) -> None:
    text = describe(devnet, 1.0)
    assert devnet.url in text and str(devnet.chain_id) in text
    assert devnet.chain.addresses.opg in text and "PUBLIC TEST KEYS" in text
    assert devnet.accounts[0].private_key in text


def _pinned_context(cert_der: bytes) -> ssl.SSLContext:
    """What a client does with the registry certificate (og-sdk-wire.md §3)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=ssl.DER_cert_to_PEM_cert(cert_der))
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


async def test_https_pinned_to_the_registry_certificate_and_funded_extra_account() -> None:
    extra = "0x" + "cd" * 20
    net = await asyncio.to_thread(
        Devnet.start, tls=True, tokens_per_second=0, fund=[(extra, 5 * 10**18)], session_idle=0.5
    )
    try:
        assert net.url.startswith("https://")
        tees = await net.chain.operator.active_tees(0)
        (entry,) = [t for t in tees if t["endpoint"] == net.url]
        ctx = _pinned_context(bytes(entry["tlsCertificate"]))
        async with httpx.AsyncClient(verify=ctx, timeout=30) as client:
            assert (await client.get(net.url + "/health")).status_code == 200
            payer = await make_payer(net, verify=ctx)
            resp = await payer.post(client, chat_body("over TLS"))
            assert resp.status_code == 200
        async with httpx.AsyncClient(timeout=10) as unpinned:  # system trust does not know it
            with pytest.raises(httpx.ConnectError):
                await unpinned.get(net.url + "/health")
        assert await net.chain.operator.opg_balance(extra) == 5 * 10**18
    finally:
        await asyncio.to_thread(net.stop)
        await asyncio.to_thread(net.stop)  # idempotent


async def test_stop_settles_open_sessions() -> None:
    net = await asyncio.to_thread(Devnet.start, tokens_per_second=0, session_idle=600)
    stopped = False
    try:
        payer = await make_payer(net)
        async with httpx.AsyncClient(timeout=30) as client:
            resp = await payer.post(client, chat_body("settle on stop"))
            sid = resp.headers["x-upto-session"]
        nonce = int(payer.last_payment.nonce)
        await asyncio.to_thread(net.stop)
        stopped = True
        record: dict[str, Any] = net.gateway.records[sid]
        assert record["status"] == "settled" and int(record["amount"]) > 0
        found = net.chain.index.find_settlement(payer=payer.address, nonce=nonce)
        assert found is not None and found.tx_hash == record["tx_hash"]
    finally:
        if not stopped:
            await asyncio.to_thread(net.stop)


def test_cli_serves_until_ctrl_c_and_settles() -> None:
    import signal
    import subprocess
    import sys

    script = (
        "import argparse, sys\n"
        "from og_chat.devnet import add_devnet_arguments, run_devnet_command\n"
        "p = argparse.ArgumentParser(); add_devnet_arguments(p)\n"
        "sys.exit(run_devnet_command(p.parse_args(['--port', '0', '--tokens-per-second', '0'])))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            break
    banner = "".join(lines)
    assert "og-chat devnet ready" in banner and "PUBLIC TEST KEYS" in banner
    assert "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" in banner
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert "settling 0 open session(s)" in rest and "devnet stopped." in rest
    assert proc.returncode == 0
