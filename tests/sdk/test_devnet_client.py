"""The tutorial's calls, unchanged but for the import line, against the devnet."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import og_chat.sdk as og

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_token_price",
            "description": "Get the current USD price of a token.",
            "parameters": {
                "type": "object",
                "properties": {"symbol": {"type": "string", "description": "Ticker, e.g. ETH."}},
                "required": ["symbol"],
            },
        },
    }
]


def test_tutorial_flow_with_a_users_own_key_on_the_devnet(
    sdk_devnet: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tutorial: key from OG_PRIVATE_KEY, sync allowance step, then asyncio.run(main()).

    The user's own key signs for a devnet at a URL only once the user opted in to it.
    """
    monkeypatch.setenv("OG_NETWORK", "devnet")
    monkeypatch.setenv("OG_DEVNET_URL", sdk_devnet.url)
    monkeypatch.setenv(
        "OG_PRIVATE_KEY", "0x" + os.urandom(32).hex()
    )  # a wallet the devnet never saw
    with pytest.raises(og.UntrustedNetwork, match="not opted in") as refused:
        og.LLM(private_key=os.environ["OG_PRIVATE_KEY"]).resolve()
    assert "OG_TRUSTED_DEVNETS" in refused.value.hint
    monkeypatch.setenv("OG_TRUSTED_DEVNETS", sdk_devnet.url)

    llm = og.LLM(private_key=os.environ["OG_PRIVATE_KEY"])
    llm.ensure_opg_allowance(min_allowance=5)
    seen: dict[str, Any] = {}

    async def main() -> None:
        result = await llm.chat(
            model=og.TEE_LLM.GPT_5,
            messages=[{"role": "user", "content": "What is the x402 payment protocol?"}],
            max_tokens=200,
            temperature=0.0,
        )
        seen["content"] = result.chat_output.get("content", "")
        seen["finish"] = result.finish_reason
        seen["payment_hash"] = result.payment_hash
        seen["status"] = result.signature_status
        stream = await llm.chat(
            model=og.TEE_LLM.CLAUDE_SONNET_4_6,
            messages=[{"role": "user", "content": "Explain TEEs in one paragraph."}],
            max_tokens=100,
            stream=True,
        )
        text = ""
        async for chunk in stream:
            if chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
            if chunk.is_final:
                seen["usage"] = chunk.usage
                seen["receipt"] = chunk.receipt
        seen["streamed"] = text
        hashes = []
        for mode in (
            og.x402SettlementMode.PRIVATE,
            og.x402SettlementMode.BATCH_HASHED,
            og.x402SettlementMode.INDIVIDUAL_FULL,
        ):
            r = await llm.chat(
                model=og.TEE_LLM.CLAUDE_SONNET_4_6,
                messages=[{"role": "user", "content": "Say hello."}],
                max_tokens=50,
                x402_settlement_mode=mode,
            )
            hashes.append(r.payment_hash)
            if mode is og.x402SettlementMode.INDIVIDUAL_FULL:
                seen["individual_tx"] = r.data_settlement_transaction_hash
        seen["hashes"] = hashes
        await llm.close()

    asyncio.run(main())
    assert seen["content"] and seen["finish"] in ("stop", "length")
    assert seen["payment_hash"] and seen["payment_hash"].startswith("0x")
    assert seen["status"] is og.SignatureStatus.VERIFIED
    assert seen["streamed"] and seen["usage"].total_tokens > 0
    assert seen["receipt"].signature_status == "verified"
    assert all(h for h in seen["hashes"])
    assert seen["individual_tx"] and seen["individual_tx"].startswith("0x")


async def test_streaming_with_tools_assembles_the_tool_call(sdk_devnet: Any) -> None:
    async with og.LLM(network="devnet", devnet_url=sdk_devnet.url) as llm:
        await llm.aensure_opg_approval(1)
        stream = await llm.chat(
            og.TEE_LLM.GEMINI_2_5_FLASH,
            [{"role": "user", "content": "What is the price of ETH?"}],
            max_tokens=200,
            tools=TOOLS,
            stream=True,
        )
        chunks = [c async for c in stream]
    final = chunks[-1]
    assert final.is_final and all(c.choices for c in chunks)
    calls = final.choices[0].delta.tool_calls
    assert calls and calls[0]["function"]["name"] == "get_token_price"
    assert json.loads(calls[0]["function"]["arguments"]).get("symbol", "").upper() == "ETH"
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.receipt is not None and final.receipt.signature_status == "verified"


async def test_one_signature_for_many_calls_and_a_new_one_after_settlement(sdk_devnet: Any) -> None:
    async with og.LLM(network="devnet", devnet_url=sdk_devnet.url) as llm:
        await llm.aensure_opg_approval(1)
        for _ in range(4):
            await llm.chat(
                "openai/gpt-4.1-mini", [{"role": "user", "content": "hi"}], max_tokens=20
            )
        assert llm.signatures_made == 1
        await asyncio.sleep(2.5)  # idle settlement (session_idle=1 s) closes the session
        await llm.chat("openai/gpt-4.1-mini", [{"role": "user", "content": "hi"}], max_tokens=20)
        assert llm.signatures_made == 2


async def test_a_devnet_named_by_a_fixed_url_is_verified_through_its_registry(
    sdk_devnet: Any,
) -> None:
    """No TEE is pinned for a fixed URL; the key still comes from the on-chain registry."""
    async with og.LLM.from_url(None, sdk_devnet.url) as llm:
        await llm.aensure_opg_approval(1)
        out = await llm.chat("openai/gpt-4.1-mini", [{"role": "user", "content": "hi"}])
    assert out.signature_status is og.SignatureStatus.VERIFIED


def test_the_tutorial_example_prints_seven_different_payment_hashes(sdk_devnet: Any) -> None:
    """examples/tutorial.py (README shows its output): seven paid calls, seven records."""
    example = Path(__file__).resolve().parents[2] / "examples" / "tutorial.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OG_")}
    env.update(OG_NETWORK="devnet", OG_DEVNET_URL=sdk_devnet.url)  # the devnet's test key pays
    done = subprocess.run(
        [sys.executable, str(example)], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    hashes = re.findall(r"^\S[\w -]+?\s+(0x[0-9a-f]{64})$", done.stdout, re.M)
    assert len(hashes) == 7, done.stdout
    assert len(set(hashes)) == 7, done.stdout  # never shared: each names its own record
