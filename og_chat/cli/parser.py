"""The whole `og-chat` command line: every command and option.

What each command says about itself (its one-line help, description and examples) is in
`commands.toml`, one entry per command, so the words are written and reviewed in one
place and every command's `--help` has the same layout. Each command's work is in its
own module (`launch` and `chat`, `ask`, `models`, `receipts`, `sessions`, `search`, `wallet`,
`config`, `serve`, `devnet`); the parser only names the handler (`set_defaults(handler=
"module:function")`), which `dispatch` imports when `og_chat.cli.main` runs it.
"""

from __future__ import annotations

import argparse
import functools
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from og_chat import __version__, devnet as devnet_package
from og_chat.store.search_index import DEFAULT_LIMIT

from . import completion
from .output import EXIT_CODES

LAUNCH = "launch:cmd_launch"
"""`og-chat` with no command, and `og-chat chat`: the TUI."""
SERVE_HOST = "127.0.0.1"
SERVE_PORT = 8000

AddParser = Callable[..., argparse.ArgumentParser]
"""Makes one subcommand's parser (`add_subparsers().add_parser`, see `_commands`)."""

TEXTS: dict[str, Any] = tomllib.loads(
    (Path(__file__).with_name("commands.toml")).read_text(encoding="utf-8")
)
"""`commands.toml`: each command's help, description and examples, by dotted name."""


def _text(name: str) -> dict[str, Any]:
    entry: dict[str, Any] = TEXTS
    for part in name.split("."):
        entry = entry[part]
    return entry


def _epilog(text: dict[str, Any]) -> str | None:
    """`examples:` and the examples indented; the exit codes after them where the entry says."""
    examples = text.get("examples")
    if not examples:
        return None
    epilog = "examples:\n" + "".join(f"  {line}\n" for line in examples)
    return epilog + "\n" + EXIT_CODES if text.get("exit_codes") else epilog


def _command(add: AddParser, name: str) -> argparse.ArgumentParser:
    """The subcommand `name` (dotted: `receipts.verify`), with its words from commands.toml."""
    text = _text(name)
    return add(
        name.rpartition(".")[2],
        help=text["help"],
        description=text.get("description"),
        epilog=_epilog(text),
    )


class _Version(argparse.Action):
    """`--version`: the installed distribution's version, looked up only when asked for
    (importlib.metadata costs ~30 ms at every start otherwise)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("og-chat")
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = __version__
        print(f"og-chat {found}")  # on stdout, as argparse's own version action prints it
        parser.exit()


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-written examples as they are."""


def _commands(
    parser: argparse.ArgumentParser, *, dest: str, metavar: str, required: bool = False
) -> AddParser:
    """`parser`'s subcommands: each added with the formatter that keeps examples as written."""
    commands = parser.add_subparsers(dest=dest, metavar=metavar, required=required)
    return functools.partial(commands.add_parser, formatter_class=_Formatter)


def _network_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    # On a subcommand the default is SUPPRESS, so `og-chat --devnet-url X ask`
    # keeps the X given before the subcommand instead of resetting it to None.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--network",
        choices=("mainnet", "devnet"),
        default=default,
        help="payment network (default: mainnet with a key, else devnet)",
    )
    _devnet_url(
        parser, "a running `og-chat devnet` (default: $OG_DEVNET_URL, else embedded)", default
    )
    flag = False if top else argparse.SUPPRESS
    parser.add_argument(
        "--trust-devnet",
        action="store_true",
        default=flag,
        help="let your own key (OG_PRIVATE_KEY, keystore) pay on the --devnet-url devnet; "
        "without it a devnet pays with its published test keys",
    )
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        default=flag,
        help="answer yes to confirmations (an approval sent with your key to a devnet's RPC)",
    )


def _devnet_url(
    parser: argparse.ArgumentParser, help: str, default: Any = argparse.SUPPRESS
) -> None:
    """`--devnet-url URL`; unset it leaves the value given before the subcommand (SUPPRESS)."""
    parser.add_argument("--devnet-url", metavar="URL", default=default, help=help)


_RECEIPT_FILTERS = ("model", "provider", "mode", "status", "since")
"""What `receipts list` and `receipts export` filter by (all unset on plain `receipts`)."""


def _receipt_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="full id, bare name or enum name")
    parser.add_argument("--provider", help="provider prefix, e.g. anthropic")
    parser.add_argument("--mode", help="settlement mode: private, batch or individual")
    parser.add_argument(
        "--status", choices=("settled", "pending", "failed", "refused"), help="payment status"
    )
    parser.add_argument(
        "--since", help="ISO date/time, unix seconds, or an age such as 30m, 12h, 7d"
    )


