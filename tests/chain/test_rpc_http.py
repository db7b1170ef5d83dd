"""A stock web3 client talks to the devnet through `Chain.rpc` behind a real HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from chain_helpers import ONE_OPG, new_payer, required_of, requirement

from og_chat.devnet.chain import Chain
from og_chat.devnet.facilitator import Facilitator
from og_chat.sdk.signing import sign_payment


@pytest.fixture
def rpc_url(chain: Chain) -> Iterator[str]:
    """`POST /rpc` on 127.0.0.1, an ephemeral port, answered by `chain.jsonrpc.response`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            answer = chain.jsonrpc.response(body)
            if answer is None:  # notifications only
                self.send_response(204)
                self.end_headers()
                return
            out = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rpc"
    server.shutdown()
    server.server_close()


def test_web3_http_client_reads_calls_and_sends_an_approve(chain: Chain, rpc_url: str) -> None:
    from eth_account import Account
    from web3 import HTTPProvider, Web3

    w3 = Web3(HTTPProvider(rpc_url))
    assert w3.eth.chain_id == chain.chain_id
    assert w3.client_version.startswith("og-chat-devnet")
    owner = Account.from_key(chain.accounts[3].private_key)
    assert w3.eth.get_balance(owner.address) > 10**18
    token = w3.eth.contract(address=chain.addresses.opg, abi=chain.contract("OPGToken").abi)
    assert token.functions.balanceOf(owner.address).call() >= 900 * ONE_OPG
    assert token.functions.name().call() == "OpenGradient"

    tx = token.functions.approve(chain.addresses.permit2, 5 * ONE_OPG).build_transaction(
        {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address, "pending")}
    )
    signed = owner.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.05)

    assert receipt["status"] == 1
    assert token.functions.allowance(owner.address, chain.addresses.permit2).call() == 5 * ONE_OPG
    assert w3.eth.get_transaction(tx_hash)["from"] == owner.address
    logs = w3.eth.get_logs({"fromBlock": receipt["blockNumber"], "toBlock": receipt["blockNumber"],
                            "address": chain.addresses.opg})  # fmt: skip
    assert any(log["transactionHash"] == tx_hash for log in logs)
    block = w3.eth.get_block(receipt["blockNumber"])
    assert tx_hash in block["transactions"]


def test_a_reverting_call_surfaces_its_reason(chain: Chain, rpc_url: str) -> None:
    from web3 import HTTPProvider, Web3
    from web3.exceptions import ContractLogicError

    w3 = Web3(HTTPProvider(rpc_url))
    token = w3.eth.contract(address=chain.addresses.opg, abi=chain.contract("OPGToken").abi)
    with pytest.raises(ContractLogicError) as info:
        token.functions.mint(chain.accounts[0].address, 1).call({"from": chain.accounts[0].address})
    assert "caller is not the owner" in str(info.value)


def test_unknown_methods_and_bad_requests_get_json_rpc_errors(chain: Chain) -> None:
    answer = chain.jsonrpc.response(
        {"jsonrpc": "2.0", "id": 7, "method": "eth_noSuchMethod", "params": []}
    )
    assert answer["id"] == 7 and answer["error"]["code"] == -32601
    assert chain.jsonrpc.response({"id": 1})["error"]["code"] == -32600
    assert chain.jsonrpc.response({"jsonrpc": "2.0", "method": "eth_chainId"}) is None
    batch = chain.jsonrpc.response(
        [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}]
    )
    assert batch == [{"jsonrpc": "2.0", "id": 1, "result": hex(chain.chain_id)}]


async def test_facilitator_http_routes(chain: Chain) -> None:
    facilitator = Facilitator(chain)
    app = web.Application()
    facilitator.add_routes(app, prefix="/facilitator")
    async with TestClient(TestServer(app)) as client:
        supported = await (await client.get("/facilitator/supported")).json()
        assert supported == facilitator.supported()

        payer = await new_payer(chain)
        req = requirement(chain, scheme="upto", amount=1000)
        signed = sign_payment(payer.key, required_of(req), req)
        body = {
            "x402Version": 2,
            "paymentPayload": signed.payload.wire(),
            "paymentRequirements": req.wire(),
        }
        verify = await client.post("/facilitator/verify", json=body)
        assert verify.status == 200 and (await verify.json()) == {
            "isValid": True,
            "payer": payer.address,
        }
        settle = await client.post("/facilitator/settle", json=body)
        answer = await settle.json()
        assert settle.status == 200 and answer["success"] is True and answer["amount"] == "1000"

        replay = await (await client.post("/facilitator/settle", json=body)).json()
        assert replay["transaction"] == answer["transaction"]
        bad_payee = {**body, "paymentRequirements": {**req.wire(), "payTo": payer.address}}
        refused = await client.post("/facilitator/verify", json=bad_payee)
        assert (
            refused.status == 200
            and (await refused.json())["invalidReason"] == "invalid_permit2_recipient_mismatch"
        )

        malformed = await client.post("/facilitator/verify", data=b"{not json")
        assert malformed.status == 400 and "not valid JSON" in (await malformed.json())["error"]
        missing = await client.post("/facilitator/settle", json={"x402Version": 2})
        assert missing.status == 400 and "paymentPayload" in (await missing.json())["error"]
