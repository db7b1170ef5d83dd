"""`og-chat config path|show|init`: where the settings live, and what they are."""

from __future__ import annotations

import argparse

from og_chat.app import network
from og_chat.store.config import init_config, load_config, show_config
from og_chat.store.paths import config_path

from .connect import network_choice, trusted_devnets
from .output import EXIT_OK, out


def cmd_path(args: argparse.Namespace) -> int:
    """Where config.toml lives (it may not exist yet)."""
    out(str(config_path()))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """The effective settings, file plus environment, and the network they pick (with the
    top-level --network/--devnet-url/--trust-devnet, as any command would)."""
    config = load_config()
    choice = network_choice(args, config)
    trusted = trusted_devnets(args, config, choice)
    pays = "your wallet" if network.wallet_pays(choice, trusted) else "the devnet's test key"
    lines = [
        f"# network: {choice.label} (from {choice.reason}); paid with {pays}",
        f"# trusted devnets: {', '.join(sorted(trusted)) or 'none'}",
        show_config(config).rstrip("\n"),
    ]
    out("\n".join(lines))
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """Write the commented default config."""
    out(str(init_config(force=args.force)))
    return EXIT_OK