def build_parser(*, with_devnet: bool = True) -> argparse.ArgumentParser:
    """The whole command line.

    `with_devnet=False` skips importing the devnet's options (aiohttp): a faster start.
    """
    text = _text("og-chat")
    parser = argparse.ArgumentParser(
        prog="og-chat",
        formatter_class=_Formatter,
        description=text["description"],
        epilog=_epilog(text),
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    _tui_options(parser, top=True)
    sub = _commands(parser, dest="command", metavar="COMMAND")

    chat_parser = _command(sub, "chat")
    _tui_options(chat_parser)
    chat_parser.set_defaults(handler=LAUNCH)

    _add_ask(sub)
    _add_models(sub)
    _add_receipts(sub)
    _add_sessions(sub)
    _add_search(sub)
    _add_wallet(sub)
    _add_config(sub)
    _add_serve(sub)
    _add_completion(sub)

    devnet_parser = _command(sub, "devnet")
    if with_devnet:  # the devnet defines its own options
        devnet_package.add_devnet_arguments(devnet_parser)
    devnet_parser.set_defaults(handler="devnet:cmd_devnet")
    return parser


def _tui_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    _network_options(parser, top=top)
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "-m",
        "--model",
        default=default,
        help="model to start with (full id, bare name or enum name)",
    )
    parser.add_argument(
        "--mode", default=default, help="settlement mode: private, batch or individual"
    )


def _add_ask(add: AddParser) -> None:
    parser = _command(add, "ask")
    _network_options(parser)
    parser.add_argument(
        "prompt", nargs="?", help="the question; `-` (or nothing, with a pipe) reads stdin"
    )
    parser.add_argument(
        "-m",
        "--model",
        default=argparse.SUPPRESS,
        help="full id, bare name or enum name (default: the config's model)",
    )
    parser.add_argument(
        "--mode",
        default=argparse.SUPPRESS,
        help="settlement mode: private, batch (default) or individual",
    )
    parser.add_argument("-s", "--system", metavar="TEXT", help="a system prompt")
    parser.add_argument(
        "--temperature",
        type=_temperature,
        metavar="T",
        help="sampling temperature from 0 to 2 (default: the persona's, else the sdk's 0.0)",
    )
    parser.add_argument(
        "--max-tokens",
        type=_positive_int,
        metavar="N",
        help="longest answer in tokens (default: the config's max_tokens)",
    )
    parser.add_argument(
        "--persona",
        metavar="NAME",
        help="start from [personas.NAME] in the config (the flags above still win)",
    )
    thread = parser.add_mutually_exclusive_group()
    thread.add_argument(
        "-c",
        "--continue",
        dest="continue_",
        action="store_true",
        help="continue the latest conversation (its whole history is sent)",
    )
    thread.add_argument(
        "--session", metavar="ID", help="continue this conversation (`og-chat sessions` lists them)"
    )
    parser.add_argument(
        "--no-save", action="store_true", help="do not save this question and answer as a session"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write an image model's image to FILE (PNG); refuses to replace a file",
    )
    parser.add_argument("--force", action="store_true", help="with -o: replace an existing FILE")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object: answer, model, usage, receipt"
    )
    parser.add_argument(
        "--no-stream", action="store_true", help="print the answer only when it is complete"
    )
    parser.set_defaults(handler="ask:cmd_ask")


def _add_models(add: AddParser) -> None:
    parser = _command(add, "models")
    parser.add_argument("--provider", help="only this provider (prefix or display name)")
    parser.add_argument("--json", action="store_true", help="a JSON list")
    parser.add_argument(
        "--prices", action="store_true", help="show devnet prices even without a running devnet"
    )
    _devnet_url(parser, "read prices from this devnet")
    parser.set_defaults(handler="models:cmd_models")


