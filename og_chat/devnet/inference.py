"""Answering paid calls: `POST /v1/chat/completions` and `/v1/completions`, whole or streamed.

A call is parsed (validation.py), paid for by a session (payments.py), answered by the
responder, signed with the TEE key, its metadata settled (data_settlement.py), and only
then charged, so an answer that fails or is cut off costs nothing. The fault switches
(faults.py) make it misbehave on purpose: a 5xx, a slow first byte, a dropped
connection, malformed SSE.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from og_chat.sdk.calls import SETTLEMENT_TYPE
from og_chat.sdk.tee import output_text
from og_chat.sdk.x402 import UPTO_SESSION

from .data_settlement import DataSettlement, settlement_mode
from .gateway_host import GatewayHost
from .generation import (
    Event,
    Finish,
    GenerationRequest,
    Images,
    Text,
    ToolCalls,
    UpstreamError,
    count_prompt_tokens,
)
from .http_errors import error_response
from .operator import IndividualCall
from .payments import Payments
from .sessions import Session
from .tee import Signed
from .validation import parse_generation_request, read_json
from .writer import LocalResponder

log = logging.getLogger("og_chat.devnet.gateway")

DEFAULT_COMPLETION_ESTIMATE = 256
"""Completion tokens reserved for a call that sets no `max_tokens`."""
GARBAGE_SSE = (
    'not json at all"}\n\ngarbage line without a field\n\n: a comment\n\nevent: ping\n\n'
    'data:{"choices": [{"delta": '
)
"""What `malformed_sse` sends instead of the end of a stream."""
CALL_ID_HEADER = "X-OG-Call-Id"
"""The response header naming the call (also `call_id` in the JSON body and final SSE event)."""


@dataclass
class Call:
    """One paid call being answered."""

    request: web.Request
    gen: GenerationRequest
    canonical: dict[str, Any]
    """The canonical request the TEE signs (og_chat.sdk.tee)."""
    model: str
    """The model name as the client sent it, echoed in the answer."""
    session: Session
    mode: str
    """Data settlement: private, batch or individual."""
    call_id: str = field(default_factory=lambda: "0x" + os.urandom(32).hex())
    """bytes32 hex naming this call and its on-chain record; random, so unique per call
    even for the same prompt on the same session, across restarts and replays."""


class Inference:
    """The inference routes: challenge, pay, answer, sign, settle, charge."""

    def __init__(self, host: GatewayHost, payments: Payments, data: DataSettlement) -> None:
        self.host = host
        self.payments = payments
        self.data = data

    def _estimate(self, gen: GenerationRequest) -> int:
        """What a call may cost at most, reserved on its session while it runs."""
        completion = gen.max_tokens if gen.max_tokens is not None else DEFAULT_COMPLETION_ESTIMATE
        return self.payments.cost(gen.model_id, count_prompt_tokens(gen.messages), completion)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/chat/completions`, `/v1/completions`: challenge, pay, answer, sign, charge."""
        body = await read_json(request)
        gen, canonical, model = parse_generation_request(request.path, body)
        mode = settlement_mode(request.headers.get(SETTLEMENT_TYPE))
        reserve = self._estimate(gen)
        paying = await self.payments.session_for(request, reserve)
        if isinstance(paying, web.Response):
            return paying
        session = paying
        session.reserved += reserve
        session.in_flight += 1
        session.last_used = time.monotonic()
        faults = self.host.faults
        try:
            if faults.status_5xx:
                return error_response(
                    faults.status_5xx, "service temporarily unavailable (devnet fault)"
                )
            if faults.first_byte_delay:
                await asyncio.sleep(faults.first_byte_delay)
            call = Call(request, gen, canonical, model, session, mode)
            return await (self._stream(call) if gen.stream else self._complete(call))
        finally:
            session.reserved -= reserve
            session.in_flight -= 1
            session.last_used = time.monotonic()
            if (
                session.status == "open"
                and session.accumulated >= session.cap
                and not session.in_flight
            ):
                self.payments.settle_later(session)

    def _sign(
        self,
        call: Call,
        content: str,
        calls: list[dict[str, Any]] | None,
        images: list[str] | None = None,
    ) -> Signed:
        """The TEE's signature over the request and the answer (its images included)."""
        output = output_text(content, calls, images)
        return self.host.tee.sign(call.canonical, output, int(time.time()))

    async def _record(
        self, call: Call, signed: Signed, output: str, finish: Finish
    ) -> dict[str, str]:
        """The call's on-chain record (data_settlement.py); the headers that announce it.

        `output` is the text the TEE signed (`output_text`: content, tool calls, images).
        """
        whole = IndividualCall(
            call.call_id,
            call.gen.model_id,
            json.dumps(call.canonical, sort_keys=True, ensure_ascii=False),  # readable UTF-8
            output,
            finish.prompt_tokens,
            finish.completion_tokens,
            signed.tee_id,
            signed.tee_request_hash,
            signed.tee_timestamp,
            base64.b64decode(signed.tee_signature),
        )
        return await self.data.settle(call.mode, whole)

    def _charge(self, call: Call, finish: Finish) -> None:
        cost = self.payments.cost(call.gen.model_id, finish.prompt_tokens, finish.completion_tokens)
        self.payments.charge(call.session, cost)

    async def _complete(self, call: Call) -> web.StreamResponse:
        pieces: list[str] = []
        calls: list[dict[str, Any]] | None = None
        images: list[str] | None = None
        finish: Finish | None = None
        try:
            async for event in self.host.responder.respond(call.gen):
                if isinstance(event, Text):
                    pieces.append(event.text)
                    drop = self.host.faults.drop_after_tokens
                    if drop is not None and len(pieces) >= drop:
                        return _drop(call.request)
                elif isinstance(event, ToolCalls):
                    calls = event.calls
                elif isinstance(event, Images):
                    images = event.uris
                elif isinstance(event, Finish):
                    finish = event
        except UpstreamError as exc:
            return error_response(502, str(exc))
        assert finish is not None
        content = "".join(pieces)
        signed = self._sign(call, content, calls, images)
        headers = {
            UPTO_SESSION: call.session.id,
            CALL_ID_HEADER: call.call_id,
            "Cache-Control": "private",
        }
        headers.update(
            await self._record(call, signed, output_text(content, calls, images), finish)
        )
        if call.request.path.endswith("/chat/completions"):
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if calls:
                message["tool_calls"] = calls
            if images:
                message["images"] = images
            body: dict[str, Any] = {
                "id": f"chatcmpl-{uuid.uuid4()}",
                "object": "chat.completion",
                "created": signed.tee_timestamp,
                "model": call.model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish.reason}],
            }
        else:
            body = {
                "id": f"cmpl-{uuid.uuid4()}",
                "object": "text_completion",
                "created": signed.tee_timestamp,
                "model": call.model,
                "choices": [{"text": content, "index": 0, "finish_reason": finish.reason}],
                "completion": content,
            }
        body["usage"] = _usage(finish)
        body.update(signed.fields())
        body["call_id"] = call.call_id
        self._charge(call, finish)
        return web.json_response(body, headers=headers)

    async def _stream(self, call: Call) -> web.StreamResponse:
        events = self.host.responder.respond(call.gen)
        try:  # the first event before any header, so an upstream failure can still be a 502
            first = await events.__anext__()
        except UpstreamError as exc:
            return error_response(502, str(exc))
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "Connection": "keep-alive",
                UPTO_SESSION: call.session.id,
                CALL_ID_HEADER: call.call_id,
            }
        )
        await resp.prepare(call.request)
        responder = self.host.responder
        batch = isinstance(responder, LocalResponder) and responder.tokens_per_second <= 0
        out: list[bytes] = []
        faults = self.host.faults

        async def emit(data: dict[str, Any] | str, *, flush: bool = False) -> None:
            line = data if isinstance(data, str) else json.dumps(data)
            out.append(f"data: {line}\n\n".encode())
            if flush or not batch or len(out) >= 64:
                await resp.write(b"".join(out))
                out.clear()

        async def misbehave() -> web.StreamResponse:
            await emit(GARBAGE_SSE, flush=True)
            await emit({"error": "Stream processing failed"}, flush=True)
            return resp

        pieces: list[str] = []
        calls: list[dict[str, Any]] | None = None
        images: list[str] | None = None
        finish: Finish | None = None
        try:
            async for event in _prepend(first, events):
                if isinstance(event, Text):
                    pieces.append(event.text)
                    await emit(_delta(call.model, {"content": event.text, "role": "assistant"}))
                    drop = faults.drop_after_tokens
                    if drop is not None and len(pieces) >= drop:
                        if out:
                            await resp.write(b"".join(out))
                        return _drop(call.request, resp)
                    if faults.malformed_sse and len(pieces) >= 3:
                        return await misbehave()
                elif isinstance(event, ToolCalls):
                    calls = event.calls
                    for i, tool_call in enumerate(calls):
                        delta = {"role": "assistant", "tool_calls": [{"index": i, **tool_call}]}
                        await emit(_delta(call.model, delta))
                elif isinstance(event, Images):
                    images = event.uris
                elif isinstance(event, Finish):
                    finish = event
        except UpstreamError as exc:
            log.warning("upstream failed mid-stream: %s", exc)
            await emit({"error": "Stream processing failed"}, flush=True)
            return resp
        if faults.malformed_sse:  # short answers: still misbehave at the end
            return await misbehave()
        assert finish is not None
        content = "".join(pieces)
        signed = self._sign(call, content, calls, images)
        final: dict[str, Any] = {
            "choices": [{"delta": {}, "index": 0, "finish_reason": finish.reason}],
            "model": call.model,
            **signed.fields(),
            "call_id": call.call_id,
            "usage": _usage(finish),
        }
        if images:  # on the final event, as the live gateway streams them
            final["images"] = images
        data_headers = await self._record(call, signed, output_text(content, calls, images), finish)
        if call.mode == "individual":
            final["data_settlement_success"] = (
                data_headers.get("X-Settlement-Status") == "submitted"
            )
            final["data_settlement_transaction_hash"] = data_headers.get("X-Settlement-Tx-Hash")
            final["data_settlement_blob_id"] = None
            final["settlement_job_id"] = data_headers.get("X-Settlement-Job-ID")
            final["settlement_queue_nonce"] = data_headers.get("X-Settlement-Queue-Nonce")
        self._charge(call, finish)
        await emit(final)
        await emit("[DONE]", flush=True)
        await resp.write_eof()
        return resp


async def _prepend(first: Event, rest: AsyncIterator[Event]) -> AsyncIterator[Event]:
    yield first
    async for event in rest:
        yield event


def _delta(model: str, delta: dict[str, Any]) -> dict[str, Any]:
    """One streamed chunk carrying `delta`."""
    return {"choices": [{"delta": delta, "index": 0, "finish_reason": None}], "model": model}


def _usage(finish: Finish) -> dict[str, int]:
    return {
        "prompt_tokens": finish.prompt_tokens,
        "completion_tokens": finish.completion_tokens,
        "total_tokens": finish.prompt_tokens + finish.completion_tokens,
    }


def _drop(request: web.Request, resp: web.StreamResponse | None = None) -> web.StreamResponse:
    """Cut the connection mid-answer, as a network failure would."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return resp if resp is not None else web.Response(status=500)
