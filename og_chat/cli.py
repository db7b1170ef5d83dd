"""`og-chat`: argument parsing and printing; the work lives in runtime, sdk, store and verify.

Exit codes are part of the interface (scripts branch on them); see `EXIT_CODES`.
Expected failures print our typed errors' one-line message (plus its hint),
never a traceback, and nothing here ever prints a private key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from og_chat.app.runtime import Runtime
    from og_chat.sdk.types import Receipt

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PAYMENT = 3
EXIT_GATEWAY = 4
EXIT_VERIFY = 5

EXIT_CODES = """\
exit codes:
  0  ok
  1  other error (e.g. the receipt store could not be written)
  2  usage or configuration error (bad flag, unknown model, no key, unknown receipt)
  3  payment refused by our policy, or still required by the gateway after paying
  4  gateway, stream or chain error (unreachable, 5xx, stream cut, RPC failure)
  5  verification failure (a TEE signature, hash, payment or Merkle proof did not check)
"""

DEFAULT_MAX_TOKENS = 1024


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("og-chat")
    except Exception:
        from og_chat import __version__

        return str(__version__)


# ---------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-written examples as they are."""


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    chat = sub.add_parser(
        "chat",
        help="open the TUI (the default)",
        formatter_class=_Formatter,
        description="Open the terminal UI.",
        epilog="examples:\n  og-chat chat --model claude-haiku-4-5 --mode private\n",
    )
    _tui_options(chat)
    chat.set_defaults(handler=cmd_chat)

    _add_ask(sub)
    _add_models(sub)
    _add_receipts(sub)
    _add_sessions(sub)
    _add_wallet(sub)
    _add_config(sub)

    devnet = sub.add_parser(
        "devnet",
        help="run a local OpenGradient network",
        formatter_class=_Formatter,
        description="A local network: EVM chain, OPG, Permit2, x402 facilitator, TEE gateway.",
        epilog=(
            "examples:\n"
            "  og-chat devnet                           serve on 127.0.0.1:8402\n"
            "  og-chat devnet --port 0 --tokens-per-second 0\n"
            "  og-chat devnet --upstream http://127.0.0.1:11434/v1   answer with Ollama\n"
        ),
    )
    if with_devnet:
        from og_chat.devnet import add_devnet_arguments

        add_devnet_arguments(devnet)
    devnet.set_defaults(handler=cmd_devnet)
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


def _add_ask(sub: Any) -> None:
    ask = sub.add_parser(
        "ask",
        help="ask one question; the answer streams to stdout",
        formatter_class=_Formatter,
        description=(
            "Ask one question and stream the answer to stdout. A receipt summary goes to stderr,\n"
            "so `og-chat ask ... > answer.md` keeps only the answer."
        ),
        epilog=(
            "examples:\n"
            '  og-chat ask "Explain Permit2 in one paragraph"\n'
            '  og-chat ask -m anthropic/claude-sonnet-4-6 --mode individual "Hi"\n'
            "  cat notes.txt | og-chat ask -s 'Summarise in 3 bullets' -\n"
            '  og-chat ask --json "2+2?" | jq -r .receipt.payment_hash\n\n' + EXIT_CODES
        ),
    )
    _network_options(ask)
    ask.add_argument(
        "prompt", nargs="?", help="the question; `-` (or nothing, with a pipe) reads stdin"
    )
    ask.add_argument(
        "-m",
        "--model",
        default=argparse.SUPPRESS,
        help="full id, bare name or enum name (default: the config's model)",
    )
    ask.add_argument(
        "--mode",
        default=argparse.SUPPRESS,
        help="settlement mode: private, batch (default) or individual",
    )
    ask.add_argument("-s", "--system", help="a system prompt")
    ask.add_argument(
        "--json", action="store_true", help="print one JSON object: answer, model, usage, receipt"
    )
    ask.add_argument(
        "--no-stream", action="store_true", help="print the answer only when it is complete"
    )
    ask.add_argument("--max-tokens", type=_positive_int, default=DEFAULT_MAX_TOKENS, metavar="N")
    ask.set_defaults(handler=cmd_ask)


