"""`og-chat search TERM`: every conversation's messages and every receipt, by their words.

The index lives beside the JSON files (`og_chat.store.search`); it is checked against
them before each search and rebuilt with `--reindex`. Snippets are model text: they
are made inert before printing, like every answer.
"""

from __future__ import annotations

import argparse
import dataclasses

from og_chat.sdk.errors import ConfigurationError
from og_chat.store.search import Search, SearchResults

from .output import EXIT_OK, inert, local_time, note, out, out_json, progress, short, warn


def cmd_search(args: argparse.Namespace) -> int:
    """Search (after bringing the index up to date), or only rebuild it with --reindex."""
    term = " ".join(args.term).strip()
    if not term and not args.reindex:
        raise ConfigurationError("nothing to search for", hint='og-chat search "permit2"')
    search = Search()
    try:
        with progress("reading conversations and receipts…") as say:
            if args.reindex:
                count = search.reindex(say)
                note(f"search index rebuilt from {count} file(s)")
            if not term:
                return EXIT_OK
            results = search.search(term, limit=args.limit, on_progress=say)
    finally:
        search.close()
    for warning in results.warnings:
        warn(inert(warning))
    if args.json:
        out_json(_document(results))
        return EXIT_OK
    _print(results)
    return EXIT_OK


def _one_line(snippet: str) -> str:
    """A snippet for one terminal line: controls made inert, line breaks as spaces."""
    return " ".join(inert(snippet).split())


def _document(results: SearchResults) -> dict[str, object]:
    messages = [
        {**dataclasses.asdict(hit), "snippet": _one_line(hit.snippet)} for hit in results.messages
    ]
    receipts = [
        {**dataclasses.asdict(hit), "snippet": _one_line(hit.snippet)} for hit in results.receipts
    ]
    return {"term": results.term, "messages": messages, "receipts": receipts}


def _print(results: SearchResults) -> None:
    if not results.messages and not results.receipts:
        note(f"nothing matches {inert(results.term)!r}")
        return
    if results.messages:
        out(f"{'SESSION':<26}  {'MSG':>4}  {'ROLE':<9}  SNIPPET")
        for hit in results.messages:
            out(
                f"{hit.session_id:<26}  {hit.message_index:>4}  {hit.role:<9}  "
                f"{_one_line(hit.snippet)}"
            )
    if results.receipts:
        if results.messages:
            out()
        out(f"{'RECEIPT':<12}  {'TIME':<16}  {'MODEL':<32}  {'PAYMENT':<16}  SNIPPET")
        for r in results.receipts:
            out(
                f"{r.receipt_id[:12]:<12}  {local_time(r.created_at):<16}  "
                f"{inert(r.model)[:32]:<32}  {short(r.payment_hash, 14):<16}  "
                f"{_one_line(r.snippet)}"
            )
