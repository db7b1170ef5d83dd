"""One call to the gateway: its request body, its bookkeeping, and its non-streamed answer.

The official SDK's defaults (`max_tokens` 100, `temperature` 0.0, batch
settlement) are defined once, in `types.py` (light: the TUI shows them before the
client loads); `LLM.chat` and `LLM.completion` take them as their defaults and
everything below receives the values, never restating them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .answer_fields import (
    BLOB_ID_HEADER,
    SETTLEMENT_TX_HEADER,
    MalformedAnswer,
    check_choices,
    check_fields,
    usage_counts,
)
from .errors import ConfigurationError
from .models import TEE_LLM, split_model
from .networks import PLACEHOLDER_API_KEY
from .outputs import TextGenerationOutput
from .receipt import ChainMark
from .tee import request_hash
from .types import ResponseFormat, x402SettlementMode

if TYPE_CHECKING:  # what the payment flow records; loaded by the client (httpx, pydantic)
    from .signing import SignedPayment
    from .x402 import SettleResponse

SETTLEMENT_TYPE = "X-SETTLEMENT-TYPE"
"""The request header naming the call's settlement mode (`batch`)."""
CHAT_PATH = "/v1/chat/completions"
COMPLETION_PATH = "/v1/completions"


@dataclass
class PaymentTrace:
    """Which payment a request used, for its receipt; written by the flow as it goes."""

    payment: SignedPayment | None = None
    """The authorization the request rode on: signed for it, or its session's."""
    session: str | None = None
    """The upto session it carried, or the one the gateway opened for it."""
    settle: SettleResponse | None = None
    """The gateway's PAYMENT-RESPONSE, when it sent one."""
    paid: bool = False
    """A request carrying a new signature has left: it must never be sent again."""


@dataclass
class Call:
    """One request's bookkeeping, from sending to the receipt."""

    path: str
    body: dict[str, Any]
    model: str
    """`provider/model`."""
    provider: str
    mode: str
    """The settlement mode's wire value (`batch`)."""
    conversation_id: str | None
    started: float = field(default_factory=time.time)
    trace: PaymentTrace = field(default_factory=PaymentTrace)
    """What the payment flow recorded: the payment and session the request used."""
    network: str = ""
    """The payment network's name, known once the client has resolved it."""
    endpoint: str = ""
    chain: ChainMark = field(default_factory=ChainMark)
    """The payment chain, known once the client has resolved the network (for the receipt)."""
    tee_id: str | None = None
    deadline: float | None = None
    """`time.monotonic()` by which the whole call (answer or stream) must be done."""
    receipt_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """The id of this call's receipt (the write-ahead one and the final one share it)."""

    @cached_property
    def body_hash(self) -> str | None:
        """keccak of the canonical request (what the TEE will hash), for the receipt; None
        when the body cannot be canonicalised."""
        try:
            return request_hash(self.body)
        except (ValueError, TypeError):
            return None

    def headers(self) -> dict[str, str]:
        """The request headers the official client sends (payment headers come from the flow)."""
        return {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {PLACEHOLDER_API_KEY}",
            SETTLEMENT_TYPE: self.mode,
        }


def chat_call(
    model: str | TEE_LLM,
    messages: list[dict[str, Any]],
    *,
    max_tokens: int,
    temperature: float,
    stop_sequence: list[str] | None,
    tools: list[dict[str, Any]] | None,
    tool_choice: str | None,
    response_format: ResponseFormat | dict[str, Any] | None,
    settlement: x402SettlementMode,
    web_search: bool,
    stream: bool,
    conversation_id: str | None,
) -> Call:
    """A `/v1/chat/completions` call; its body is the JSON the official client sends."""
    provider, bare = split_model(model)
    fmt = (
        response_format.to_dict()
        if isinstance(response_format, ResponseFormat)
        else response_format
    )
    if fmt and fmt.get("type") == "json_object" and provider == "anthropic":
        raise ConfigurationError(
            "Anthropic models do not support response_format json_object",
            hint="use type='json_schema' with a schema",
        )
    if not isinstance(messages, list) or not messages:
        raise ConfigurationError("messages must be a non-empty list of {role, content} dicts")
    body = _body(bare, "messages", messages, max_tokens, temperature)
    if stream:
        body["stream"] = True
    if stop_sequence:
        body["stop"] = stop_sequence
    if tools:
        body["tools"] = tools
        body["tool_choice"] = tool_choice or "auto"
    if fmt:
        body["response_format"] = fmt
    if web_search:
        body["web_search"] = True
    full = f"{provider}/{bare}"
    return Call(CHAT_PATH, body, full, provider, settlement.value, conversation_id)


