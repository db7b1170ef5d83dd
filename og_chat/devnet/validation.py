"""What the gateway accepts: an inference request body, validated into a `GenerationRequest`.

Every malformed field is a 400 naming the field and what it should be, so a client
sees its mistake instead of a 500 or a silently ignored value.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from og_chat.sdk.models import CATALOGUE, ModelInfo
from og_chat.sdk.tee import (
    CanonicalRequestError,
    canonical_chat_request,
    canonical_completion_request,
)

from .generation import GenerationRequest
from .http_errors import BadRequest

ROLES = ("system", "developer", "user", "assistant", "tool", "function")


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; BadRequest(400) when it is not."""
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest(400, "request body is not valid JSON") from None


def _find_model(name: str) -> ModelInfo | None:
    """A catalogue model by full id (`provider/model`) or bare name (as the live wire sends)."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    return next((info for info in CATALOGUE.values() if info.name == name), None)


def parse_generation_request(path: str, body: Any) -> tuple[GenerationRequest, dict[str, Any], str]:
    """Validate the body; `(generation request, canonical request, echoed model)`."""
    if not isinstance(body, dict):
        raise BadRequest(400, "request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest(400, "'model' is required and must be a string, e.g. \"gpt-4.1-mini\"")
    info = _find_model(model)
    if info is None:
        raise BadRequest(
            400,
            f"unknown model {model!r}: send a bare name such as 'claude-haiku-4-5' or "
            "'anthropic/claude-haiku-4-5'; list them with GET /v1/models or `og-chat models`",
        )
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0
    ):
        raise BadRequest(400, "'max_tokens' must be a non-negative integer or null")
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise BadRequest(400, "'temperature' must be a number")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest(400, "'stream' must be true or false")
    stop = body.get("stop")
    if stop is None or stop == "" or stop == []:
        stops: list[str] = []
    elif isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        stops = list(stop)
    else:
        raise BadRequest(400, "'stop' must be a string or a list of strings")
    if path.endswith("/chat/completions"):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest(400, "'messages' must be a non-empty list of {role, content} objects")
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                raise BadRequest(400, f"messages[{i}] must be an object")
            if m.get("role") not in ROLES:
                raise BadRequest(400, f"messages[{i}].role {m.get('role')!r} is not a known role")
            content = m.get("content")
            if content is not None and not isinstance(content, str | list):
                raise BadRequest(
                    400, f"messages[{i}].content must be a string, a list of parts or null"
                )
        tools = body.get("tools") or []
        if not isinstance(tools, list) or not all(
            isinstance(t, dict)
            and isinstance(t.get("function"), dict)
            and isinstance(t["function"].get("name"), str)
            for t in tools
        ):
            raise BadRequest(
                400, "'tools' must be a list of {type: 'function', function: {name, ...}}"
            )
        try:
            canonical = canonical_chat_request(body)
        except CanonicalRequestError as exc:
            raise BadRequest(400, str(exc)) from None
    else:
        prompt = body.get("prompt")
        if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
            prompt = "\n".join(prompt)
        if not isinstance(prompt, str):
            raise BadRequest(400, "'prompt' must be a string")
        messages = [{"role": "user", "content": prompt}]
        tools = []
        canonical = canonical_completion_request(body)
    gen = GenerationRequest(
        model_id=info.id,
        model=model,
        provider=info.provider,
        display_name=info.display_name,
        messages=messages,
        tools=tools,
        max_tokens=max_tokens,
        stop=stops,
        temperature=float(temperature or 0.0),
        stream=stream,
    )
    return gen, canonical, model
