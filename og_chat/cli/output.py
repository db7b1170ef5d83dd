"""What the CLI writes and how it exits: stdout, stderr, the terminal sanitizer, exit codes.

Answers and tables go to stdout, everything else (receipt lines, progress, warnings,
errors) to stderr, so `og-chat ask ... > answer.md` keeps only the answer. Any text
that came from outside (model output, gateway reasons, receipt fields) is passed
through `inert` or `json_inert` first: a model can emit terminal escape sequences.
Exit codes are part of the interface (scripts branch on them); see `EXIT_CODES`.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from og_chat.app.sanitize import neutralize
from og_chat.sdk import errors
from og_chat.sdk.types import Receipt
from og_chat.store.atomic import write_atomic

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PAYMENT = 3
EXIT_GATEWAY = 4
EXIT_VERIFY = 5
EXIT_INTERRUPTED = 130

EXIT_CODES = """\
exit codes:
  0  ok
  1  other error (e.g. the receipt store could not be written)
  2  usage or configuration error (bad flag, unknown model, no key, unknown receipt)
  3  payment refused by our policy, or still required by the gateway after paying
  4  gateway, stream or chain error (unreachable, 5xx, stream cut, RPC failure)
  5  verification failure (a TEE signature, hash, payment or Merkle proof did not check)
"""

Say = Callable[[str], None]
"""Updates a progress line (`progress` yields one)."""


def out(text: str = "") -> None:
    """One line on stdout (answers, tables, ids)."""
    print(text)


def note(text: str) -> None:
    """One line on stderr (receipt summaries, counts, hints): never part of the output."""
    print(text, file=sys.stderr)


def warn(text: str) -> None:
    """A warning on stderr, prefixed like every og-chat message."""
    note(f"og-chat: {text}")


def inert(text: str) -> str:
    """Untrusted text with every control character made visible (`app.sanitize`).

    Printed raw, a model's escape sequences could clear the screen, retitle the
    window or hide text; the TUI uses the same neutralizer.
    """
    return neutralize(text)


_C1_ESCAPES = {
    c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def json_inert(text: str) -> str:
    """JSON output with the controls `json.dumps` leaves raw (DEL, C1, bidi) escaped too."""
    return text.translate(_C1_ESCAPES)


def out_json(value: object, *, indent: int | None = 2) -> None:
    """`value` as JSON on stdout (non-ASCII kept, controls escaped)."""
    out(json_inert(json.dumps(value, indent=indent, ensure_ascii=False)))


def write_or_print(text: str, path: str | None, *, wrote: str) -> None:
    """`text` into `path` (atomically, 0600) with `wrote` on stderr, or as is on stdout."""
    if path:
        write_atomic(Path(path), text.encode("utf-8"))
        note(wrote)
    else:
        sys.stdout.write(text)


def local_time(timestamp: float) -> str:
    """`2026-07-31 12:00` in local time, for tables."""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def short(value: str | None, n: int = 10) -> str:
    """A hash cut to `n` characters after its `0x` (— when there is none)."""
    if not value:
        return "—"
    return value if len(value) <= n + 2 else value[: n + 2] + "…"


def tee_mark(receipt: Receipt) -> str:
    """✓ signature verified, ✗ failed, ? not checked."""
    ok = receipt.tee_ok
    return "✓" if ok else ("✗" if ok is False else "?")


@contextlib.contextmanager
def progress(first: str) -> Iterator[Say]:
    """A spinner on stderr while something waits; silent when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield lambda _msg: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(first) as status:
        yield lambda msg: status.update(msg)


def exit_code_for(exc: BaseException) -> int | None:
    """The exit code of an expected failure; None for a bug (which keeps its traceback)."""
    if isinstance(exc, errors.VerificationFailed):
        return EXIT_VERIFY
    if isinstance(exc, errors.PaymentError):
        return EXIT_PAYMENT
    if isinstance(exc, errors.GatewayError | errors.StreamInterrupted | errors.ChainError):
        return EXIT_GATEWAY
    if isinstance(exc, errors.ConfigurationError | LookupError):
        return EXIT_USAGE
    if isinstance(exc, errors.OGError | OSError):
        return EXIT_ERROR
    return None


def error(exc: BaseException) -> None:
    """An expected failure as one `og-chat: message` line (our errors carry their hint)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename:
        text = f"{exc.strerror or exc}: {exc.filename}"
    warn(inert(text))
