"""Every command's handler resolves, and `og-chat` reaches the TUI without the heavy imports."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from og_chat.cli import dispatch
from og_chat.cli.parser import LAUNCH, build_parser


def _handlers(parser: argparse.ArgumentParser, path: str = "og-chat") -> Iterator[tuple[str, str]]:
    default = parser.get_default("handler")
    if default is not None:
        yield path, default
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _handlers(sub, f"{path} {name}")


def test_every_handler_the_parser_names_is_a_function() -> None:
    named = dict(_handlers(build_parser(with_devnet=True)))
    assert len(named) >= 20, named
    for command, name in [*named.items(), ("og-chat (no command)", LAUNCH)]:
        assert isinstance(name, str) and ":" in name, (command, name)
        assert callable(dispatch.handler(name)), (command, name)


LAUNCH_PATH = """
import json, sys
from og_chat.cli import dispatch
from og_chat.cli.parser import LAUNCH, build_parser
args = build_parser(with_devnet=False).parse_args(sys.argv[1:])
dispatch.handler(getattr(args, "handler", LAUNCH))
import og_chat.tui.app
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""
HEAVY = {"pydantic", "httpx", "web3", "eth_account", "aiohttp", "eth_tester"}
"""What the default command must not import before the TUI's first frame (the TUI reads
the config itself, after that frame)."""


def _loaded_on_launch(home: Path, *argv: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k != "OG_PRIVATE_KEY"}
    env["OG_CHAT_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", LAUNCH_PATH, *argv],
        capture_output=True, text=True, check=True, env=env,
    ).stdout  # fmt: skip
    return set(json.loads(out))


def test_og_chat_opens_the_tui_without_pydantic_httpx_or_the_chain(tmp_path: Path) -> None:
    for argv in ([], ["chat"], ["--model", "gpt-5", "--mode", "private"]):
        loaded = _loaded_on_launch(tmp_path, *argv)
        assert not loaded & HEAVY, (argv, loaded & HEAVY)
        assert "textual" in loaded
