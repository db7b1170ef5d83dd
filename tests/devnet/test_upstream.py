"""`--upstream`: an OpenAI-compatible server answers; the devnet still pays, signs, settles."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from og_chat.devnet import Devnet, tee as devtee
from og_chat.sdk.tee import canonical_chat_request
from tests.devnet.paying_client import CHAT, chat_body, make_payer, sse_events, wait_settled


class TinyOpenAI:
    """A ten-line OpenAI-compatible server: echoes the last user message, streams word by word."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        text = "upstream says: " + body["messages"][-1]["content"]
        usage = {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}
        if body.get("tools"):
            call = {
                "id": "call_up",
                "type": "function",
                "function": {"name": "get_token_price", "arguments": '{"symbol": "OPG"}'},
            }
            if body.get("stream"):
                resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
                await resp.prepare(request)
                frags = [
                    {
                        "index": 0,
                        "id": "call_up",
                        "type": "function",
                        "function": {"name": "get_token_price", "arguments": '{"sym'},
                    },
                    {"index": 0, "function": {"arguments": 'bol": "OPG"}'}},
                ]
                for frag in frags:
                    event = {"choices": [{"delta": {"tool_calls": [frag]}, "index": 0}]}
                    await resp.write(f"data: {json.dumps(event)}\n\n".encode())
                end = {"choices": [{"delta": {}, "index": 0, "finish_reason": "tool_calls"}]}
                await resp.write(f"data: {json.dumps(end)}\n\n".encode())
                await resp.write(b"data: [DONE]\n\n")
                return resp
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            return web.json_response(
                {
                    "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                    "usage": usage,
                }
            )
        if body.get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for word in text.split(" "):
                chunk = {
                    "choices": [
                        {"delta": {"content": word + " "}, "index": 0, "finish_reason": None}
                    ]
                }
                await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await resp.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            return resp
        message = {"role": "assistant", "content": text}
        return web.json_response(
            {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage}
        )


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, TinyOpenAI]]:
    server = TinyOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        await runner.cleanup()


async def test_upstream_answers_are_paid_signed_and_settled(
    upstream: tuple[str, TinyOpenAI],
) -> None:
    url, server = upstream
    net = await asyncio.to_thread(
        Devnet.start, upstream=url, upstream_model="tiny", session_idle=0.5
    )
    try:
        payer = await make_payer(net)
        async with httpx.AsyncClient(timeout=30) as client:
            body = chat_body("ping")
            resp = await payer.post(client, body)
            assert resp.status_code == 200, resp.text
            data = resp.json()
            content = data["choices"][0]["message"]["content"]
            assert content == "upstream says: ping"
            assert data["usage"] == {
                "prompt_tokens": 11,
                "completion_tokens": 4,
                "total_tokens": 15,
            }
            assert server.requests[-1]["model"] == "tiny"
            pem = (await client.get(net.url + "/signing-key")).json()["public_key"]
            assert devtee.verify_response(
                canonical_request=canonical_chat_request(body),
                output=content,
                response=data,
                public_key_pem=pem,
            )

            stream_body = chat_body("streamed words", stream=True)
            streamed = await payer.post(client, stream_body)
            events = sse_events(streamed.text)
            text = "".join(e["choices"][0]["delta"]["content"] for e in events[:-2])
            assert text == "upstream says: streamed words "
            assert events[-2]["usage"]["completion_tokens"] == 4
            assert devtee.verify_response(
                canonical_request=canonical_chat_request(stream_body),
                output=text,
                response=events[-2],
                public_key_pem=pem,
            )

            tools = [
                {"type": "function", "function": {"name": "get_token_price", "parameters": {}}}
            ]
            streamed_tool = await payer.post(client, chat_body("price?", stream=True, tools=tools))
            tool_events = sse_events(streamed_tool.text)
            (call,) = tool_events[0]["choices"][0]["delta"]["tool_calls"]
            assert call["function"]["arguments"] == '{"symbol": "OPG"}'  # fragments assembled
            assert tool_events[-2]["choices"][0]["finish_reason"] == "tool_calls"

            record = await wait_settled(client, net, payer.sessions[CHAT])
            assert record["status"] == "settled" and int(record["amount"]) > 0
    finally:
        await asyncio.to_thread(net.stop)


async def test_upstream_failure_is_a_502_and_not_charged() -> None:
    net = await asyncio.to_thread(Devnet.start, upstream="http://127.0.0.1:9", session_idle=30)
    try:
        payer = await make_payer(net)
        async with httpx.AsyncClient(timeout=30) as client:
            resp = await payer.post(client, chat_body("nobody home"))
            assert resp.status_code == 502 and "upstream" in resp.json()["error"]
            (session,) = net.gateway.sessions.values()
            assert session.accumulated == 0
    finally:
        await asyncio.to_thread(net.stop)
