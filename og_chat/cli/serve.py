"""`og-chat serve`: the same TUI in a web browser, through textual-serve.

Each page load starts `og-chat chat` on this machine (textual-serve's web driver)
and streams it to the page. On the devnet one devnet is started here and shared by
every page, so tabs see the same chain and receipts; a wallet key is unlocked once,
here, and handed to the pages' processes in their environment.

The server binds 127.0.0.1 unless told otherwise. Whoever reaches the port drives
the app as you: they can spend from your wallet and read your conversations and
receipts. textual-serve has no authentication; bind elsewhere only behind your own.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import sys

from og_chat import devnet as devnet_package
from og_chat.app import network
from og_chat.sdk.models import resolve_model
from og_chat.sdk.types import settlement_mode
from og_chat.store.config import load_config
from og_chat.store.keystore import KEY_ENV

from .connect import network_choice, trusted_devnets
from .output import EXIT_OK, note, warn


def is_loopback(host: str) -> bool:
    """Whether `host` can only be reached from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def chat_command(
    *,
    devnet_url: str | None,
    network_name: str | None,
    model: str | None,
    mode: str | None,
    trust_devnet: bool = False,
) -> str:
    """The command each page runs: this interpreter's `og-chat chat` with the same choices."""
    argv = [sys.executable, "-m", "og_chat.cli", "chat"]
    if network_name:
        argv += ["--network", network_name]
    if devnet_url:
        argv += ["--devnet-url", devnet_url]
    if trust_devnet and devnet_url:
        argv += ["--trust-devnet"]
    if model:
        argv += ["--model", model]
    if mode:
        argv += ["--mode", mode]
    return shlex.join(argv)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; a devnet started here stops with it."""
    from textual_serve.server import Server

    model = resolve_model(args.model).id if getattr(args, "model", None) else None
    mode = settlement_mode(args.mode).value if getattr(args, "mode", None) else None
    config = load_config()
    choice = network_choice(args, config)  # the one rule; the pages' processes choose alike
    trusted = trusted_devnets(args, config, choice)
    key = network.wallet_key(choice, trusted, interactive=sys.stdin.isatty())
    started = None
    url = choice.devnet_url
    if choice.name == "devnet" and url is None:
        note("starting a devnet for the served app…")
        started = devnet_package.Devnet.start()
        url = started.url
        note(f"devnet at {url}")
    if key is not None:
        os.environ[KEY_ENV] = key  # the pages' processes pay with it; never printed
    if not is_loopback(args.host):
        warn(
            f"serving on {args.host}: anyone who reaches port {args.port} can spend from this "
            "wallet and read your conversations and receipts"
        )
    command = chat_command(
        devnet_url=url if choice.name == "devnet" else None,
        network_name=choice.name,
        model=model,
        mode=mode,
        trust_devnet=bool(getattr(args, "trust_devnet", False)),
    )
    note(f"og-chat in the browser: http://{args.host}:{args.port}")
    try:
        Server(command, host=args.host, port=args.port, title="og-chat").serve()
    finally:
        if started is not None:
            started.stop()
    return EXIT_OK
