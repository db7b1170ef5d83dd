"""The same devnet on anvil instead of py-evm (`--rpc-url`): pays, signs, settles.

anvil comes from npm (`@foundry-rs/anvil`, a devDependency: `npm ci`); without it
the test fails, as the conformance tests do (tests/conformance/nodes.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

import og_chat.sdk as og
from og_chat.devnet import Devnet
from tests.conformance.nodes import running_anvil


@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    with running_anvil() as url:
        yield url


def test_a_paid_session_settles_on_anvil(anvil_url: str) -> None:
    devnet = Devnet.start(
        rpc_url=anvil_url, tokens_per_second=0, session_idle=1.0, batch_size=1, batch_interval=0.5
    )
    try:
        payer = devnet.accounts[0].address

        async def calls() -> list[og.TextGenerationOutput]:
            async with og.LLM(network="devnet", devnet_url=devnet.url) as llm:
                await llm.aensure_opg_approval(1)
                out = []
                for mode in ("private", "batch", "individual"):
                    out.append(
                        await llm.chat(
                            "openai/gpt-5",
                            [{"role": "user", "content": "hi"}],
                            x402_settlement_mode=mode,
                        )
                    )
                assert llm.signatures_made == 1
                return out

        before = asyncio.run(devnet.chain.operator.opg_balance(payer))
        results = asyncio.run(calls())
        assert all(r.signature_status is og.SignatureStatus.VERIFIED for r in results)
        assert results[2].data_settlement_transaction_hash
        receipt = results[0].receipt
        assert receipt is not None and receipt.nonce is not None
        deadline = time.monotonic() + 20
        record: dict[str, object] = {}
        while time.monotonic() < deadline:
            answer = httpx.get(
                devnet.url + "/v1/payments", params={"payer": payer, "nonce": receipt.nonce}
            )
            if answer.status_code == 200 and answer.json().get("tx_hash"):
                record = answer.json()
                break
            time.sleep(0.3)
        assert record.get("tx_hash"), "the session was not settled on anvil"
        after = asyncio.run(devnet.chain.operator.opg_balance(payer))
        assert before - after == int(str(record["amount"]))
    finally:
        devnet.stop()
