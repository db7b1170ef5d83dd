"""The kinds of a verification check and how every face marks them (✓ ⧗ ? ✗).

Apart from `verify.py`, which makes the checks, so that a screen listing a receipt's
checks (the TUI's receipt detail, on its first frame's import path) does not load the
chain readers and the HTTP client that verifying needs.
"""

from __future__ import annotations

from og_chat.sdk.tee import CheckResult


class PendingCheck(CheckResult):
    """A check whose subject is not on-chain yet: its detail says when to expect it."""


class UncheckedCheck(CheckResult):
    """A check that cannot be made: the receipt's chain is gone (never a ✗ tampered)."""


def check_mark(check: CheckResult) -> str:
    """How every face marks a check: ✓ passed, ⧗ pending, ? cannot be checked, ✗ failed."""
    if isinstance(check, PendingCheck):
        return "⧗"
    if isinstance(check, UncheckedCheck):
        return "?"
    return "✓" if check.ok else "✗"
