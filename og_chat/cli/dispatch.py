"""Which function runs a command: named by the parser, imported when the command runs.

The parser names each handler as ``"module:function"`` (a module of `og_chat.cli`), so
building it imports no command's module. Most commands import the config models
(pydantic), the runtime (httpx, eth-account) or the devnet; `og-chat` itself, opening the
TUI on the devnet, needs none of them before its first frame (`launch`), and
`og-chat --help` none at all. tests/cli/test_dispatch.py resolves every name the parser
gives, so a typo fails a test rather than a user's command.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import cast

Handler = Callable[[argparse.Namespace], int]
"""A command: its parsed arguments in, its exit code out."""

PACKAGE = "og_chat.cli"


def handler(name: str) -> Handler:
    """The function `name` (``"module:function"``) names, its module imported now."""
    module, _, function = name.partition(":")
    return cast(Handler, getattr(importlib.import_module(f"{PACKAGE}.{module}"), function))


def run(name: str, args: argparse.Namespace) -> int:
    """Run the handler `name` names on `args`."""
    return handler(name)(args)
