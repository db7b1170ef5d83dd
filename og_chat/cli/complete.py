"""`og-chat _complete models|sessions|receipts`: the ids a completion script offers, fast.

The shell runs this on every Tab, so `main` answers it before building the parser,
and it reads only file names (sessions), the search index's receipt table (receipts,
falling back to the log when there is no index yet) and the model catalogue.
Anything that goes wrong prints nothing: a completion never shows an error.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys

from og_chat.sdk.models import CATALOGUE
from og_chat.store.paths import SESSIONS_DIR, data_dir
from og_chat.store.receipts import ReceiptStore
from og_chat.store.search_index import SearchError, SearchIndex

COMMAND = "_complete"
"""The hidden command the completion scripts call."""
KINDS = ("models", "sessions", "receipts")


def model_ids() -> list[str]:
    """Every model by full id and by bare name (either is accepted by `-m`)."""
    infos = list(CATALOGUE.values())
    return [i.id for i in infos] + [i.name for i in infos]


def session_ids() -> list[str]:
    """Saved conversations, most recently written first (their file names: no parsing)."""
    try:
        entries = [
            e
            for e in os.scandir(data_dir() / SESSIONS_DIR)
            if e.name.endswith(".json") and not e.name.startswith(".")
        ]
    except OSError:
        return []
    entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
    return [e.name[: -len(".json")] for e in entries]


def receipt_ids() -> list[str]:
    """Receipt ids, newest first: from the search index when it has read the log."""
    root = data_dir()
    index = SearchIndex(root)
    with contextlib.suppress(sqlite3.Error, SearchError, OSError):
        if index.path.exists():
            ids = index.receipt_ids()
            if ids is not None:
                return ids
    store = ReceiptStore(root)
    return [r.id for r in reversed(store.load())]


def print_ids(argv: list[str]) -> int:
    """Print one id per line for `argv[0]` (one of `KINDS`); always exits 0."""
    kind = argv[0] if argv else ""
    finders = {"models": model_ids, "sessions": session_ids, "receipts": receipt_ids}
    finder = finders.get(kind)
    if finder is None:
        return 0
    with contextlib.suppress(Exception):  # a completion must never print a traceback
        sys.stdout.write("".join(f"{i}\n" for i in finder()))
    return 0
