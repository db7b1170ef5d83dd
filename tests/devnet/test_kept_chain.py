"""A devnet with a state directory keeps its chain: a restart resumes it, with every record.

Real devnets on real directories (tmp_path): balances, allowances, the registry, every
transaction, receipt and log, the TEE key and the records of calls made before the
restart are read back after it through `/rpc` and the gateway, as a client would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_utils import keccak

from og_chat.devnet import Devnet
from og_chat.devnet.node import StateMismatch
from og_chat.devnet.server import start_embedded
from og_chat.devnet.state_dir import StateInUse
from og_chat.sdk import merkle
from tests.devnet.paying_client import Payer, chat_body, make_payer, rpc, wait_receipt
from tests.devnet.test_call_records import BATCH_LEAF, CALL_RECORDED, logs_by_topic, wait_logs

MODES = ("private", "batch", "individual")


def start(state: Path, **options: Any) -> Devnet:
    options.setdefault("tokens_per_second", 0)
    return Devnet.start(state_dir=state, **options)


async def call(devnet: Devnet, payer: Payer, text: str, mode: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        resp = await payer.post(client, chat_body(text), headers={"X-SETTLEMENT-TYPE": mode})
    assert resp.status_code == 200, resp.text
    return resp


async def erc20(client: httpx.AsyncClient, devnet: Devnet, signature: str, *args: str) -> int:
    """A uint-returning OPG view, by raw `eth_call`."""
    data = keccak(text=signature)[:4] + b"".join(bytes(12) + bytes.fromhex(a[2:]) for a in args)
    tx = {"to": devnet.chain.addresses.opg, "data": "0x" + data.hex()}
    return int(await rpc(client, devnet.url, "eth_call", [tx, "latest"]), 16)


async def snapshot(devnet: Devnet, payer: Payer, txs: list[str]) -> dict[str, Any]:
    """What must survive a restart, read through /rpc and the gateway's own documents."""
    permit2 = devnet.chain.addresses.permit2
    async with httpx.AsyncClient(timeout=30) as client:
        receipts = [await rpc(client, devnet.url, "eth_getTransactionReceipt", [t]) for t in txs]
        return {
            "eth": await rpc(client, devnet.url, "eth_getBalance", [payer.address, "latest"]),
            "opg": await erc20(client, devnet, "balanceOf(address)", payer.address),
            "allowance": await erc20(
                client, devnet, "allowance(address,address)", payer.address, permit2
            ),
            "tees": [t["teeId"] for t in await devnet.chain.operator.active_tees()],
            "receipts": receipts,
            "doc": {
                k: v
                for k, v in (await client.get(devnet.url + "/devnet")).json().items()
                if k in ("chain_id", "genesis_hash", "instance_id", "persistent", "tee_id")
            },
        }


