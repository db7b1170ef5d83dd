"""Opening the runtime for a command that pays or reads the chain (ask, sync, balance).

The network is `og_chat.app.network.choose`'s (the SDK's and the TUI's rule); this
reads the flags off the command line, unlocks the wallet where the wallet pays
(mainnet, or a devnet named with `--trust-devnet` or in `trusted_devnets`), asks
before an approval needs the user's word (`--yes` answers for them; without a
terminal and without `--yes` it is refused), and shows progress while it opens.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from og_chat.app import network
from og_chat.app.runtime import Confirm, Runtime
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.network_choice import NetworkChoice, NetworkRequest
from og_chat.store.config import Config, load_config

from .output import progress


def devnet_url(args: argparse.Namespace, config: Config | None = None) -> str | None:
    """The devnet a command names (`--devnet-url`, else `$OG_DEVNET_URL`, else the config's)."""
    given: str | None = getattr(args, "devnet_url", None)
    return network.devnet_url(given, config)


def network_choice(args: argparse.Namespace, config: Config) -> NetworkChoice:
    """The network the command line, the environment and the config pick (one rule)."""
    return network.choose(getattr(args, "network", None), getattr(args, "devnet_url", None), config)


def trusted_devnets(
    args: argparse.Namespace, config: Config, choice: NetworkChoice
) -> frozenset[str]:
    """The devnets the wallet may pay on: the config's, and the chosen one with `--trust-devnet`."""
    extra: list[str] = []
    if getattr(args, "trust_devnet", False):
        if choice.name != "devnet" or not choice.devnet_url:
            raise ConfigurationError(
                "--trust-devnet applies to a devnet at a URL, and none is chosen",
                hint="give --devnet-url URL (or set OG_DEVNET_URL) with it",
            )
        extra.append(choice.devnet_url)
    return network.trusted(config, extra)


def network_request(choice: NetworkChoice, trusted: frozenset[str]) -> NetworkRequest:
    """The chosen network as `Runtime.open` and the TUI take it (chosen again there, alike)."""
    return NetworkRequest(choice.name, choice.devnet_url, tuple(sorted(trusted)))


def confirmer(args: argparse.Namespace) -> Confirm | None:
    """`--yes`: always yes; on a terminal: ask there; otherwise None (refuse what needs asking)."""
    if getattr(args, "yes", False):

        async def yes(question: str) -> bool:
            return True

        return yes
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None

    async def ask(question: str) -> bool:
        answer = await asyncio.to_thread(input_on_stderr, f"{question} [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    return ask


def input_on_stderr(prompt: str) -> str:
    """`input()` with the prompt on stderr (stdout is the answer's)."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline()


async def open_runtime(args: argparse.Namespace, *, top_up: bool = True) -> Runtime:
    """The runtime for `args`: the key unlocked on a terminal, an embedded devnet unpaced."""
    config = load_config()
    choice = network_choice(args, config)
    trusted = trusted_devnets(args, config, choice)
    key = network.wallet_key(choice, trusted, interactive=sys.stdin.isatty())
    with progress("opening og-chat…") as say:
        runtime = await Runtime.open(
            config,
            network_request(choice, trusted),
            private_key=key,
            on_progress=say,
            tokens_per_second=0,  # an embedded devnet answers unpaced: scripts want speed
            top_up=False,
        )
    if not top_up:
        return runtime
    try:
        confirm = confirmer(args)
        asks = confirm is not None and not getattr(args, "yes", False)
        if asks:  # a question on the terminal: no spinner over it
            await runtime.top_up_by_policy(confirm)
        else:
            with progress("checking the Permit2 allowance…") as say:
                await runtime.top_up_by_policy(confirm, on_progress=say)
    except BaseException:
        await runtime.close()
        raise
    return runtime


def run(coro: Coroutine[Any, Any, int]) -> int:
    """Run one command's coroutine to its exit code."""
    return asyncio.run(coro)


RuntimeCommand = Callable[[argparse.Namespace, Runtime], Awaitable[int]]
"""A command's work on an open runtime: `async def cmd(args, runtime) -> exit code`."""


def with_runtime(
    *, top_up: bool
) -> Callable[[RuntimeCommand], Callable[[argparse.Namespace], int]]:
    """The handler of a command that works on the runtime: opened for `args` (`open_runtime`),
    closed however the command ends, so no command repeats the open/try/close."""

    def handler_of(command: RuntimeCommand) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(command)
        def handler(args: argparse.Namespace) -> int:
            async def opened() -> int:
                runtime = await open_runtime(args, top_up=top_up)
                try:
                    return await command(args, runtime)
                finally:
                    await runtime.close()

            return run(opened())

        return handler

    return handler_of
