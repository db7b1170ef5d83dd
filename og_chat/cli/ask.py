"""`og-chat ask`: one question, the answer streamed to stdout, the receipt line on stderr.

Every `ask` is a conversation turn: a new session unless `-c/--continue` (the latest
one) or `--session ID` names one to go on, in which case its whole history is sent
and the answer is saved into it. The settings of the call come from
`og_chat.store.chat_settings` (flags, then `--persona`, then the session, then the
config). An image model's answer can be written to a file with `-o FILE`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from og_chat.app.costs import receipt_cost
from og_chat.app.runtime import Runtime
from og_chat.app.sanitize import StreamNeutralizer
from og_chat.sdk.errors import ConfigurationError, StreamInterrupted, VerificationFailed
from og_chat.sdk.models import resolve_model
from og_chat.sdk.opg import opg_display
from og_chat.sdk.types import Receipt, StreamChunk
from og_chat.store.chat_settings import ChatSettings, Requested, resolve_settings
from og_chat.store.config import load_config
from og_chat.store.image_files import refuse_overwrite, save_images
from og_chat.store.sessions import Message, Session, SessionStore

from .connect import open_runtime, run
from .output import EXIT_OK, inert, note, out, out_json, tee_mark, tee_words


def cmd_ask(args: argparse.Namespace) -> int:
    """Ask one question, stream the answer, summarise the receipt on stderr."""
    prompt = _read_prompt(args)
    store = SessionStore()
    session = _continued(args, store)
    given = Requested(
        model=getattr(args, "model", None),
        mode=getattr(args, "mode", None),
        system_prompt=args.system,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
    )
    settings = resolve_settings(load_config(), given, args.persona, session)
    if args.output:  # checked before paying: a refused write after the call wastes the call
        if not resolve_model(settings.model).image_output:
            raise ConfigurationError(
                f"{settings.model} answers with text; -o writes an image",
                hint="pick an image model (`og-chat models` marks them 'image')",
            )
        refuse_overwrite(Path(args.output), force=args.force)
    if session is None and not args.no_save:
        session = Session.new()
    return run(_ask(args, prompt, settings, session, store))


def _continued(args: argparse.Namespace, store: SessionStore) -> Session | None:
    """The session `--session ID` or `-c` names (None for a new conversation)."""
    if args.session:
        return store.load(args.session)
    if args.continue_:
        return store.latest()
    return None


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


async def _ask(
    args: argparse.Namespace,
    prompt: str,
    settings: ChatSettings,
    session: Session | None,
    store: SessionStore,
) -> int:
    history = session.wire_messages() if session is not None else []
    messages: list[dict[str, Any]] = [*history, {"role": "user", "content": prompt}]
    live = not args.json and not args.no_stream
    shown = StreamNeutralizer()
    runtime = await open_runtime(args)
    pieces: list[str] = []
    final: StreamChunk | None = None
    failure: BaseException | None = None
    turn = _Turn(session, store, settings, prompt)
    try:
        try:
            async for chunk in runtime.stream_chat(
                settings.model,
                messages,
                mode=settings.settlement_mode,
                max_tokens=settings.max_tokens,
                temperature=settings.temperature,
                system_prompt=settings.system_prompt,
                conversation_id=session.id if session is not None else None,
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
            result = exc.result  # the final chunk, receipt already stored
            final, failure = (result if isinstance(result, StreamChunk) else None), exc
        except StreamInterrupted as exc:
            if live and pieces:
                sys.stdout.write(shown.flush() + "\n")
            receipt = exc.receipt
            turn.save("".join(pieces), receipt, None, error=str(exc).splitlines()[0])
            if receipt is not None:
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
        images = (final.images if final is not None else None) or []
        error = str(failure).splitlines()[0] if failure is not None else None
        turn.save(answer, receipt, images, error=error)
        written = _write_images(args, images)
        if args.json:
            doc = _document(answer, settings.model, final, receipt, runtime)
            doc["images"] = images
            doc["session_id"] = session.id if session is not None else None
            doc["image_files"] = [str(p) for p in written]
            out_json(doc, indent=None)
        sys.stdout.flush()
        if receipt is not None:
            _summary(receipt, runtime)
        if failure is not None:
            raise failure
        return EXIT_OK
    finally:
        await runtime.close()


class _Turn:
    """Saving this question and its answer into the conversation (unless --no-save)."""

    def __init__(
        self, session: Session | None, store: SessionStore, settings: ChatSettings, prompt: str
    ) -> None:
        self.session = session
        self.store = store
        self.settings = settings
        self.prompt = prompt

    def save(
        self, answer: str, receipt: Receipt | None, images: list[str] | None, *, error: str | None
    ) -> None:
        session = self.session
        if session is None:
            return
        self.settings.store_on(session)
        session.add(Message(role="user", content=self.prompt))
        session.add(
            Message(
                role="assistant",
                content=answer or None,
                model=self.settings.model,
                receipt_id=receipt.id if receipt is not None else None,
                images=images or None,
                partial=error is not None and bool(answer),
                error=error,
            )
        )
        self.store.save(session)


def _write_images(args: argparse.Namespace, images: list[str]) -> list[Path]:
    """`-o FILE`: the answer's images on disk; without it, a note that there are some."""
    if not args.output:
        if images:
            note(f"{len(images)} image(s) in the answer: write them with -o FILE.png")
        return []
    if not images:
        raise ConfigurationError(
            "the answer carried no image to write", hint="ask an image model for a picture"
        )
    written = save_images(images, Path(args.output), force=args.force)
    for path in written:
        note(f"wrote {path}")
    return written


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
        f"{opg_display(cost)} OPG" if cost else "cost unknown",
        receipt.settlement_mode,
        f"TEE {tee_mark(receipt)} {tee_words(receipt)}",
        f"payment {receipt.payment_hash or '—'} ({receipt.payment_status})",
    ]
    note(inert(f"receipt {receipt.id[:12]} · " + " · ".join(parts)))
