"""`og-chat` / `og-chat chat`: open the TUI, after unlocking the keystore on the terminal."""

from __future__ import annotations

import argparse
import sys

from og_chat.app import network
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.store.config import load_config

from .connect import network_choice, trusted_devnets
from .launch import tui_choices
from .output import EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    """Open the TUI where a wallet exists: its passphrase is asked before the screen.

    The network is chosen by the one rule (`app.network.choose`); the TUI chooses again
    from the same flags, environment and config, and so lands on the same network.
    """
    from og_chat.tui.app import run as run_tui

    model, mode = tui_choices(args)
    config = load_config()
    choice = network_choice(args, config)
    trusted = trusted_devnets(args, config, choice)
    key = network.wallet_key(choice, trusted, interactive=sys.stdin.isatty())
    request = NetworkRequest(args.network, args.devnet_url, tuple(sorted(trusted)))
    devnet = getattr(args, "devnet_process", None)  # spawned by `main`, loading meanwhile
    run_tui(request, model=model, mode=mode, private_key=key, devnet_process=devnet)
    return EXIT_OK