async def test_a_kept_chain_survives_a_restart(tmp_path: Path) -> None:
    devnet = await asyncio.to_thread(start, tmp_path)
    try:
        assert devnet.chain.identity.persistent and not devnet.chain.identity.resumed
        payer = await make_payer(devnet)
        answers = {mode: await call(devnet, payer, f"kept {mode}", mode) for mode in MODES}
        await asyncio.to_thread(devnet.flush_batch)
        await asyncio.to_thread(devnet.settle_open_sessions)
        tx = answers["individual"].headers["x-settlement-tx-hash"]
        async with httpx.AsyncClient() as client:
            await wait_receipt(client, devnet.url, tx)
        before = await snapshot(devnet, payer, [tx])
        head = devnet.chain.index.head
    finally:
        await asyncio.to_thread(devnet.stop)

    devnet = await asyncio.to_thread(start, tmp_path)
    try:
        assert devnet.chain.identity.resumed
        assert devnet.chain.index.head >= head
        after = await snapshot(devnet, payer, [tx])
        assert after == before
        assert before["doc"]["persistent"] is True
        assert before["doc"]["tee_id"] in before["tees"]  # the same TEE, registered once
        async with httpx.AsyncClient(timeout=30) as client:
            for mode, topic in (("private", CALL_RECORDED), ("batch", BATCH_LEAF)):
                call_id = answers[mode].json()["call_id"]
                assert await logs_by_topic(client, devnet.url, topic, call_id)
            batch = answers["batch"].json()
            doc = (await client.get(f"{devnet.url}/v1/settlements/{batch['call_id']}")).json()
            leaf = merkle.leaf_hash(
                call_id=batch["call_id"],
                tee_id=batch["tee_id"],
                request_hash=batch["tee_request_hash"],
                output_hash=batch["tee_output_hash"],
                tee_signature=batch["tee_signature"],
                tee_timestamp=batch["tee_timestamp"],
            )
            assert doc["status"] == "posted" and doc["leaf"] == "0x" + leaf.hex()
            assert merkle.verify_proof(leaf, doc["proof"], doc["root"])
            individual = answers["individual"].json()["call_id"]
            doc = (await client.get(f"{devnet.url}/v1/settlements/{individual}")).json()
            assert (doc["status"], doc["tx_hash"]) == ("mined", tx)
        # The chain goes on: the operator's nonce, the payer's allowance, a new session.
        payer.devnet = devnet
        more = await call(devnet, payer, "after the restart", "individual")
        async with httpx.AsyncClient() as client:
            receipt = await wait_receipt(client, devnet.url, more.headers["x-settlement-tx-hash"])
        assert int(receipt["status"], 16) == 1 and int(receipt["blockNumber"], 16) > head
    finally:
        await asyncio.to_thread(devnet.stop)


async def test_stop_settles_sessions_and_posts_pending_records_first(tmp_path: Path) -> None:
    devnet = await asyncio.to_thread(start, tmp_path, session_idle=600, batch_interval=600)
    try:
        payer = await make_payer(devnet)
        ids = {mode: (await call(devnet, payer, f"stop {mode}", mode)).json()["call_id"]
               for mode in ("private", "batch")}  # fmt: skip
        nonce = int(payer.last_payment.nonce)
        assert devnet.chain.index.find_settlement(payer=payer.address, nonce=nonce) is None
    finally:
        await asyncio.to_thread(devnet.stop)
    devnet = await asyncio.to_thread(start, tmp_path)
    try:
        assert devnet.chain.index.find_settlement(payer=payer.address, nonce=nonce) is not None
        async with httpx.AsyncClient() as client:
            assert await logs_by_topic(client, devnet.url, CALL_RECORDED, ids["private"])
            assert await logs_by_topic(client, devnet.url, BATCH_LEAF, ids["batch"])
    finally:
        await asyncio.to_thread(devnet.stop)


async def test_fresh_starts_over_and_keeps_the_users_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    first = await asyncio.to_thread(start, tmp_path)
    identity = first.chain.identity
    await asyncio.to_thread(first.stop)
    again = await asyncio.to_thread(start, tmp_path, fresh=True)
    try:
        assert not again.chain.identity.resumed
        # Block 0 may well be the same (same accounts, same second): the instance id tells.
        assert again.chain.identity.instance_id != identity.instance_id
        assert (tmp_path / "notes.txt").read_text() == "mine"
    finally:
        await asyncio.to_thread(again.stop)


async def test_two_devnets_never_share_a_state_directory(tmp_path: Path) -> None:
    devnet = await asyncio.to_thread(start, tmp_path)
    try:
        with pytest.raises(StateInUse) as info:
            await asyncio.to_thread(start, tmp_path)
        assert str(tmp_path) in str(info.value) and info.value.hint
        said: list[str] = []
        other = await asyncio.to_thread(start_embedded, state_dir=tmp_path, on_progress=said.append)
        try:  # the embedded one still starts, without keeping its chain
            assert not other.chain.identity.persistent and other.state is None
            assert any("is not kept" in line for line in said)
        finally:
            await asyncio.to_thread(other.stop)
    finally:
        await asyncio.to_thread(devnet.stop)


