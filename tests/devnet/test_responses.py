"""What the devnet answers: body and SSE shapes as live, tool calls, TEE signatures, the voices."""

from __future__ import annotations

import json

import httpx
import pytest

from og_chat.devnet import Devnet, tee as devtee
from og_chat.sdk.models import CATALOGUE
from og_chat.sdk.tee import canonical_chat_request, canonical_completion_request, tee_id_for
from tests.devnet.paying_client import CHAT, Payer, chat_body, sse_events

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_token_price",
            "description": "Get the current USD price of a crypto token",
            "parameters": {
                "type": "object",
                "properties": {"symbol": {"type": "string", "description": "ticker, e.g. ETH"}},
                "required": ["symbol"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "current_time",
            "description": "The current time in a timezone",
            "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}},
        },
    },
]


async def signing_key(client: httpx.AsyncClient, devnet: Devnet) -> str:
    doc = (await client.get(devnet.url + "/signing-key")).json()
    assert doc["tee_id"] == devnet.tee.tee_id
    assert doc["measurements"] is None and doc["wallet_address"] == devnet.gateway.pay_to
    return str(doc["public_key"])


async def test_chat_completion_body_matches_the_live_shape(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    body = chat_body("Explain Merkle proofs")
    resp = await payer.post(client, body)
    data = resp.json()
    assert set(data) == {
        "id", "object", "created", "model", "choices", "usage",
        "tee_signature", "tee_request_hash", "tee_output_hash", "tee_timestamp", "tee_id",
        "call_id",  # og-chat's devnet names each call (its on-chain record's key)
    }  # fmt: skip
    assert resp.headers["x-og-call-id"] == data["call_id"]
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    assert data["model"] == "gpt-4.1-mini"
    assert isinstance(data["tee_timestamp"], int)
    assert data["tee_id"] == devnet.tee.tee_id and data["tee_id"].startswith("0x")
    (choice,) = data["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].startswith("**GPT 4.1 Mini**")
    u = data["usage"]
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    assert resp.headers["cache-control"] == "private"


async def test_tee_signature_verifies_with_the_signing_key(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    pem = await signing_key(client, devnet)
    body = chat_body("verify me", stop=["zzz"], tools=TOOLS, tool_choice="auto")
    data = (await payer.post(client, body)).json()
    content = data["choices"][0]["message"]["content"]
    assert devtee.verify_response(
        canonical_request=canonical_chat_request(body),
        output=content,
        response=data,
        public_key_pem=pem,
    )
    # and with the client's own implementation (og_chat.sdk.tee), byte for byte
    from og_chat.sdk import tee as sdktee

    assert sdktee.request_hash(body) == data["tee_request_hash"]
    assert sdktee.output_hash(content) == data["tee_output_hash"]
    tampered = dict(data, tee_timestamp=data["tee_timestamp"] + 1)
    assert not devtee.verify_response(
        canonical_request=canonical_chat_request(body),
        output=content,
        response=tampered,
        public_key_pem=pem,
    )


async def test_tee_id_is_the_keccak_of_the_registered_key(devnet: Devnet) -> None:
    tees = await devnet.chain.operator.active_tees(0)
    mine = [t for t in tees if t["endpoint"] == devnet.url]
    assert mine, tees
    entry = mine[-1]
    assert tee_id_for(bytes(entry["publicKey"])) == devnet.tee.tee_id
    assert bytes(entry["tlsCertificate"]) == devnet.tee.certificate_der
    assert entry["paymentAddress"].lower() == devnet.gateway.pay_to.lower()


async def test_stream_is_the_gateway_sse_format(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    await payer.post(client, chat_body("open a session"))
    body = chat_body("stream me a table", stream=True, max_tokens=None)
    async with client.stream(
        "POST", devnet.url + CHAT, json=body, headers={"X-Upto-Session": payer.sessions[CHAT]}
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "text/event-stream"
        assert resp.headers["cache-control"] == "no-cache"
        assert resp.headers["x-upto-session"] == payer.sessions[CHAT]
        text = (await resp.aread()).decode()
    events = sse_events(text)
    assert events[-1] == "[DONE]"
    final = events[-2]
    content_events = events[:-2]
    for ev in content_events:
        assert ev == {
            "choices": [
                {
                    "delta": {"content": ev["choices"][0]["delta"]["content"], "role": "assistant"},
                    "index": 0,
                    "finish_reason": None,
                }
            ],
            "model": "gpt-4.1-mini",
        }
    content = "".join(ev["choices"][0]["delta"]["content"] for ev in content_events)
    assert "| Aspect |" in content and "```python" in content and "## " in content
    assert final["choices"] == [{"delta": {}, "index": 0, "finish_reason": "stop"}]
    assert final["usage"]["completion_tokens"] == len(content_events)
    assert set(final) >= {
        "tee_signature",
        "tee_timestamp",
        "tee_request_hash",
        "tee_output_hash",
        "tee_id",
        "usage",
    }
    pem = await signing_key(client, devnet)
    assert devtee.verify_response(
        canonical_request=canonical_chat_request(body),
        output=content,
        response=final,
        public_key_pem=pem,
    )


async def test_tool_call_non_stream(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    body = chat_body("What is the price of ETH right now?", tools=TOOLS, tool_choice="auto")
    data = (await payer.post(client, body)).json()
    choice = data["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_token_price"
    assert json.loads(call["function"]["arguments"]) == {"symbol": "ETH"}
    pem = await signing_key(client, devnet)
    assert devtee.verify_response(
        canonical_request=canonical_chat_request(body),
        output=json.dumps(choice["message"]["tool_calls"], sort_keys=True),
        response=data,
        public_key_pem=pem,
    )


async def test_tool_call_streams_as_one_complete_delta(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    body = chat_body(
        "What time is it in Europe/Paris?", tools=TOOLS, tool_choice="auto", stream=True
    )
    resp = await payer.post(client, body)
    events = sse_events(resp.text)
    assert events[-1] == "[DONE]"
    (tool_event,) = [
        e for e in events[:-1] if e["choices"] and e["choices"][0]["delta"].get("tool_calls")
    ]
    delta = tool_event["choices"][0]["delta"]
    assert delta["role"] == "assistant"
    (call,) = delta["tool_calls"]
    assert call["index"] == 0 and call["function"]["name"] == "current_time"
    assert json.loads(call["function"]["arguments"]) == {"timezone": "Europe/Paris"}
    final = events[-2]
    assert final["choices"][0]["finish_reason"] == "tool_calls"
    signed_output = json.dumps([{k: v for k, v in call.items() if k != "index"}], sort_keys=True)
    assert devtee.verify_response(
        canonical_request=canonical_chat_request(body),
        output=signed_output,
        response=final,
        public_key_pem=await signing_key(client, devnet),
    )


async def test_answer_after_a_tool_result_uses_it(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_token_price", "arguments": '{"symbol": "ETH"}'},
    }
    messages = [
        {"role": "user", "content": "What is the price of ETH?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"symbol": "ETH", "usd": 3150.25}'},
    ]
    data = (
        await payer.post(client, chat_body(messages=messages, tools=TOOLS, max_tokens=None))
    ).json()
    choice = data["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "get_token_price" in choice["message"]["content"]
    assert "3150.25" in choice["message"]["content"]


async def test_max_tokens_cuts_with_length(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    data = (await payer.post(client, chat_body("anything", max_tokens=7))).json()
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 7


async def test_long_answers_on_request(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    data = (
        await payer.post(client, chat_body("Write a detailed essay about rollups", max_tokens=None))
    ).json()
    assert data["usage"]["completion_tokens"] >= 2500
    words = (
        await payer.post(client, chat_body("Answer in 800 words about caching", max_tokens=None))
    ).json()
    assert 800 <= words["usage"]["completion_tokens"] < 1200


async def test_answers_are_deterministic(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    a = (await payer.post(client, chat_body("same question"))).json()
    b = (await payer.post(client, chat_body("same question"))).json()
    assert a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]
    assert a["tee_request_hash"] == b["tee_request_hash"]


@pytest.mark.parametrize(
    ("model", "marker"),
    [
        ("openai/gpt-5", "short version"),
        ("anthropic/claude-sonnet-4-5", "carefully"),
        ("google/gemini-2.5-pro", "| Summary |"),
        ("x-ai/grok-4", "throat-clearing"),
        ("bytedance/seed-1.8", "Answer:"),
        ("nous/hermes-4-405b", "*leans back"),
        ("zai/glm-5.2", "Respected user"),
    ],
)
async def test_every_provider_has_its_voice(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer, model: str, marker: str
) -> None:
    data = (
        await payer.post(client, chat_body("tell me about tea", model=model, max_tokens=None))
    ).json()
    content = data["choices"][0]["message"]["content"]
    assert content.splitlines()[0].startswith(f"**{CATALOGUE[model].display_name}**")
    assert marker in content
    assert data["model"] == model


async def test_every_catalogue_model_answers(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    for info in CATALOGUE.values():
        resp = await payer.post(client, chat_body("hi", model=info.name, max_tokens=20))
        assert resp.status_code == 200, (info.id, resp.text)


async def test_completions_endpoint(
    devnet: Devnet, client: httpx.AsyncClient, payer: Payer
) -> None:
    body = {
        "model": "claude-haiku-4-5",
        "prompt": "Say something",
        "max_tokens": 30,
        "temperature": 0.0,
    }
    resp = await payer.post(client, body, path="/v1/completions")
    assert resp.status_code == 200
    data = resp.json()
    assert data["object"] == "text_completion"
    text = data["choices"][0]["text"]
    assert data["completion"] == text
    assert devtee.verify_response(
        canonical_request=canonical_completion_request(body),
        output=text,
        response=data,
        public_key_pem=await signing_key(client, devnet),
    )
    assert payer.sessions["/v1/completions"] != payer.sessions.get(CHAT)