def _add_receipts(add: AddParser) -> None:
    parser = _command(add, "receipts")
    rsub = _commands(parser, dest="receipts_command", metavar="ACTION")
    parser.set_defaults(handler="receipts:cmd_list", json=False, **dict.fromkeys(_RECEIPT_FILTERS))

    lst = _command(rsub, "receipts.list")
    _receipt_filters(lst)
    lst.add_argument(
        "--json", action="store_true", help="a JSON list of receipt objects (each with `id`)"
    )
    lst.set_defaults(handler="receipts:cmd_list")

    show = _command(rsub, "receipts.show")
    show.add_argument("id", help="receipt id or a unique prefix")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler="receipts:cmd_show")

    export = _command(rsub, "receipts.export")
    export.add_argument(
        "ids", nargs="*", metavar="ID", help="only these receipts (ids or prefixes)"
    )
    _receipt_filters(export)
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    export.set_defaults(handler="receipts:cmd_export")

    verify = _command(rsub, "receipts.verify")
    verify.add_argument(
        "target",
        metavar="ID|PAYMENT_HASH|FILE",
        help="receipt id/prefix, a payment_hash, or a JSON file from `receipts export`",
    )
    verify.add_argument(
        "--offline", action="store_true", help="check only what needs no chain (hashes, ids)"
    )
    verify.add_argument(
        "--rpc-url", metavar="URL", help="the payment chain's JSON-RPC (devnet: <devnet>/rpc)"
    )
    _devnet_url(verify, "the devnet the receipt was paid on")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler="receipts:cmd_verify")

    sync = _command(rsub, "receipts.sync")
    _network_options(sync)
    sync.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="keep trying this long"
    )
    sync.set_defaults(handler="receipts:cmd_sync")


def _add_sessions(add: AddParser) -> None:
    parser = _command(add, "sessions")
    ssub = _commands(parser, dest="sessions_command", metavar="ACTION")
    parser.set_defaults(handler="sessions:cmd_list", json=False)
    lst = _command(ssub, "sessions.list")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler="sessions:cmd_list")
    export = _command(ssub, "sessions.export")
    export.add_argument("id")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("--out", metavar="FILE")
    export.set_defaults(handler="sessions:cmd_export")


def _add_search(add: AddParser) -> None:
    parser = _command(add, "search")
    parser.add_argument("term", nargs="*", metavar="WORD", help="words to find")
    parser.add_argument("--json", action="store_true", help="one JSON object: messages, receipts")
    parser.add_argument(
        "--limit", type=_positive_int, default=DEFAULT_LIMIT, metavar="N",
        help=f"at most N hits of each kind (default {DEFAULT_LIMIT})",
    )  # fmt: skip
    parser.add_argument(
        "--reindex", action="store_true", help="rebuild the index from the files first"
    )
    parser.set_defaults(handler="search:cmd_search")


def _add_completion(add: AddParser) -> None:
    parser = _command(add, "completion")
    parser.add_argument(
        "shell", choices=completion.SHELLS, help="the shell to write the script for"
    )
    parser.set_defaults(handler="parser:cmd_completion")


def cmd_completion(args: argparse.Namespace) -> int:
    """`completion SHELL`, made from the whole command line (the devnet's options too)."""
    return completion.cmd_completion(args, build_parser(with_devnet=True))


def _add_serve(add: AddParser) -> None:
    parser = _command(add, "serve")
    parser.add_argument(
        "--host",
        default=SERVE_HOST,
        help=f"address to bind (default {SERVE_HOST}; anything else exposes your wallet)",
    )
    parser.add_argument("--port", type=int, default=SERVE_PORT, help=f"port (default {SERVE_PORT})")
    _tui_options(parser)
    parser.set_defaults(handler="serve:cmd_serve")


def _add_wallet(add: AddParser) -> None:
    parser = _command(add, "wallet")
    wsub = _commands(parser, dest="wallet_command", metavar="ACTION")
    parser.set_defaults(handler="wallet:cmd_balance", json=False)  # bare `wallet`: the balance
    create = _command(wsub, "wallet.create")
    create.set_defaults(handler="wallet:cmd_create")
    imp = _command(wsub, "wallet.import")
    imp.set_defaults(handler="wallet:cmd_import")
    address = _command(wsub, "wallet.address")
    address.set_defaults(handler="wallet:cmd_address")
    balance = _command(wsub, "wallet.balance")
    _network_options(balance)
    balance.add_argument("--json", action="store_true")
    balance.set_defaults(handler="wallet:cmd_balance")


def _add_config(add: AddParser) -> None:
    parser = _command(add, "config")
    csub = _commands(parser, dest="config_command", metavar="ACTION")
    parser.set_defaults(handler="config:cmd_show")  # bare `config`: the effective settings
    _command(csub, "config.path").set_defaults(handler="config:cmd_path")
    _command(csub, "config.show").set_defaults(handler="config:cmd_show")
    init = _command(csub, "config.init")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(handler="config:cmd_init")


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError("must be from 0 to 2")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
