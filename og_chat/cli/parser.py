"""The whole `og-chat` command line: every command, option, example and help text.

Each command's work is in its own module (`ask`, `chat`, `models`, `receipts`,
`sessions`, `wallet`, `config`, `devnet`); the parser only names the handler
(`set_defaults(handler=...)`) that `og_chat.cli.main` runs.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from og_chat import __version__
from og_chat.store.search import DEFAULT_LIMIT

from . import (
    ask,
    chat,
    completion,
    config,
    devnet,
    models,
    receipts,
    search,
    serve,
    sessions,
    wallet,
)
from .output import EXIT_CODES

AddParser = Callable[..., argparse.ArgumentParser]
"""Makes one subcommand's parser (`add_subparsers().add_parser`, see `_commands`)."""


def _version() -> str:
    try:
        return version("og-chat")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return __version__


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
    parser.add_argument(
        "--devnet-url",
        metavar="URL",
        default=default,
        help="a running `og-chat devnet` (default: $OG_DEVNET_URL, else embedded)",
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
    parser = argparse.ArgumentParser(
        prog="og-chat",
        formatter_class=_Formatter,
        description=(
            "Chat with every OpenGradient model; every call is paid over x402 and leaves a receipt."
        ),
        epilog=(
            "examples:\n"
            "  og-chat                                  open the TUI\n"
            '  og-chat ask "What is x402?"              one answer on stdout, receipt on stderr\n'
            "  git diff | og-chat ask -m claude-sonnet-4-6 -s 'Review this diff' -\n"
            "  og-chat receipts list --status pending\n"
            "  og-chat receipts verify 3f2a --rpc-url http://127.0.0.1:8402/rpc\n"
            "  og-chat devnet --port 8402               a local network for scripts and tests\n\n"
            + EXIT_CODES
        ),
    )
    parser.add_argument("--version", action="version", version=f"og-chat {_version()}")
    _tui_options(parser, top=True)
    sub = _commands(parser, dest="command", metavar="COMMAND")

    chat_parser = sub(
        "chat",
        help="open the TUI (the default)",
        description="Open the terminal UI.",
        epilog="examples:\n  og-chat chat --model claude-haiku-4-5 --mode private\n",
    )
    _tui_options(chat_parser)
    chat_parser.set_defaults(handler=chat.cmd_chat)

    _add_ask(sub)
    _add_models(sub)
    _add_receipts(sub)
    _add_sessions(sub)
    _add_search(sub)
    _add_wallet(sub)
    _add_config(sub)
    _add_serve(sub)
    _add_completion(sub)

    devnet_parser = sub(
        "devnet",
        help="run a local OpenGradient network",
        description="A local network: EVM chain, OPG, Permit2, x402 facilitator, TEE gateway.",
        epilog=(
            "examples:\n"
            "  og-chat devnet                           serve on 127.0.0.1:8402\n"
            "  og-chat devnet --port 0 --tokens-per-second 0\n"
            "  og-chat devnet --upstream http://127.0.0.1:11434/v1   answer with Ollama\n"
        ),
    )
    if with_devnet:
        devnet.add_arguments(devnet_parser)
    devnet_parser.set_defaults(handler=devnet.cmd_devnet)
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
    parser = add(
        "ask",
        help="ask one question; the answer streams to stdout",
        description=(
            "Ask one question and stream the answer to stdout. A receipt summary goes to stderr,\n"
            "so `og-chat ask ... > answer.md` keeps only the answer. Each question and answer\n"
            "is saved as a conversation (`og-chat sessions`, the TUI); -c or --session goes on\n"
            "with one, sending its whole history."
        ),
        epilog=(
            "examples:\n"
            '  og-chat ask "Explain Permit2 in one paragraph"\n'
            '  og-chat ask -m anthropic/claude-sonnet-4-6 --mode individual "Hi"\n'
            "  cat notes.txt | og-chat ask -s 'Summarise in 3 bullets' -\n"
            '  og-chat ask -c "and in one sentence?"        continue the latest conversation\n'
            "  og-chat ask --persona reviewer --temperature 0.3 - < patch.diff\n"
            '  og-chat ask -m gpt-image-2 -o fox.png "a red fox in the snow"\n'
            '  og-chat ask --json "2+2?" | jq -r .receipt.payment_hash\n\n' + EXIT_CODES
        ),
    )
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
    parser.set_defaults(handler=ask.cmd_ask)


def _add_models(add: AddParser) -> None:
    parser = add(
        "models",
        help="list the models and their capabilities",
        description=(
            "The model catalogue. Prices are shown on the devnet\n"
            "(read from a running devnet, or the devnet's table with --prices)."
        ),
        epilog=(
            "examples:\n  og-chat models --provider anthropic\n  og-chat models --json --prices\n"
        ),
    )
    parser.add_argument("--provider", help="only this provider (prefix or display name)")
    parser.add_argument("--json", action="store_true", help="a JSON list")
    parser.add_argument(
        "--prices", action="store_true", help="show devnet prices even without a running devnet"
    )
    parser.add_argument(
        "--devnet-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="read prices from this devnet",
    )
    parser.set_defaults(handler=models.cmd_models)


def _add_receipts(add: AddParser) -> None:
    parser = add(
        "receipts",
        help="browse, export, sync and verify receipts",
        description="Each paid call leaves a receipt; later facts (settlement, proofs) are added.",
        epilog=(
            "examples:\n"
            "  og-chat receipts list --model claude-haiku-4-5 --since 1d\n"
            "  og-chat receipts show 3f2a\n"
            "  og-chat receipts export --format csv --out receipts.csv\n"
            "  og-chat receipts sync --wait 15\n"
            "  og-chat receipts verify receipt.json --rpc-url http://127.0.0.1:8402/rpc\n\n"
            + EXIT_CODES
        ),
    )
    rsub = _commands(parser, dest="receipts_command", metavar="ACTION")
    parser.set_defaults(handler=receipts.cmd_list, json=False, **dict.fromkeys(_RECEIPT_FILTERS))

    lst = rsub(
        "list",
        help="list receipts (the default)",
        epilog="examples:\n  og-chat receipts list --status pending --json\n",
    )
    _receipt_filters(lst)
    lst.add_argument(
        "--json", action="store_true", help="a JSON list of receipt objects (each with `id`)"
    )
    lst.set_defaults(handler=receipts.cmd_list)

    show = rsub(
        "show",
        help="one receipt in full",
        epilog="examples:\n  og-chat receipts show 3f2a --json\n",
    )
    show.add_argument("id", help="receipt id or a unique prefix")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=receipts.cmd_show)

    export = rsub(
        "export",
        help="export receipts as JSON or CSV",
        epilog=(
            "examples:\n"
            "  og-chat receipts export --out all.json\n"
            "  og-chat receipts export 3f2a --out one.json\n"
        ),
    )
    export.add_argument(
        "ids", nargs="*", metavar="ID", help="only these receipts (ids or prefixes)"
    )
    _receipt_filters(export)
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    export.set_defaults(handler=receipts.cmd_export)

    verify = rsub(
        "verify",
        help="check a receipt against the chain as it is now",
        description=(
            "Check the output hash, the TEE signature (key from the on-chain registry),\n"
            "the session's payment and the call's own on-chain record, found from its\n"
            "payment_hash, against the chain as it is now (no `receipts sync` first).\n"
            "One line per check. Exit 0 verified, 5 a check failed, 6 pending (not on-chain\n"
            "yet: the line says when to expect it), 7 chain reset (the receipt's chain is\n"
            "gone: it cannot be checked)."
        ),
        epilog=(
            "examples:\n"
            "  og-chat receipts verify 3f2a\n"
            "  og-chat receipts verify 0x5e1c…  # a payment_hash\n"
            "  og-chat receipts verify exported.json --rpc-url http://127.0.0.1:8402/rpc\n"
            "  og-chat receipts verify exported.json --offline\n"
        ),
    )
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
    verify.add_argument(
        "--devnet-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="the devnet the receipt was paid on",
    )
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=receipts.cmd_verify)

    sync = rsub(
        "sync",
        help="attach settlements and proofs to pending receipts",
        description="Find the settlements of pending payments and the proofs of batch receipts.",
        epilog="examples:\n  og-chat receipts sync --devnet-url http://127.0.0.1:8402 --wait 15\n",
    )
    _network_options(sync)
    sync.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="keep trying this long"
    )
    sync.set_defaults(handler=receipts.cmd_sync)


