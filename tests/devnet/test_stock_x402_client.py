"""A stock x402 client (PyPI `x402==2.25.0`, unmodified) pays the devnet and gets its answer."""

from __future__ import annotations

import pytest

from og_chat.devnet import Devnet
from tests.devnet.paying_client import CHAT, Payer, chat_body

x402 = pytest.importorskip("x402", reason="the test extra x402[evm,httpx]==2.25.0 is not installed")


async def test_stock_x402_upto_client_gets_a_200(devnet: Devnet, payer: Payer) -> None:
    from eth_account import Account
    from x402 import x402Client
    from x402.http.clients.httpx import x402HttpxClient
    from x402.mechanisms.evm.signers import EthAccountSigner
    from x402.mechanisms.evm.upto import UptoEvmClientScheme

    client = x402Client()
    client.register(
        f"eip155:{devnet.chain_id}",
        UptoEvmClientScheme(EthAccountSigner(Account.from_key(payer.private_key))),
    )
    client.set_spend_controls(False)  # the default $1 cap and asset allow-list know no devnet token
    async with x402HttpxClient(client, timeout=30) as http:
        resp = await http.post(devnet.url + CHAT, json=chat_body("paid by the stock client"))
        assert resp.status_code == 200, resp.text
        assert resp.json()["choices"][0]["message"]["content"]
        assert resp.headers["x-upto-session"]
        # the stock client knows no upto sessions (an og-x402 addition): it simply pays again
        again = await http.post(devnet.url + CHAT, json=chat_body("and again"))
        assert again.status_code == 200
    sessions = [s for s in devnet.gateway.sessions.values() if s.payer == payer.address]
    assert len(sessions) == 2 and all(s.calls == 1 for s in sessions)
