"""`og-chat ask` on a fresh devnet needs no approval step: the first payment carries it.

The wallet (the devnet's first test account, never approved) pays its first call with a
gas-sponsored approval; the receipt names the approval transaction, `receipts show`
prints it, and once the session settles the approval is on-chain in the settlement's
block.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from og_chat.cli import main
from og_chat.devnet import Devnet
from og_chat.sdk.addresses import PERMIT2_ADDRESS


@pytest.fixture(scope="module")
def fresh_devnet() -> Iterator[Devnet]:
    net = Devnet.start(tokens_per_second=0, session_idle=30.0)
    try:
        yield net
    finally:
        net.stop()


def _rpc(net: Devnet, method: str, params: list[object]) -> object:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(net.url + "/rpc", json=body).json()["result"]


def test_the_first_ask_carries_the_approval_and_receipts_show_names_it(
    fresh_devnet: Devnet, capsys: pytest.CaptureFixture[str]
) -> None:
    payer = fresh_devnet.accounts[0].address
    opg = fresh_devnet.chain.contract("OPGToken")
    before = fresh_devnet.chain.run_sync(
        lambda _: opg.functions.allowance(payer, PERMIT2_ADDRESS).call()
    )
    assert before == 0
    assert main(["ask", "--devnet-url", fresh_devnet.url, "--json", "first call"]) == 0
    receipt = json.loads(capsys.readouterr().out)["receipt"]
    assert receipt["payer"] == payer and receipt["approval_tx"]
    assert main(["receipts", "show", receipt["id"]]) == 0
    shown = capsys.readouterr().out
    assert any(
        line.startswith("approval_tx") and receipt["approval_tx"] in line
        for line in shown.splitlines()
    )
    (record,) = fresh_devnet.settle_open_sessions()
    assert record["status"] == "settled", record
    approval = _rpc(fresh_devnet, "eth_getTransactionReceipt", [receipt["approval_tx"]])
    settle = _rpc(fresh_devnet, "eth_getTransactionReceipt", [record["tx_hash"]])
    assert isinstance(approval, dict) and isinstance(settle, dict)
    assert approval["status"] == "0x1" and approval["blockNumber"] == settle["blockNumber"]