def _add_models(sub: Any) -> None:
    models = sub.add_parser(
        "models",
        help="list the models and their capabilities",
        formatter_class=_Formatter,
        description=(
            "The model catalogue. Prices are shown on the devnet\n"
            "(read from a running devnet, or the devnet's table with --prices)."
        ),
        epilog=(
            "examples:\n  og-chat models --provider anthropic\n  og-chat models --json --prices\n"
        ),
    )
    models.add_argument("--provider", help="only this provider (prefix or display name)")
    models.add_argument("--json", action="store_true", help="a JSON list")
    models.add_argument(
        "--prices", action="store_true", help="show devnet prices even without a running devnet"
    )
    models.add_argument(
        "--devnet-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="read prices from this devnet",
    )
    models.set_defaults(handler=cmd_models)


def _add_receipts(sub: Any) -> None:
    receipts = sub.add_parser(
        "receipts",
        help="browse, export, sync and verify receipts",
        formatter_class=_Formatter,
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
    rsub = receipts.add_subparsers(dest="receipts_command", metavar="ACTION")
    receipts.set_defaults(
        handler=cmd_receipts_list,
        json=False,
        model=None,
        provider=None,
        mode=None,
        status=None,
        since=None,
    )

    lst = rsub.add_parser(
        "list",
        help="list receipts (the default)",
        formatter_class=_Formatter,
        epilog="examples:\n  og-chat receipts list --status pending --json\n",
    )
    _receipt_filters(lst)
    lst.add_argument(
        "--json", action="store_true", help="a JSON list of receipt objects (each with `id`)"
    )
    lst.set_defaults(handler=cmd_receipts_list)

    show = rsub.add_parser(
        "show",
        help="one receipt in full",
        formatter_class=_Formatter,
        epilog="examples:\n  og-chat receipts show 3f2a --json\n",
    )
    show.add_argument("id", help="receipt id or a unique prefix")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_receipts_show)

    export = rsub.add_parser(
        "export",
        help="export receipts as JSON or CSV",
        formatter_class=_Formatter,
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
    export.set_defaults(handler=cmd_receipts_export)

    verify = rsub.add_parser(
        "verify",
        help="check a receipt against the chain",
        formatter_class=_Formatter,
        description=(
            "Check the output hash, the TEE signature (key from the on-chain registry),\n"
            "the payment transaction and the data settlement (Merkle proof or individual tx).\n"
            "One line per check;"
            "any ✗ exits 5. A payment not settled yet counts as ✗ (run `receipts sync` first)."
        ),
        epilog=(
            "examples:\n"
            "  og-chat receipts verify 3f2a\n"
            "  og-chat receipts verify exported.json --rpc-url http://127.0.0.1:8402/rpc\n"
        ),
    )
    verify.add_argument(
        "target", metavar="ID|FILE", help="receipt id/prefix, or a JSON file from `receipts export`"
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
    verify.set_defaults(handler=cmd_receipts_verify)

    sync = rsub.add_parser(
        "sync",
        help="attach settlements and proofs to pending receipts",
        formatter_class=_Formatter,
        description="Find the settlements of pending payments and the proofs of batch receipts.",
        epilog="examples:\n  og-chat receipts sync --devnet-url http://127.0.0.1:8402 --wait 15\n",
    )
    _network_options(sync)
    sync.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="keep trying this long"
    )
    sync.set_defaults(handler=cmd_receipts_sync)


def _add_sessions(sub: Any) -> None:
    sessions = sub.add_parser(
        "sessions",
        help="list and export conversations",
        formatter_class=_Formatter,
        epilog=(
            "examples:\n"
            "  og-chat sessions list\n"
            "  og-chat sessions export 20250101-120000-ab12cd34 --format md\n"
        ),
    )
    ssub = sessions.add_subparsers(dest="sessions_command", metavar="ACTION")
    sessions.set_defaults(handler=cmd_sessions_list, json=False)
    lst = ssub.add_parser("list", help="list conversations (the default)")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=cmd_sessions_list)
    export = ssub.add_parser("export", help="one conversation as Markdown or JSON")
    export.add_argument("id")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("--out", metavar="FILE")
    export.set_defaults(handler=cmd_sessions_export)


