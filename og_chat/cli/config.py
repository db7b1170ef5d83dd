"""`og-chat config path|show|init`: where the settings live, and what they are."""

from __future__ import annotations

import argparse
import sys

from og_chat.store.config import init_config, show_config
from og_chat.store.paths import config_path

from .output import EXIT_OK, out


def cmd_path(args: argparse.Namespace) -> int:
    """Where config.toml lives (it may not exist yet)."""
    out(str(config_path()))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """The effective settings, file plus environment."""
    sys.stdout.write(show_config().rstrip("\n") + "\n")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """Write the commented default config."""
    out(str(init_config(force=args.force)))
    return EXIT_OK