async def test_a_chain_made_by_other_contracts_is_not_resumed(tmp_path: Path) -> None:
    first = await asyncio.to_thread(start, tmp_path)
    await asyncio.to_thread(first.stop)
    with sqlite3.connect(tmp_path / "chain.sqlite") as db:  # as if og-chat's contracts changed
        db.execute("UPDATE meta SET value = '0x00' WHERE key = 'code'")
    with pytest.raises(StateMismatch) as info:
        await asyncio.to_thread(start, tmp_path)
    assert "--fresh" in info.value.hint
    said: list[str] = []
    embedded = await asyncio.to_thread(start_embedded, state_dir=tmp_path, on_progress=said.append)
    try:  # the embedded devnet moves it aside and starts a new chain it keeps
        assert embedded.chain.identity.persistent and not embedded.chain.identity.resumed
        (aside,) = tmp_path.glob("previous-*")
        assert (aside / "chain.sqlite").exists() and any("moved it to" in s for s in said)
    finally:
        await asyncio.to_thread(embedded.stop)


def test_fresh_needs_a_state_directory() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "og_chat.cli", "devnet", "--fresh", "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "--state" in out.stdout + out.stderr


async def test_a_killed_devnet_resumes_at_its_last_block_and_posts_its_records(
    tmp_path: Path,
) -> None:
    """SIGKILL, no clean stop: the chain resumes at its last sealed block, and a record
    answered but not yet posted is posted by the next start."""
    command = [
        sys.executable, "-m", "og_chat.cli", "devnet", "--state", str(tmp_path), "--port", "0",
        "--tokens-per-second", "0",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env()
    )
    try:
        url = _banner_url(proc)
        async with httpx.AsyncClient(timeout=30) as client:
            doc = (await client.get(url + "/devnet")).json()
            key = doc["accounts"][3]["private_key"]
            payer = Payer(_Remote(url, doc), key, doc["accounts"][3]["address"])  # type: ignore[arg-type]
            await _approve(client, url, doc, key)
            answer = await payer.post(
                client, chat_body("killed"), headers={"X-SETTLEMENT-TYPE": "private"}
            )
            call_id = answer.json()["call_id"]
            head = int(await rpc(client, url, "eth_blockNumber", []), 16)
            assert not await logs_by_topic(client, url, CALL_RECORDED, call_id)  # not posted yet
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    devnet = await asyncio.to_thread(start, tmp_path)
    try:
        assert devnet.chain.identity.resumed and devnet.chain.index.head >= head
        assert devnet.chain.identity.instance_id == doc["instance_id"]
        async with httpx.AsyncClient() as client:
            (log,) = await wait_logs(client, devnet.url, CALL_RECORDED, call_id)
            assert log["topics"][2] == doc["tee_id"]
    finally:
        await asyncio.to_thread(devnet.stop)


