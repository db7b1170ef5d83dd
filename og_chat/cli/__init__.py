"""`og-chat`, the command line: parsing in `parser`, one module per command group, output in
`output`, the entry point in `main`. The work itself lives below, in og_chat.app, og_chat.store
and og_chat.sdk.

Exit codes are part of the interface (scripts branch on them); see `EXIT_CODES`.
"""

from __future__ import annotations

from .main import main
from .output import (
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_GATEWAY,
    EXIT_OK,
    EXIT_PAYMENT,
    EXIT_USAGE,
    EXIT_VERIFY,
    exit_code_for,
)
from .parser import build_parser

__all__ = [
    "EXIT_CODES",
    "EXIT_ERROR",
    "EXIT_GATEWAY",
    "EXIT_OK",
    "EXIT_PAYMENT",
    "EXIT_USAGE",
    "EXIT_VERIFY",
    "build_parser",
    "exit_code_for",
    "main",
]
