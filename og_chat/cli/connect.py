"""Opening the runtime for a command that pays or reads the chain (ask, sync, balance).

The network and key rules live in `og_chat.app.network` and `Runtime.open`; this
only reads them off the command line and shows progress while the runtime opens.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

from og_chat.app import network
from og_chat.app.runtime import Runtime
from og_chat.store.config import Config, load_config

from .output import progress


def devnet_url(args: argparse.Namespace, config: Config | None = None) -> str | None:
    """The devnet a command names (`--devnet-url`, else `$OG_DEVNET_URL`, else the config's)."""
    given: str | None = args.devnet_url
    return network.devnet_url(given, config)


async def open_runtime(args: argparse.Namespace, *, mode: str | None = None) -> Runtime:
    """The runtime for `args`: the key unlocked on a terminal, an embedded devnet unpaced."""
    config = load_config()
    chosen: str | None = args.network or config.network
    key = network.wallet_key(chosen, devnet_url(args, config), interactive=sys.stdin.isatty())
    url = devnet_url(args)
    with progress("opening og-chat…") as say:
        return await Runtime.open(
            config,
            network=args.network or ("devnet" if url and not key else None),
            devnet_url=url,
            mode=mode,
            private_key=key,
            on_progress=say,
            tokens_per_second=0,  # an embedded devnet answers unpaced: scripts want speed
        )


def run(coro: Coroutine[Any, Any, int]) -> int:
    """Run one command's coroutine to its exit code."""
    return asyncio.run(coro)