def _add_wallet(sub: Any) -> None:
    wallet = sub.add_parser(
        "wallet",
        help="create, import and inspect the wallet",
        formatter_class=_Formatter,
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
    wsub = wallet.add_subparsers(dest="wallet_command", metavar="ACTION", required=True)
    create = wsub.add_parser("create", help="make a new key in an encrypted keystore")
    create.set_defaults(handler=cmd_wallet_create)
    imp = wsub.add_parser(
        "import", help="encrypt an existing key (from a hidden prompt or stdin, never argv)"
    )
    imp.set_defaults(handler=cmd_wallet_import)
    address = wsub.add_parser("address", help="the wallet's address")
    address.set_defaults(handler=cmd_wallet_address)
    balance = wsub.add_parser("balance", help="OPG, Permit2 allowance and ETH")
    _network_options(balance)
    balance.add_argument("--json", action="store_true")
    balance.set_defaults(handler=cmd_wallet_balance)


def _add_config(sub: Any) -> None:
    config = sub.add_parser(
        "config",
        help="where the settings live, and what they are",
        formatter_class=_Formatter,
        epilog=(
            "examples:\n  og-chat config init\n  og-chat config show\n"
            '  $EDITOR "$(og-chat config path)"\n'
        ),
    )
    csub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    csub.add_parser("path", help="print the config file's path").set_defaults(
        handler=cmd_config_path
    )
    csub.add_parser("show", help="the effective settings as TOML").set_defaults(
        handler=cmd_config_show
    )
    init = csub.add_parser("init", help="write a commented default config")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(handler=cmd_config_init)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


# ---------------------------------------------------------------------------
# Entry point and error mapping
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(with_devnet="devnet" in args_list)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = getattr(args, "handler", cmd_chat)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("og-chat: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_OK
    except Exception as exc:
        code = exit_code_for(exc)
        if code is None:
            raise
        _error(exc)
        return code


def exit_code_for(exc: BaseException) -> int | None:
    """The exit code of an expected failure; None for a bug (which keeps its traceback)."""
    from og_chat.sdk import errors

    if isinstance(exc, errors.VerificationFailed):
        return EXIT_VERIFY
    if isinstance(exc, errors.PaymentError):
        return EXIT_PAYMENT
    if isinstance(exc, errors.GatewayError | errors.StreamInterrupted | errors.ChainError):
        return EXIT_GATEWAY
    if isinstance(exc, errors.ConfigurationError | LookupError):
        return EXIT_USAGE
    if isinstance(exc, errors.OGError):
        return EXIT_ERROR
    if isinstance(exc, OSError):
        return EXIT_ERROR
    return None


def _error(exc: BaseException) -> None:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename:
        text = f"{exc.strerror or exc}: {exc.filename}"
    print(f"og-chat: {_inert(text)}", file=sys.stderr)


def _inert(text: str) -> str:
    """Untrusted text (model output, gateway reasons) with every control character made visible.

    A model can emit terminal escape sequences; printed raw they could clear the
    screen, retitle the window or hide text. The TUI's neutralizer is pure (no
    Textual), so both faces share one implementation.
    """
    from og_chat.app.sanitize import neutralize

    return neutralize(text)


def _json_inert(text: str) -> str:
    """JSON output with the controls `json.dumps` leaves raw (DEL, C1, bidi) escaped too."""
    return text.translate(_C1_ESCAPES)


_C1_ESCAPES = {
    c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


@contextlib.contextmanager
def _progress(first: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr while something waits; silent when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield lambda _msg: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(first) as status:
        yield lambda msg: status.update(msg)


# ---------------------------------------------------------------------------
# Shared plumbing
# ---------------------------------------------------------------------------


def _config() -> Any:
    from og_chat.store.config import load_config

    return load_config()


def _devnet_url(args: argparse.Namespace, config: Any = None) -> str | None:
    url = getattr(args, "devnet_url", None) or os.environ.get("OG_DEVNET_URL") or None
    if url is None and config is not None:
        url = getattr(config, "devnet_url", None)
    return url.rstrip("/") if url else None


def _private_key(args: argparse.Namespace, config: Any) -> str | None:
    """The wallet key for commands that pay: env, else the keystore (prompting on a terminal).

    None on the devnet, where the runtime uses dev account 0 (or OG_PRIVATE_KEY).
    """
    from og_chat.store import keystore

    network = getattr(args, "network", None) or getattr(config, "network", None)
    if network == "devnet" or (network is None and _devnet_url(args, config)):
        return None
    prompt = keystore.prompt_passphrase if sys.stdin.isatty() else None
    return keystore.resolve_private_key(prompt)


async def _open_runtime(args: argparse.Namespace, *, mode: str | None = None) -> Runtime:
    from og_chat.app.runtime import Runtime

    config = _config()
    key = _private_key(args, config)
    url = _devnet_url(args)
    network = getattr(args, "network", None) or ("devnet" if url and not key else None)
    with _progress("opening og-chat…") as say:
        return await Runtime.open(
            config,
            network=network,
            devnet_url=url,
            mode=mode,
            private_key=key,
            on_progress=say,
            tokens_per_second=0,  # an embedded devnet answers unpaced: scripts want speed
        )


def _run(coro: Any) -> int:
    return int(asyncio.run(coro))


def _out(text: str = "", *, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout)


def _short(value: str | None, n: int = 10) -> str:
    if not value:
        return "—"
    return value if len(value) <= n + 2 else value[: n + 2] + "…"


def _tee_mark(receipt: Receipt) -> str:
    ok = receipt.tee_ok
    return "✓" if ok else ("✗" if ok is False else "?")


def _receipt_cost(receipt: Receipt, prices: dict[str, Any] | None = None) -> str | None:
    """OPG for this call: charged when known, else the gateway's price, else the devnet table."""
    if receipt.cost_opg:
        return receipt.cost_opg
    from og_chat.sdk.chain import opg_text
    from og_chat.sdk.pricing import table_cost

    cost = table_cost(prices, receipt.model, receipt.prompt_tokens, receipt.completion_tokens)
    return opg_text(cost) if cost is not None else None


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def cmd_chat(args: argparse.Namespace) -> int:
    """Open the TUI (imported only now: the CLI commands never load Textual)."""
    from og_chat.tui.app import run

    model = None
    if args.model:
        from og_chat.sdk.models import resolve_model

        model = resolve_model(args.model).id
    mode = None
    if args.mode:
        from og_chat.sdk.types import settlement_mode

        mode = settlement_mode(args.mode).value
    key = None
    if args.network != "devnet" and not (args.devnet_url or os.environ.get("OG_DEVNET_URL")):
        from og_chat.store import keystore

        # A keystore means mainnet: unlock it here, before the screen takes the terminal.
        if keystore.env_private_key() is None and keystore.keystore_path().exists():
            key = keystore.resolve_private_key(
                keystore.prompt_passphrase if sys.stdin.isatty() else None
            )
    run(network=args.network, model=model, devnet_url=args.devnet_url, mode=mode, private_key=key)
    return EXIT_OK


def cmd_devnet(args: argparse.Namespace) -> int:
    """`og-chat devnet`: the devnet's own command."""
    from og_chat.devnet import run_devnet_command

    return int(run_devnet_command(args))


def _read_prompt(args: argparse.Namespace) -> str:
    from og_chat.sdk.errors import ConfigurationError

    if args.prompt == "-" or (args.prompt is None and not sys.stdin.isatty()):
        text = sys.stdin.read()
    elif args.prompt is None:
        raise ConfigurationError(
            "no prompt given", hint='og-chat ask "your question" (or pipe it in with -)'
        )
    else:
        text = args.prompt
    if not text.strip():
        raise ConfigurationError(
            "the prompt is empty", hint="give a question as an argument or on stdin"
        )
    return text


def cmd_ask(args: argparse.Namespace) -> int:
    """Ask one question, stream the answer, summarise the receipt on stderr."""
    from og_chat.sdk.models import resolve_model
    from og_chat.sdk.types import settlement_mode

    prompt = _read_prompt(args)
    config = _config()
    model = resolve_model(args.model or config.model)
    mode = settlement_mode(args.mode).value if args.mode else None
    return _run(_ask(args, prompt, model.id, mode))


async def _ask(args: argparse.Namespace, prompt: str, model: str, mode: str | None) -> int:
    from og_chat.sdk.errors import StreamInterrupted, VerificationFailed

    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    from og_chat.app.sanitize import StreamNeutralizer

    live = not args.json and not args.no_stream
    shown = StreamNeutralizer()
    runtime = await _open_runtime(args, mode=mode)
    pieces: list[str] = []
    final: Any = None
    failure: BaseException | None = None
    try:
        try:
            async for chunk in runtime.stream_chat(
                model, messages, mode=mode, max_tokens=args.max_tokens
            ):
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    pieces.append(text)
                    if live:
                        sys.stdout.write(shown.feed(text))
                        sys.stdout.flush()
                if chunk.is_final:
                    final = chunk
        except VerificationFailed as exc:
            final, failure = getattr(exc, "result", None), exc
        except StreamInterrupted as exc:
            failure = exc
            receipt = getattr(exc, "receipt", None)
            if live and pieces:
                sys.stdout.write(shown.flush() + "\n")
            if receipt is not None:
                _summary(receipt, runtime)
            raise
        answer = "".join(pieces)
        if live:
            sys.stdout.write(shown.flush())
            if answer and not answer.endswith("\n"):
                sys.stdout.write("\n")
        elif not args.json:
            _out(_inert(answer.rstrip("\n")))
        receipt = final.receipt if final is not None else None
        if args.json:
            usage = final.usage if final is not None else None
            doc = {
                "answer": answer,
                "model": model,
                "usage": {
                    "prompt_tokens": usage.prompt_tokens if usage else 0,
                    "completion_tokens": usage.completion_tokens if usage else 0,
                    "total_tokens": usage.total_tokens if usage else 0,
                },
                "cost_opg": _receipt_cost(receipt, _prices(runtime)) if receipt else None,
                "receipt": receipt.to_dict() if receipt else None,
            }
            _out(_json_inert(json.dumps(doc, ensure_ascii=False)))
        sys.stdout.flush()
        if receipt is not None:
            _summary(receipt, runtime)
        if failure is not None:
            raise failure
        return EXIT_OK
    finally:
        await runtime.close()


def _prices(runtime: Runtime) -> dict[str, Any] | None:
    doc = runtime.llm.profile.extra.get("devnet") if runtime.network == "devnet" else None
    return doc.get("prices") if isinstance(doc, dict) else None


def _summary(receipt: Receipt, runtime: Runtime) -> None:
    """One receipt line on stderr: what was used, what it cost, what can be checked."""
    cost = _receipt_cost(receipt, _prices(runtime))
    parts = [
        receipt.model,
        f"{receipt.total_tokens} tokens ({receipt.prompt_tokens}+{receipt.completion_tokens})",
        f"{cost} OPG" if cost else "cost unknown",
        receipt.settlement_mode,
        f"TEE {_tee_mark(receipt)}",
        f"payment {receipt.payment_hash or '—'} ({receipt.payment_status})",
    ]
    print(f"receipt {receipt.id[:12]} · " + " · ".join(parts), file=sys.stderr)


def cmd_models(args: argparse.Namespace) -> int:
    """The catalogue, filtered by provider, with devnet prices when a devnet is known."""
    from og_chat.sdk.chain import opg_text
    from og_chat.sdk.errors import ConfigurationError
    from og_chat.sdk.models import CATALOGUE, PROVIDERS

    infos = list(CATALOGUE.values())
    if args.provider:
        wanted = args.provider.strip().lower()
        known = {p: p for p in PROVIDERS} | {name.lower(): p for p, name in PROVIDERS.items()}
        if wanted not in known:
            raise ConfigurationError(
                f"unknown provider {args.provider!r}", hint=f"one of: {', '.join(PROVIDERS)}"
            )
        infos = [i for i in infos if i.provider == known[wanted]]
    prices = _model_prices(args)
    rows = []
    for info in infos:
        row: dict[str, Any] = {
            "id": info.id,
            "name": info.name,
            "enum_name": info.enum_name,
            "provider": info.provider,
            "display_name": info.display_name,
            "tools": info.tools,
            "image_output": info.image_output,
            "reasoning": info.reasoning,
        }
        price = (prices or {}).get(info.id)
        if isinstance(price, dict):
            row["price_opg_per_million"] = {
                "prompt": opg_text(int(price["prompt_per_million"])),
                "completion": opg_text(int(price["completion_per_million"])),
            }
        rows.append(row)
    if args.json:
        _out(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    width = max((len(r["id"]) for r in rows), default=10)
    header = f"{'MODEL':<{width}}  {'NAME':<28}  {'CAPABILITIES':<22}"
    if prices:
        header += "  OPG / 1M tokens (prompt, completion)"
    _out(header)
    for r, info in zip(rows, infos, strict=True):
        line = f"{r['id']:<{width}}  {r['display_name']:<28}  {info.badges:<22}"
        if "price_opg_per_million" in r:
            p = r["price_opg_per_million"]
            line += f"  {p['prompt']}, {p['completion']}"
        _out(line.rstrip())
    return EXIT_OK


def _model_prices(args: argparse.Namespace) -> dict[str, Any] | None:
    """From a running devnet when one is named; the devnet's own table with --prices."""
    url = _devnet_url(args, _config())
    if url:
        import httpx

        try:
            doc = httpx.get(url + "/devnet", timeout=10).json()
            return dict(doc.get("prices") or {})
        except (httpx.HTTPError, ValueError):
            if not args.prices:
                print(f"og-chat: no devnet answers at {url}; prices left out", file=sys.stderr)
                return None
    if args.prices:
        import dataclasses

        from og_chat.devnet.gateway import PRICES  # the table a devnet serves in /devnet

        return {mid: dataclasses.asdict(p) for mid, p in PRICES.items()}
    return None


# -- receipts -----------------------------------------------------------------------


def _store() -> Any:
    from og_chat.store.receipts import ReceiptStore

    return ReceiptStore()


def _filtered(args: argparse.Namespace) -> list[Receipt]:
    from og_chat.sdk.types import settlement_mode
    from og_chat.store.query import ReceiptQuery, parse_since

    store = _store()
    receipts: list[Receipt] = store.filter(
        ReceiptQuery(
            model=args.model or "",
            provider=args.provider or "",
            mode=settlement_mode(args.mode).value if args.mode else "",
            status=args.status or "",
            since=parse_since(args.since),
        )
    )
    for warning in store.warnings:
        print(f"og-chat: {warning}", file=sys.stderr)
    return receipts


def cmd_receipts_list(args: argparse.Namespace) -> int:
    """A table (or JSON list) of receipts, oldest first."""
    receipts = _filtered(args)
    if args.json:
        _out(_json_inert(json.dumps([r.to_dict() for r in receipts], indent=2, ensure_ascii=False)))
        return EXIT_OK
    if not receipts:
        print('no receipts yet: `og-chat ask "hello"` makes one', file=sys.stderr)
        return EXIT_OK
    _out(
        f"{'ID':<12}  {'TIME':<16}  {'MODEL':<34}  {'MODE':<10}  {'TOKENS':>6}  "
        f"{'COST OPG':>12}  TEE  {'STATUS':<8}  PAYMENT"
    )
    for r in receipts:
        when = datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M")
        cost = _receipt_cost(r) or "—"
        _out(
            f"{r.id[:12]:<12}  {when:<16}  {r.model[:34]:<34}  {r.settlement_mode:<10}  "
            f"{r.total_tokens:>6}  {cost:>12}  {_tee_mark(r):<3}  {r.payment_status:<8}  "
            f"{_short(r.payment_hash, 14)}"
        )
    return EXIT_OK


def cmd_receipts_show(args: argparse.Namespace) -> int:
    """Every field of one receipt."""
    receipt = _store().get(args.id)
    data = receipt.to_dict()
    if args.json:
        _out(_json_inert(json.dumps(data, indent=2, ensure_ascii=False)))
        return EXIT_OK
    width = max(len(k) for k in data)
    for key, value in data.items():
        if value is None or value == []:
            continue
        if key == "created_at":
            value = f"{datetime.fromtimestamp(float(value), UTC).isoformat()} ({value})"
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        elif key == "output_text":
            value = (
                str(value)
                if len(str(value)) <= 400
                else str(value)[:400] + f"… ({len(str(value))} chars)"
            )
        _out(f"{key:<{width}}  {_inert(str(value))}")
    return EXIT_OK


def cmd_receipts_export(args: argparse.Namespace) -> int:
    """JSON (an array of receipt objects) or CSV, to stdout or a file."""
    from og_chat.store.receipts import export_csv, export_json

    if args.ids:
        store = _store()
        receipts = [store.get(i) for i in args.ids]
    else:
        receipts = _filtered(args)
    text = export_csv(receipts) if args.format == "csv" else export_json(receipts) + "\n"
    if args.out:
        from og_chat.store.atomic import write_atomic

        write_atomic(Path(args.out), text.encode("utf-8"))
        print(f"wrote {len(receipts)} receipt(s) to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _receipts_from_file(path: Path) -> list[Receipt]:
    from og_chat.sdk.errors import ConfigurationError
    from og_chat.sdk.types import Receipt

    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError:
        raise ConfigurationError(
            f"{path} is not JSON", hint="give a file from `og-chat receipts export`"
        ) from None
    items = data if isinstance(data, list) else [data]
    if isinstance(data, dict) and isinstance(data.get("receipt"), dict):  # `ask --json` output
        items = [data["receipt"]]
    out = []
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            raise ConfigurationError(f"{path} holds something that is not a receipt")
        try:
            out.append(Receipt.from_dict(item))
        except TypeError as exc:
            raise ConfigurationError(f"{path}: not a complete receipt ({exc})") from None
    return out


def cmd_receipts_verify(args: argparse.Namespace) -> int:
    """One ✓/✗ line per check; exit 5 on any ✗."""
    from og_chat.app.verify import profile_for_receipt, verify_receipt

    path = Path(args.target)
    receipts = _receipts_from_file(path) if path.is_file() else [_store().get(args.target)]
    rpc = args.rpc_url
    if rpc is None:
        url = _devnet_url(args)
        if url:
            rpc = url + "/rpc"
    failed = False
    report = []
    for receipt in receipts:
        with _progress("reading the chain…"):
            profile = profile_for_receipt(receipt, rpc)
            checks = verify_receipt(receipt, profile, rpc_url=rpc)
        failed = failed or not all(c.ok for c in checks)
        if args.json:
            report.append(
                {
                    "id": receipt.id,
                    "ok": all(c.ok for c in checks),
                    "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
                }
            )
            continue
        if len(receipts) > 1:
            _out(f"receipt {receipt.id}")
        for c in checks:
            _out(f"{'✓' if c.ok else '✗'} {c.name}: {c.detail}")
    if args.json:
        _out(json.dumps(report if len(receipts) > 1 else report[0], indent=2, ensure_ascii=False))
    return EXIT_VERIFY if failed else EXIT_OK


def cmd_receipts_sync(args: argparse.Namespace) -> int:
    """Attach settlements and proofs now (the TUI does this in the background)."""
    return _run(_sync(args))


async def _sync(args: argparse.Namespace) -> int:
    from og_chat.app.settlement import SettlementTracker

    runtime = await _open_runtime(args)
    try:
        updates: list[tuple[str, dict[str, Any]]] = []
        tracker = SettlementTracker(
            runtime, on_update=lambda rid, fields: updates.append((rid, fields))
        )
        deadline = time.monotonic() + max(0.0, args.wait)
        with _progress("looking for settlements…"):
            while True:
                await tracker.poll_once()
                if not tracker.outstanding() or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(min(1.0, max(0.1, deadline - time.monotonic())))
        for rid, fields in updates:
            what = ", ".join(sorted(fields))
            _out(f"{rid[:12]}  {fields.get('payment_status', 'proof attached')}  ({what})")
        left = len(tracker.outstanding())
        print(f"{len(updates)} update(s); {left} receipt(s) still waiting", file=sys.stderr)
        return EXIT_OK
    finally:
        await runtime.close()


# -- sessions -----------------------------------------------------------------------


def cmd_sessions_list(args: argparse.Namespace) -> int:
    """Conversations, newest first."""
    from og_chat.store.sessions import SessionStore

    store = SessionStore()
    summaries = store.list()
    for warning in store.warnings:
        print(f"og-chat: {warning}", file=sys.stderr)
    if args.json:
        import dataclasses

        _out(json.dumps([dataclasses.asdict(s) for s in summaries], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not summaries:
        print("no conversations yet: start one with `og-chat`", file=sys.stderr)
        return EXIT_OK
    _out(f"{'ID':<26}  {'UPDATED':<16}  {'MSGS':>4}  {'MODEL':<32}  TITLE")
    for s in summaries:
        when = datetime.fromtimestamp(s.updated_at).strftime("%Y-%m-%d %H:%M")
        _out(
            f"{s.id:<26}  {when:<16}  {s.message_count:>4}  {(s.model or '—')[:32]:<32}  {s.title}"
        )
    return EXIT_OK


def cmd_sessions_export(args: argparse.Namespace) -> int:
    """One conversation as Markdown (readable) or JSON (complete)."""
    from og_chat.store.sessions import SessionStore

    store = SessionStore()
    text = store.export_markdown(args.id) if args.format == "md" else store.export_json(args.id)
    if not text.endswith("\n"):
        text += "\n"
    if args.out:
        from og_chat.store.atomic import write_atomic

        write_atomic(Path(args.out), text.encode("utf-8"))
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


# -- wallet -------------------------------------------------------------------------


def cmd_wallet_create(args: argparse.Namespace) -> int:
    """A new random key, encrypted at rest; only its address is shown."""
    from og_chat.store import keystore

    passphrase = keystore.prompt_passphrase(confirm=True)
    with _progress("encrypting the new key (scrypt)…"):
        address = keystore.create_keystore(passphrase, scrypt_n=keystore.SCRYPT_N)
    _out(address)
    print(
        f"wallet created; keystore at {keystore.keystore_path()}. Fund it with OPG on Base.",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_wallet_import(args: argparse.Namespace) -> int:
    """Encrypt an existing key: read from a hidden prompt, or from stdin when piped; never argv."""
    import getpass

    from og_chat.store import keystore

    if sys.stdin.isatty():
        secret = getpass.getpass("Private key (hidden): ")
    else:
        secret = sys.stdin.readline()
    passphrase = keystore.prompt_passphrase(confirm=True)
    with _progress("encrypting the key (scrypt)…"):
        address = keystore.import_key(secret.strip(), passphrase, scrypt_n=keystore.SCRYPT_N)
    del secret
    _out(address)
    print(f"key imported; keystore at {keystore.keystore_path()}", file=sys.stderr)
    return EXIT_OK


def cmd_wallet_address(args: argparse.Namespace) -> int:
    """The address of OG_PRIVATE_KEY, else of the keystore (no passphrase needed)."""
    from og_chat.sdk.errors import ConfigurationError
    from og_chat.store import keystore

    key = keystore.env_private_key()
    if key is not None:
        from eth_account import Account

        address = str(Account.from_key(key).address)
        del key
    else:
        found = keystore.keystore_address()
        if found is None:
            raise ConfigurationError(
                "no wallet configured (the devnet then pays from its dev account 0)",
                hint="create one with `og-chat wallet create`, import one, or set OG_PRIVATE_KEY",
            )
        address = found
    _out(address)
    return EXIT_OK


def cmd_wallet_balance(args: argparse.Namespace) -> int:
    """OPG, Permit2 allowance and ETH of the paying wallet on its network."""
    return _run(_balance(args))


async def _balance(args: argparse.Namespace) -> int:
    from og_chat.sdk.chain import format_opg

    runtime = await _open_runtime(args)
    try:
        with _progress("reading balances…"):
            status = await runtime.wallet()
    finally:
        await runtime.close()
    if args.json:
        _out(
            json.dumps(
                {
                    "network": status.network,
                    "address": status.address,
                    "opg": str(status.opg),
                    "allowance": str(status.allowance),
                    "eth": str(status.eth),
                }
            )
        )
        return EXIT_OK
    _out(f"network    {status.network}")
    _out(f"address    {status.address}")
    _out(f"OPG        {format_opg(status.opg)}")
    _out(f"allowance  {format_opg(status.allowance)} (Permit2)")
    _out(f"ETH        {format_opg(status.eth)}")
    return EXIT_OK


# -- config -------------------------------------------------------------------------


def cmd_config_path(args: argparse.Namespace) -> int:
    """Where config.toml lives (it may not exist yet)."""
    from og_chat.store.paths import config_path

    _out(str(config_path()))
    return EXIT_OK


def cmd_config_show(args: argparse.Namespace) -> int:
    """The effective settings, file plus environment."""
    from og_chat.store.config import show_config

    sys.stdout.write(show_config().rstrip("\n") + "\n")
    return EXIT_OK


def cmd_config_init(args: argparse.Namespace) -> int:
    """Write the commented default config."""
    from og_chat.store.config import init_config

    path = init_config(force=args.force)
    _out(str(path))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
