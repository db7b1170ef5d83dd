"""Answers from an upstream OpenAI-compatible server (Ollama, llama.cpp, vLLM), re-emitted as events.

The devnet still pays, signs and settles around it, so a real local model can be used
through the full x402 path. Streamed answers are read with the sdk's SSE parser and
their tool-call fragments folded by the sdk's stream assembler: the client and the
devnet read a stream by the same rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from og_chat.sdk.sse import DONE, SSEParser
from og_chat.sdk.stream import StreamAssembler

from .generation import (
    Event,
    Finish,
    GenerationRequest,
    Text,
    ToolCalls,
    UpstreamError,
    count_prompt_tokens,
    message_text,
    tokenize,
)

if TYPE_CHECKING:
    import aiohttp


class UpstreamResponder:
    """Forwards to `POST {url}/v1/chat/completions` and re-emits the answer as events."""

    def __init__(self, url: str, *, model: str | None = None, timeout: float = 300.0) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP client (on the gateway's loop)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_read=120)
            )
        return self._session

    def _body(self, req: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model or req.model,
            "messages": req.messages,
            "temperature": req.temperature,
            "stream": req.stream,
        }
        if req.max_tokens is not None:
            body["max_tokens"] = req.max_tokens
        if req.stop:
            body["stop"] = req.stop
        if req.tools:
            body["tools"] = req.tools
        if req.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    async def respond(self, req: GenerationRequest) -> AsyncIterator[Event]:
        """Yield upstream's answer as events (tool-call fragments are assembled first)."""
        url = f"{self.url}/v1/chat/completions"
        try:
            async with self._client().post(url, json=self._body(req)) as resp:
                if resp.status >= 400:
                    text = await resp.text()
                    raise UpstreamError(f"upstream {url} answered {resp.status}: {text[:200]}")
                if req.stream and resp.content_type == "text/event-stream":
                    async for event in self._from_sse(req, resp):
                        yield event
                    return
                data = await resp.json(content_type=None)
        except UpstreamError:
            raise
        except Exception as exc:
            raise UpstreamError(f"upstream {url} failed: {exc}") from exc
        for event in self._from_body(req, data):
            yield event

    def _from_body(self, req: GenerationRequest, data: Any) -> list[Event]:
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (KeyError, IndexError, TypeError):
            raise UpstreamError("upstream answer has no choices") from None
        events: list[Event] = []
        text = message_text(message.get("content"))
        calls = message.get("tool_calls") or None
        if isinstance(calls, list):
            assembler = StreamAssembler()
            assembler.merge_tool_calls(calls)
            events.append(ToolCalls(assembler.tool_calls() or []))
        else:
            events += [Text(t) for t in tokenize(text)]
        usage = data.get("usage") or {}
        events.append(
            Finish(
                "tool_calls" if calls else str(choice.get("finish_reason") or "stop"),
                int(usage.get("prompt_tokens") or count_prompt_tokens(req.messages)),
                int(usage.get("completion_tokens") or len(tokenize(text))),
            )
        )
        return events

    async def _from_sse(
        self, req: GenerationRequest, resp: aiohttp.ClientResponse
    ) -> AsyncIterator[Event]:
        assembler = StreamAssembler()
        produced = 0
        reason = "stop"
        usage: dict[str, Any] = {}
        async for obj in _sse_events(resp.content.iter_any()):
            if isinstance(obj.get("usage"), dict):
                usage = obj["usage"]
            choices = obj.get("choices")
            for choice in choices if isinstance(choices, list) else []:
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta") or {}
                content = delta.get("content")
                if isinstance(content, str) and content:
                    for tok in tokenize(content) if content.strip() else [content]:
                        produced += 1
                        yield Text(tok)
                fragments = delta.get("tool_calls")
                if isinstance(fragments, list):
                    assembler.merge_tool_calls(fragments)
                if choice.get("finish_reason"):
                    reason = str(choice["finish_reason"])
        calls = assembler.tool_calls()
        if calls:
            yield ToolCalls(calls)
            reason = "tool_calls"
        yield Finish(
            reason,
            int(usage.get("prompt_tokens") or count_prompt_tokens(req.messages)),
            int(usage.get("completion_tokens") or produced),
        )


async def _sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
    """The JSON events of an SSE body, up to `[DONE]` or the end (og_chat.sdk.sse's rules)."""
    parser = SSEParser()
    async for chunk in chunks:
        for event in parser.feed(chunk):
            if event is DONE:
                return
            yield event
    for event in parser.close():
        if event is not DONE:
            yield event
