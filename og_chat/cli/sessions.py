"""`og-chat sessions list|export`: the saved conversations."""

from __future__ import annotations

import argparse
import dataclasses

from og_chat.store.sessions import SessionStore

from .output import EXIT_OK, inert, local_time, note, out, out_json, warn, write_or_print


def cmd_list(args: argparse.Namespace) -> int:
    """Conversations, newest first."""
    store = SessionStore()
    summaries = store.list()
    for warning in store.warnings:
        warn(warning)
    if args.json:
        out_json([dataclasses.asdict(s) for s in summaries])
        return EXIT_OK
    if not summaries:
        note("no conversations yet: start one with `og-chat`")
        return EXIT_OK
    out(f"{'ID':<26}  {'UPDATED':<16}  {'MSGS':>4}  {'MODEL':<32}  TITLE")
    for s in summaries:
        out(
            f"{s.id:<26}  {local_time(s.updated_at):<16}  {s.message_count:>4}  "
            f"{(s.model or '—')[:32]:<32}  {inert(s.title)}"
        )
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """One conversation as Markdown (readable) or JSON (complete)."""
    store = SessionStore()
    text = store.export_markdown(args.id) if args.format == "md" else store.export_json(args.id)
    if not text.endswith("\n"):
        text += "\n"
    write_or_print(text, args.out, wrote=f"wrote {args.out}")
    return EXIT_OK
