"""`og-chat ask`: one question, the answer streamed to stdout, the receipt line on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from og_chat.app.costs import receipt_cost
from og_chat.app.runtime import Runtime
from og_chat.app.sanitize import StreamNeutralizer
from og_chat.sdk.errors import ConfigurationError, StreamInterrupted, VerificationFailed
from og_chat.sdk.models import resolve_model
from og_chat.sdk.types import Receipt, StreamChunk, settlement_mode
from og_chat.store.config import load_config

from .connect import open_runtime, run
from .output import EXIT_OK, inert, note, out, out_json, tee_mark, tee_words


def cmd_ask(args: argparse.Namespace) -> int:
    """Ask one question, stream the answer, summarise the receipt on stderr."""
    prompt = _read_prompt(args)
    model = resolve_model(args.model or load_config().model)
    mode = settlement_mode(args.mode).value if args.mode else None
    return run(_ask(args, prompt, model.id, mode))


def _read_prompt(args: argparse.Namespace) -> str:
    text: str
    if args.prompt == "-" or (args.prompt is None and not sys.stdin.isatty()):
        text = sys.stdin.read()
    elif args.prompt is None:
        raise ConfigurationError(
            "no prompt given", hint='og-chat ask "your question" (or pipe it in with -)'
        )
    else:
        text = args.prompt
    if not text.strip():
        raise ConfigurationError(
            "the prompt is empty", hint="give a question as an argument or on stdin"
        )
    return text


async def _ask(args: argparse.Namespace, prompt: str, model: str, mode: str | None) -> int:
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    live = not args.json and not args.no_stream
    shown = StreamNeutralizer()
    runtime = await open_runtime(args, mode=mode)
    pieces: list[str] = []
    final: StreamChunk | None = None
    failure: BaseException | None = None
    try:
        try:
            async for chunk in runtime.stream_chat(
                model, messages, mode=mode, max_tokens=args.max_tokens
            ):
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    pieces.append(text)
                    if live:
                        sys.stdout.write(shown.feed(text))
                        sys.stdout.flush()
                if chunk.is_final:
                    final = chunk
        except VerificationFailed as exc:
            result = getattr(exc, "result", None)  # the final chunk, receipt already stored
            final, failure = (result if isinstance(result, StreamChunk) else None), exc
        except StreamInterrupted as exc:
            if live and pieces:
                sys.stdout.write(shown.flush() + "\n")
            receipt = getattr(exc, "receipt", None)
            if isinstance(receipt, Receipt):
                _summary(receipt, runtime)
            raise
        answer = "".join(pieces)
        if live:
            sys.stdout.write(shown.flush())
            if answer and not answer.endswith("\n"):
                sys.stdout.write("\n")
        elif not args.json:
            out(inert(answer.rstrip("\n")))
        receipt = final.receipt if final is not None else None
        if args.json:
            out_json(_document(answer, model, final, receipt, runtime), indent=None)
        sys.stdout.flush()
        if receipt is not None:
            _summary(receipt, runtime)
        if failure is not None:
            raise failure
        return EXIT_OK
    finally:
        await runtime.close()


def _document(
    answer: str, model: str, final: StreamChunk | None, receipt: Receipt | None, runtime: Runtime
) -> dict[str, Any]:
    """`ask --json`: the answer, the model, the token counts, the cost and the receipt."""
    usage = final.usage if final is not None else None
    return {
        "answer": answer,
        "model": model,
        "usage": {
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
            "total_tokens": usage.total_tokens if usage else 0,
        },
        "cost_opg": receipt_cost(receipt, runtime.prices) if receipt else None,
        "receipt": receipt.to_dict() if receipt else None,
    }


def _summary(receipt: Receipt, runtime: Runtime) -> None:
    """One receipt line on stderr: what was used, what it cost, what can be checked."""
    cost = receipt_cost(receipt, runtime.prices)
    parts = [
        receipt.model,
        f"{receipt.total_tokens} tokens ({receipt.prompt_tokens}+{receipt.completion_tokens})",
        f"{cost} OPG" if cost else "cost unknown",
        receipt.settlement_mode,
        f"TEE {tee_mark(receipt)} {tee_words(receipt)}",
        f"payment {receipt.payment_hash or '—'} ({receipt.payment_status})",
    ]
    note(inert(f"receipt {receipt.id[:12]} · " + " · ".join(parts)))
