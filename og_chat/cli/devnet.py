"""`og-chat devnet`: the devnet's own command, options and all (`og_chat.devnet.server`)."""

from __future__ import annotations

import argparse

# The package loads its server (aiohttp, py-evm) only when an attribute is first used,
# so importing it here keeps every other command's start fast.
from og_chat import devnet


def cmd_devnet(args: argparse.Namespace) -> int:
    """Start a devnet and serve until Ctrl-C."""
    return devnet.run_devnet_command(args)
