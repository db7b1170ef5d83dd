"""An OpenAI-compatible upstream of our own that records what the devnet gateway forwards.

The devnet's `--upstream URL` sends each paid call's messages, temperature and
max_tokens here; this double answers (streamed or whole) with a line that names how
many messages it received, and keeps every request body so a test can check what a
CLI flag, a persona or a continued conversation really sent. It runs its own event
loop in a thread (the CLI under test runs `asyncio.run` itself), binds 127.0.0.1 on
an ephemeral port, and stops with `close`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiohttp import web


class RecordingUpstream:
    """`POST /v1/chat/completions` → an echo; `requests` holds every body received."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> RecordingUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    def close(self) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @staticmethod
    def answer_for(body: dict[str, Any]) -> str:
        """What the double says: the last user message and how many messages came."""
        last = body["messages"][-1].get("content")
        return f"upstream heard {len(body['messages'])} messages; last: {last}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        text = self.answer_for(body)
        usage = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return web.json_response({"choices": [choice], "usage": usage})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        words = text.split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            event = {"choices": [{"delta": {"content": piece}, "index": 0}]}
            await resp.write(f"data: {json.dumps(event)}\n\n".encode())
        end = {"choices": [{"delta": {}, "index": 0, "finish_reason": "stop"}], "usage": usage}
        await resp.write(f"data: {json.dumps(end)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        return resp
