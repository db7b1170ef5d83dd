"""`og-chat` / `og-chat chat`: open the TUI, after unlocking the keystore on the terminal."""

from __future__ import annotations

import argparse
import sys

from og_chat.app import network
from og_chat.sdk.models import resolve_model
from og_chat.sdk.types import settlement_mode

from .output import EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    """Open the TUI; a keystore means mainnet, so its passphrase is asked before the screen."""
    # Textual loads only here: every other command starts without it.
    from og_chat.tui.app import run as run_tui

    model = resolve_model(args.model).id if args.model else None
    mode = settlement_mode(args.mode).value if args.mode else None
    # The flag or $OG_DEVNET_URL; the TUI reads the config's own settings itself.
    url = network.devnet_url(args.devnet_url)
    key = network.wallet_key(args.network, url, interactive=sys.stdin.isatty())
    run_tui(
        network=args.network, model=model, devnet_url=args.devnet_url, mode=mode, private_key=key
    )
    return EXIT_OK