class _Remote:
    """The two attributes `Payer` reads of a devnet, for one running in another process."""

    def __init__(self, url: str, doc: dict[str, Any]) -> None:
        self.url = url
        self.chain_id = doc["chain_id"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _banner_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip().startswith("gateway "):
            return line.split()[-1]
    raise AssertionError("the devnet printed no banner")


async def _approve(client: httpx.AsyncClient, url: str, doc: dict[str, Any], key: str) -> None:
    """`OPG.approve(Permit2, …)` signed here and sent through /rpc (no Devnet object at hand)."""
    from eth_account import Account

    account = Account.from_key(key)
    selector = keccak(text="approve(address,uint256)")[:4]
    permit2 = bytes.fromhex(doc["contracts"]["permit2"][2:])
    data = selector + bytes(12) + permit2 + (10**24).to_bytes(32, "big")
    nonce = int(await rpc(client, url, "eth_getTransactionCount", [account.address, "pending"]), 16)
    tx = {
        "to": doc["contracts"]["opg"], "data": "0x" + data.hex(), "value": 0, "gas": 100_000,
        "maxFeePerGas": 50 * 10**9, "maxPriorityFeePerGas": 10**9, "nonce": nonce,
        "chainId": doc["chain_id"], "type": 2,
    }  # fmt: skip
    raw = Account.sign_transaction(tx, key).raw_transaction
    tx_hash = await rpc(client, url, "eth_sendRawTransaction", ["0x" + bytes(raw).hex()])
    receipt = await wait_receipt(client, url, tx_hash)
    assert int(receipt["status"], 16) == 1, json.dumps(receipt)


KEEP_PENDING = """
import sys, time
from pathlib import Path
from og_chat.devnet.chain import Chain
chain = Chain.start(store=Path(sys.argv[1]))


def accept_then_hang():  # the worker never gets to the job that would seal the block
    tx_hash, _ = chain.node.queue_raw(bytes.fromhex(sys.argv[2]))
    print(tx_hash, flush=True)
    time.sleep(600)


chain.node.submit(accept_then_hang)
time.sleep(600)
"""


def test_a_transaction_accepted_before_a_kill_is_mined_after_it_under_its_hash(
    tmp_path: Path,
) -> None:
    """A hash handed out before its block (individual mode's X-Settlement-Tx-Hash) stays good."""
    from eth_account import Account

    from og_chat.devnet.chain import Chain
    from og_chat.devnet.genesis import DEVNET_CHAIN_ID
    from og_chat.sdk.addresses import DEVNET_KEYS

    store = tmp_path / "chain.sqlite"
    payee = Account.from_key("0x" + "11" * 32).address
    transfer = {
        "to": payee, "value": 12345, "gas": 21_000, "nonce": 0, "type": 2,
        "maxFeePerGas": 50 * 10**9, "maxPriorityFeePerGas": 10**9, "chainId": DEVNET_CHAIN_ID,
    }  # fmt: skip
    raw = bytes(Account.sign_transaction(transfer, DEVNET_KEYS[5]).raw_transaction)
    proc = subprocess.Popen(
        [sys.executable, "-c", KEEP_PENDING, str(store), raw.hex()],
        stdout=subprocess.PIPE, text=True, env=_env(), cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        tx_hash = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert tx_hash.startswith("0x")
    chain = Chain.start(store=store)
    try:
        mined = asyncio.run(chain.wait_for_tx(tx_hash))
        assert mined.status == 1
        assert int(chain.rpc("eth_getBalance", [payee, "latest"]), 16) == 12345
    finally:
        chain.stop()
    again = Chain.start(store=store)  # mined once: not sent a second time
    try:
        assert int(again.rpc("eth_getBalance", [payee, "latest"]), 16) == 12345
        assert not again.index.pending
    finally:
        again.stop()


def test_a_chain_at_an_rpc_url_is_not_kept_by_the_devnet(tmp_path: Path) -> None:
    from og_chat.devnet.node import Node
    from og_chat.sdk.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        Node(rpc_url="http://127.0.0.1:8545", store=tmp_path / "chain.sqlite")
    assert "anvil --state" in info.value.hint


async def test_a_kept_chain_keeps_its_chain_id(tmp_path: Path) -> None:
    twin = await asyncio.to_thread(start, tmp_path, chain_id=8453)
    try:
        assert twin.chain_id == 8453
    finally:
        await asyncio.to_thread(twin.stop)
    again = await asyncio.to_thread(start, tmp_path, chain_id=8453)
    try:
        assert again.chain.identity.resumed and again.chain_id == 8453
        async with httpx.AsyncClient() as client:
            assert int(await rpc(client, again.url, "eth_chainId", []), 16) == 8453
    finally:
        await asyncio.to_thread(again.stop)
    with pytest.raises(StateMismatch) as info:  # the default chain id is another chain
        await asyncio.to_thread(start, tmp_path)
    assert "chain_id" in str(info.value)
