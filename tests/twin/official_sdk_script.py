"""Run by the official SDK's own venv (not ours): the tutorial's calls, against a devnet.

argv: gateway URL, RPC URL, registry address, private key. `BASE_MAINNET_RPC` and
`REQUESTS_CA_BUNDLE` come from the environment. Prints one JSON object of what
happened; any exception fails the run (exit code 1, traceback on stderr).
"""

import asyncio
import json
import sys

import opengradient as og

GATEWAY, RPC, REGISTRY, KEY = sys.argv[1:5]
MESSAGES = [{"role": "user", "content": "hello from the official SDK"}]


async def main() -> dict:
    llm = og.LLM(private_key=KEY, rpc_url=RPC, tee_registry_address=REGISTRY)
    approval = llm.ensure_opg_approval(min_allowance=1.0)
    result = await llm.chat(og.TEE_LLM.GPT_4_1_MINI, MESSAGES, max_tokens=40)
    stream = await llm.chat(og.TEE_LLM.CLAUDE_HAIKU_4_5, MESSAGES, max_tokens=40, stream=True)
    chunks = [chunk async for chunk in stream]
    await llm.close()
    direct = og.LLM.from_url(private_key=KEY, llm_server_url=GATEWAY)
    fixed = await direct.chat(og.TEE_LLM.GPT_4_1_MINI, MESSAGES, max_tokens=20)
    await direct.close()
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return {
        "approval_tx": approval.tx_hash,
        "allowance_after": str(approval.allowance_after),
        "chat": result.chat_output["content"],
        "tee_id": result.tee_id,
        "tee_endpoint": result.tee_endpoint,
        "tee_signature": bool(result.tee_signature),
        "stream_text": text,
        "stream_final": bool(chunks and chunks[-1].is_final),
        "from_url_chat": fixed.chat_output["content"],
    }


print(json.dumps(asyncio.run(main())))