def _add_sessions(add: AddParser) -> None:
    parser = add(
        "sessions",
        help="list and export conversations",
        epilog=(
            "examples:\n"
            "  og-chat sessions list\n"
            "  og-chat sessions export 20250101-120000-ab12cd34 --format md\n"
        ),
    )
    ssub = _commands(parser, dest="sessions_command", metavar="ACTION")
    parser.set_defaults(handler=sessions.cmd_list, json=False)
    lst = ssub("list", help="list conversations (the default)")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=sessions.cmd_list)
    export = ssub("export", help="one conversation as Markdown or JSON")
    export.add_argument("id")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("--out", metavar="FILE")
    export.set_defaults(handler=sessions.cmd_export)


def _add_search(add: AddParser) -> None:
    parser = add(
        "search",
        help="find words in every conversation and receipt",
        description=(
            "Full-text search over every conversation's messages and every receipt (model, id,\n"
            "payment hash, answer). Every word must appear; end one with * to match a prefix.\n"
            "The index sits beside the JSON files, which stay the truth: it is checked against\n"
            "them before each search, and --reindex rebuilds it from them."
        ),
        epilog=(
            "examples:\n"
            "  og-chat search permit2 allowance\n"
            "  og-chat search 'settle*' --json | jq -r '.messages[].session_id'\n"
            "  og-chat search 0x3f2a            a payment hash or receipt id prefix\n"
            "  og-chat search --reindex\n"
        ),
    )
    parser.add_argument("term", nargs="*", metavar="WORD", help="words to find")
    parser.add_argument("--json", action="store_true", help="one JSON object: messages, receipts")
    parser.add_argument(
        "--limit", type=_positive_int, default=DEFAULT_LIMIT, metavar="N",
        help=f"at most N hits of each kind (default {DEFAULT_LIMIT})",
    )  # fmt: skip
    parser.add_argument(
        "--reindex", action="store_true", help="rebuild the index from the files first"
    )
    parser.set_defaults(handler=search.cmd_search)


