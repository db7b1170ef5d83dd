"""Stock clients against the devnet's `/rpc`: web3.py, ethers 6 and viem 2, unchanged.

web3.py uses filters, receipts with `logsBloom`, `eth_feeHistory` and
`eth_sendTransaction` for a devnet test account; ethers sends two transactions back
to back (it puts the nonce in `eth_estimateGas`), viem reads the fee history with
percentiles, a block, a receipt (`waitForTransactionReceipt`) and a block filter.
ethers and viem are npm devDependencies (`npm ci`); without them the test fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from og_chat.devnet import Devnet
from tests.conformance.nodes import running_anvil
from tests.conformance.scenario import LOGGER, TOPIC, init_code

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("stock_js_clients.mjs")


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with Devnet.start(tokens_per_second=0) as devnet:
        yield devnet


def test_web3_py_filters_receipts_fee_history_and_send_transaction(devnet: Devnet) -> None:
    from web3 import HTTPProvider, Web3

    w3 = Web3(HTTPProvider(devnet.url + "/rpc"))
    sender, recipient = w3.eth.accounts[4], w3.eth.accounts[5]
    assert sender.lower() == devnet.accounts[4].address.lower()
    block_filter = w3.eth.filter("latest")
    pending_filter = w3.eth.filter("pending")
    deployed = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "data": init_code(LOGGER)}), timeout=10
    )
    logger = deployed["contractAddress"]
    log_filter = w3.eth.filter({"address": logger})
    tx_hash = w3.eth.send_transaction({"from": sender, "to": logger, "data": TOPIC})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.05)

    assert receipt["status"] == 1 and len(receipt["logsBloom"]) == 256
    assert receipt["logs"][0]["topics"][0].to_0x_hex() == TOPIC
    assert receipt["logsBloom"] != b"\0" * 256
    assert [entry["transactionHash"] for entry in log_filter.get_new_entries()] == [tx_hash]
    assert log_filter.get_new_entries() == []
    assert len(log_filter.get_all_entries()) == 1
    new_blocks = block_filter.get_new_entries()
    assert receipt["blockHash"] in new_blocks and deployed["blockHash"] in new_blocks
    assert set(pending_filter.get_new_entries()) >= {tx_hash, deployed["transactionHash"]}
    assert w3.eth.uninstall_filter(block_filter.filter_id) is True

    plain = w3.eth.send_transaction({"from": sender, "to": recipient, "value": 5})
    assert w3.eth.get_transaction(plain)["yParity"] in (0, 1)
    assert w3.eth.wait_for_transaction_receipt(plain, timeout=10)["status"] == 1
    history = w3.eth.fee_history(3, "latest", [10, 90])
    head = w3.eth.block_number
    assert history["oldestBlock"] == head - 2
    assert len(history["baseFeePerGas"]) == 4 and len(history["gasUsedRatio"]) == 3
    assert [len(r) for r in history["reward"]] == [2, 2, 2]
    block = w3.eth.get_block(receipt["blockNumber"])
    assert len(block["logsBloom"]) == 256 and tx_hash in block["transactions"]


def _run_js_clients(url: str, private_key: str, recipient: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "ethers").is_dir():
        pytest.fail("node and the npm devDependencies (ethers, viem) are needed: run `npm ci`")
    run = subprocess.run(
        [node, str(SCRIPT), url, private_key, recipient],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return seen


def _check_js_clients(seen: dict[str, Any], first_nonce: int, chain_id: int) -> None:
    ethers, viem = seen["ethers"], seen["viem"]
    assert ethers["nonces"] == [first_nonce, first_nonce + 1] and ethers["statuses"] == [1, 1]
    assert ethers["blooms"] == [514, 514] and ethers["fee"] is True
    assert ethers["chainId"] == chain_id == viem["chainId"]
    assert viem["history"]["baseFees"] == 4 and viem["history"]["ratios"] == 3
    assert viem["history"]["rewards"] == [2, 2, 2]
    assert viem["history"]["oldestBlock"] == viem["head"] - 2 and viem["head"] >= ethers["block"]
    assert viem["receiptStatus"] == "success" and viem["receiptBloom"] == 514
    assert viem["blockHasTx"] and viem["blockBloom"] == 514 and viem["filterSawBlock"]


def test_ethers_and_viem_send_and_read_as_against_anvil(devnet: Devnet) -> None:
    account, recipient = devnet.accounts[6], devnet.accounts[7].address
    for rounds in range(3):  # each round sends three more transactions from the account
        seen = _run_js_clients(devnet.url + "/rpc", account.private_key, recipient)
        _check_js_clients(seen, 3 * rounds, devnet.chain_id)
    with running_anvil() as anvil_url:  # the same script holds against anvil itself
        seen = _run_js_clients(anvil_url, account.private_key, recipient)
        _check_js_clients(seen, 0, 31337)
