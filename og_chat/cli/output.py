"""What the CLI writes and how it exits: stdout, stderr, the terminal sanitizer, exit codes.

Answers and tables go to stdout, everything else (receipt lines, progress, warnings,
errors) to stderr, so `og-chat ask ... > answer.md` keeps only the answer. Every line
goes through the one sanitizer (`og_chat.app.sanitize`) on its way out: `out`, `note`
and `warn` neutralize what they print, `out_json` escapes what JSON leaves raw, and
`write_or_print` neutralizes only what goes to a terminal (a file or a pipe gets the
exact text). A model or a gateway can emit escape sequences, bidi overrides and
zero-width characters; none of them reaches the terminal as itself.
Exit codes are part of the interface (scripts branch on them); see `EXIT_CODES`.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from og_chat.app.sanitize import json_escape, neutralize
from og_chat.sdk import errors
from og_chat.sdk.types import Receipt, SignatureStatus
from og_chat.store.atomic import write_atomic

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PAYMENT = 3
EXIT_GATEWAY = 4
EXIT_VERIFY = 5
EXIT_PENDING = 6
EXIT_CHAIN_RESET = 7
EXIT_INTERRUPTED = 130

EXIT_CODES = """\
exit codes:
  0  ok
  1  other error (e.g. the receipt store could not be written)
  2  usage or configuration error (bad flag, unknown model, no key, unknown receipt)
  3  payment refused by our policy, or still required by the gateway after paying
  4  gateway, stream or chain error (unreachable, 5xx, stream cut, RPC failure)
  5  verification failure (a TEE signature, hash, payment or Merkle proof did not check)
  6  receipts verify: pending (the session or the call's record is not on-chain yet)
  7  receipts verify: chain reset (the receipt's chain is gone: it cannot be checked)
"""

Say = Callable[[str], None]
"""Updates a progress line (`progress` yields one)."""


def out(text: str = "") -> None:
    """One line on stdout (answers, tables, ids), neutralized."""
    print(neutralize(text))


def note(text: str) -> None:
    """One line on stderr (receipt summaries, counts, hints), neutralized: never part of
    the output."""
    print(neutralize(text), file=sys.stderr)


def warn(text: str) -> None:
    """A warning on stderr, prefixed like every og-chat message."""
    note(f"og-chat: {text}")


def inert(text: str) -> str:
    """Untrusted text with every control, bidi and invisible character made visible
    (`app.sanitize.neutralize`, the sanitizer the TUI uses too)."""
    return neutralize(text)


def out_json(value: object, *, indent: int | None = 2) -> None:
    """`value` as JSON on stdout: non-ASCII kept, what JSON leaves raw escaped (the
    strings decode exactly as they were)."""
    print(json_escape(json.dumps(value, indent=indent, ensure_ascii=False, default=str)))


def write_or_print(text: str, path: str | None, *, wrote: str) -> None:
    """`text` into `path` (atomically, 0600, exact) with `wrote` on stderr; else on stdout,
    neutralized for a terminal and exact for a pipe or a redirect."""
    if path:
        write_atomic(Path(path), text.encode("utf-8"))
        note(wrote)
    elif sys.stdout.isatty():
        sys.stdout.write(neutralize(text))
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


TEE_MARKS = {
    SignatureStatus.VERIFIED.value: "✓",
    SignatureStatus.FAILED.value: "✗",
    SignatureStatus.SELF_VOUCHED.value: "~",
}
"""✓ registry-verified, ✗ failed, ~ signed by a key the gateway serves itself; ? otherwise."""


def tee_mark(receipt: Receipt) -> str:
    """The signature's mark in a table (`TEE_MARKS`)."""
    return TEE_MARKS.get(receipt.signature_status, "?")


def tee_words(receipt: Receipt) -> str:
    """The signature's status in words (`SignatureStatus.description`)."""
    try:
        return SignatureStatus(receipt.signature_status).description
    except ValueError:
        return "unknown"


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
