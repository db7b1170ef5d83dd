"""`og-chat`'s entry point: parse, run the command's handler, turn failures into exit codes.

Expected failures print our typed errors' one-line message (plus its hint), never a
traceback, and nothing here ever prints a private key.
"""

from __future__ import annotations

import contextlib
import os
import sys

from . import complete, dispatch
from .output import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, error, exit_code_for, warn
from .parser import LAUNCH, build_parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == [complete.COMMAND]:  # a completion script's call: no parser, no help
        return complete.print_ids(args_list[1:])
    parser = build_parser(with_devnet="devnet" in args_list)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return dispatch.run(getattr(args, "handler", LAUNCH), args)
    except KeyboardInterrupt:
        warn("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_OK
    except Exception as exc:
        code = exit_code_for(exc)
        if code is None:
            raise
        error(exc)
        return code