def completion_call(
    model: str | TEE_LLM,
    prompt: str,
    *,
    max_tokens: int,
    temperature: float,
    stop_sequence: list[str] | None,
    settlement: x402SettlementMode,
) -> Call:
    """A plain `/v1/completions` call."""
    provider, bare = split_model(model)
    body = _body(bare, "prompt", prompt, max_tokens, temperature)
    if stop_sequence:
        body["stop"] = stop_sequence
    return Call(COMPLETION_PATH, body, f"{provider}/{bare}", provider, settlement.value, None)


def _body(bare: str, key: str, value: Any, max_tokens: int, temperature: float) -> dict[str, Any]:
    """`{model, messages|prompt, max_tokens, temperature}`, in the official client's key order."""
    return {"model": bare, key: value, "max_tokens": max_tokens, "temperature": temperature}


@dataclass
class Answer:
    """A non-streamed answer, read from the gateway's JSON."""

    fields: dict[str, Any]
    """The whole JSON object (the TEE fields sit at its top level)."""
    content: str | None
    tool_calls: Any = None
    finish_reason: str | None = None
    message: dict[str, Any] | None = None
    """The chat message, content parts joined into text."""
    completion: str | None = None
    """A completion's text."""
    usage: dict[str, Any] | None = None

    def output(self, headers: Mapping[str, str]) -> TextGenerationOutput:
        """The official SDK's output for this answer; the client adds the trust and payment."""
        fields = self.fields
        return TextGenerationOutput(
            data_settlement_transaction_hash=headers.get(SETTLEMENT_TX_HEADER),
            data_settlement_blob_id=headers.get(BLOB_ID_HEADER),
            finish_reason=self.finish_reason,
            chat_output=self.message,
            completion_output=self.completion,
            images=(self.message or {}).get("images"),
            usage=self.usage,
            tee_signature=fields.get("tee_signature"),
            tee_timestamp=fields.get("tee_timestamp"),
            tee_request_hash=fields.get("tee_request_hash"),
            tee_output_hash=fields.get("tee_output_hash"),
        )


def read_answer(call: Call, raw: bytes) -> Answer:
    """Parse the JSON answer to `call`; MalformedAnswer when it is not a usable answer
    (the client turns that into a GatewayError carrying the call's receipt)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedAnswer("the response is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedAnswer("the response is not a JSON object")
    check_fields(data)
    usage_counts(data.get("usage"))
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    if call.path == COMPLETION_PATH:
        completion = data.get("completion")
        if completion is not None and not isinstance(completion, str):
            raise MalformedAnswer(f"completion is a {type(completion).__name__}, not text")
        text = completion or ""
        return Answer(data, text, completion=text, usage=usage)
    choices = check_choices(data.get("choices"), required=True)
    if not choices:
        raise MalformedAnswer("'choices' is empty")
    first = choices[0]
    message = first.get("message") or {}
    if not isinstance(message, dict):
        raise MalformedAnswer("the message is not an object")
    message = dict(message)
    content = message.get("content")
    if isinstance(content, list):
        message["content"] = " ".join(
            str(b.get("text", ""))
            for b in content
            if isinstance(b, dict) and b.get("type") == "text"
        ).strip()
    elif content is not None and not isinstance(content, str):
        raise MalformedAnswer(f"the message's content is a {type(content).__name__}")
    tool_calls = message.get("tool_calls")
    if tool_calls is not None and not isinstance(tool_calls, list):
        raise MalformedAnswer("tool_calls is not a list")
    return Answer(
        data,
        message.get("content"),
        tool_calls=tool_calls,
        finish_reason=first.get("finish_reason"),
        message=message,
        usage=usage,
    )
