"""`og-chat`'s entry point: parse, run the command's handler, turn failures into exit codes.

Expected failures print our typed errors' one-line message (plus its hint), never a
traceback, and nothing here ever prints a private key.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping

from og_chat.app import network
from og_chat.sdk.devnet_process import DevnetProcess
from og_chat.sdk.network_choice import DEVNET_URL_ENV, NETWORK_ENV

from . import complete, dispatch
from .output import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, error, exit_code_for, warn
from .parser import LAUNCH, build_parser

VALUE_OPTIONS = ("--network", "--devnet-url", "--model", "-m", "--mode")
"""Options of `og-chat` and `og-chat chat` that take a value (a value is not a command word)."""


def may_embed_devnet(argv: list[str], environ: Mapping[str, str] | None = None) -> bool:
    """Whether this command line may open the TUI on the embedded devnet: no command word or
    `chat`, no devnet URL (flag or `OG_DEVNET_URL`), and the devnet named (`--network`,
    `OG_NETWORK`) or nothing named and no wallet (a wallet means mainnet). A guess from the
    words and the environment, never the choice (`app.network.choose` makes that, with the
    config): a wrong guess costs a head start, or a child stopped before it did anything."""
    env = os.environ if environ is None else environ
    words: list[str] = []
    options: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in VALUE_OPTIONS:
            options[name] = value if eq else next(args, "")
        elif arg in ("-h", "--help", "--version"):
            return False  # answered: nothing opens
        elif not arg.startswith("-"):
            words.append(arg)
    if (words and words[0] != "chat") or "--devnet-url" in options or env.get(DEVNET_URL_ENV):
        return False
    named = options.get("--network") or env.get(NETWORK_ENV)
    return named == "devnet" if named else not network.has_wallet(env)


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == [complete.COMMAND]:  # a completion script's call: no parser, no help
        return complete.print_ids(args_list[1:])
    # The TUI's embedded devnet loads in a process of its own from the first moment, on the
    # other core (its imports take longer than the UI's first frame): the runtime starts it,
    # or it is stopped unused. Only for the command itself (tests call `main(argv)`).
    devnet = None
    if argv is None and may_embed_devnet(args_list):
        with contextlib.suppress(OSError):  # no process to spare: the devnet starts in-process
            devnet = DevnetProcess.spawn()
    try:
        return _run(args_list, devnet)
    finally:
        if devnet is not None:
            with contextlib.suppress(KeyboardInterrupt):  # it settles and exits by itself
                devnet.stop()  # a no-op once the runtime has stopped it


def _run(args_list: list[str], devnet: DevnetProcess | None) -> int:
    parser = build_parser(with_devnet="devnet" in args_list)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        args.devnet_process = devnet  # for the TUI's runtime (`launch`); the others ignore it
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