def _add_completion(add: AddParser) -> None:
    parser = add(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description=(
            "A completion script for commands, options, model ids, session ids and receipt ids\n"
            "(ids are looked up when Tab is pressed, so new ones complete at once)."
        ),
        epilog=(
            "examples:\n"
            '  eval "$(og-chat completion bash)"                      in ~/.bashrc\n'
            '  og-chat completion zsh > "${fpath[1]}/_og-chat"\n'
            "  og-chat completion fish > ~/.config/fish/completions/og-chat.fish\n"
        ),
    )
    completion.add_arguments(parser)
    parser.set_defaults(handler=_cmd_completion)


def _cmd_completion(args: argparse.Namespace) -> int:
    """`completion SHELL`, made from the whole command line (the devnet's options too)."""
    return completion.cmd_completion(args, build_parser(with_devnet=True))


def _add_serve(add: AddParser) -> None:
    parser = add(
        "serve",
        help="serve the TUI to a web browser (textual-serve)",
        description=(
            "Serve the same app to a browser: every page load starts `og-chat chat` on this\n"
            "machine and shows it in the page. Binds 127.0.0.1 unless told otherwise: anyone who\n"
            "can reach the port drives your wallet (and sees your conversations and receipts)."
        ),
        epilog=(
            "examples:\n"
            "  og-chat serve                      http://127.0.0.1:8000\n"
            "  og-chat serve --port 8080 --devnet-url http://127.0.0.1:8402\n"
        ),
    )
    serve.add_arguments(parser)
    _tui_options(parser)
    parser.set_defaults(handler=serve.cmd_serve)


def _add_wallet(add: AddParser) -> None:
    parser = add(
        "wallet",
        help="create, import and inspect the wallet",
        description=(
            "The wallet key lives in OG_PRIVATE_KEY or an encrypted keystore (scrypt).\n"
            "Passphrases and keys are read without echo and never printed."
        ),
        epilog=(
            "examples:\n"
            "  og-chat wallet create\n"
            "  og-chat wallet import              (prompts for the key, hidden)\n"
            "  pass show og-key | og-chat wallet import\n"
            "  og-chat wallet balance --devnet-url http://127.0.0.1:8402\n"
        ),
    )
    wsub = _commands(parser, dest="wallet_command", metavar="ACTION", required=True)
    create = wsub("create", help="make a new key in an encrypted keystore")
    create.set_defaults(handler=wallet.cmd_create)
    imp = wsub("import", help="encrypt an existing key (from a hidden prompt or stdin, never argv)")
    imp.set_defaults(handler=wallet.cmd_import)
    address = wsub("address", help="the wallet's address")
    address.set_defaults(handler=wallet.cmd_address)
    balance = wsub("balance", help="OPG, Permit2 allowance and ETH")
    _network_options(balance)
    balance.add_argument("--json", action="store_true")
    balance.set_defaults(handler=wallet.cmd_balance)


def _add_config(add: AddParser) -> None:
    parser = add(
        "config",
        help="where the settings live, and what they are",
        epilog=(
            "examples:\n  og-chat config init\n  og-chat config show\n"
            '  $EDITOR "$(og-chat config path)"\n'
        ),
    )
    csub = _commands(parser, dest="config_command", metavar="ACTION", required=True)
    csub("path", help="print the config file's path").set_defaults(handler=config.cmd_path)
    csub("show", help="the effective settings as TOML").set_defaults(handler=config.cmd_show)
    init = csub("init", help="write a commented default config")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(handler=config.cmd_init)


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
