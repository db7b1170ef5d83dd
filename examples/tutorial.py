"""The OpenGradient tutorial's complete example, as the tutorial writes it, on og-chat.

    OG_NETWORK=devnet python examples/tutorial.py      # an embedded devnet, its test key

Seven paid calls (a chat, a stream, a tool call and its follow-up, one call per settlement
mode); each prints its own `payment_hash`, the call's on-chain record (README: Receipts).
"""

import asyncio
import json
import os

import og_chat.sdk as og  # was: import opengradient as og

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

llm = og.LLM(private_key=os.environ.get("OG_PRIVATE_KEY"))
llm.ensure_opg_approval(min_allowance=5)


def show(label: str, result: og.TextGenerationOutput) -> None:
    print(f"{label:<24} {result.payment_hash}")


async def main() -> None:
    ask = [{"role": "user", "content": "What is the x402 payment protocol?"}]
    result = await llm.chat(model=og.TEE_LLM.GPT_5, messages=ask, max_tokens=200)
    show("chat", result)

    stream = await llm.chat(
        model=og.TEE_LLM.CLAUDE_SONNET_4_6,
        messages=[{"role": "user", "content": "Explain TEEs in one paragraph."}],
        max_tokens=100,
        stream=True,
    )
    async for chunk in stream:
        if chunk.is_final and chunk.receipt is not None:
            print(f"{'stream':<24} {chunk.payment_hash or chunk.receipt.payment_hash}")

    question = [{"role": "user", "content": "What is ETH trading at?"}]
    result = await llm.chat(model=og.TEE_LLM.GPT_5, messages=question, tools=TOOLS, max_tokens=200)
    show("tool call", result)
    call = (result.chat_output or {}).get("tool_calls", [{}])[0]
    answer = [
        *question,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call.get("id"), "content": json.dumps({"usd": 3150})},
    ]
    result = await llm.chat(model=og.TEE_LLM.GPT_5, messages=answer, max_tokens=200)
    show("tool follow-up", result)

    for mode in (
        og.x402SettlementMode.PRIVATE,
        og.x402SettlementMode.BATCH_HASHED,
        og.x402SettlementMode.INDIVIDUAL_FULL,
    ):
        result = await llm.chat(
            model=og.TEE_LLM.CLAUDE_SONNET_4_6,
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=50,
            x402_settlement_mode=mode,
        )
        show(mode.name, result)
    await llm.close()


asyncio.run(main())
