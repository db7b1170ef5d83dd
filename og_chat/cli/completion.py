"""`og-chat completion bash|zsh|fish`: a completion script made from the parser itself.

shtab walks the argparse parser, so commands and options never drift from the real
ones. Model ids, session ids and receipt ids are dynamic: the script asks
`og-chat _complete models|sessions|receipts` (`complete.py`) when they are wanted.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from .complete import COMMAND
from .output import EXIT_OK, out

SHELLS = ("bash", "zsh", "fish")

_PREAMBLE = {
    "bash": """
_og_chat_ids() { compgen -W "$(og-chat %(cmd)s "$1" 2>/dev/null)" -- "$2"; }
_og_chat_models() { _og_chat_ids models "$1"; }
_og_chat_sessions() { _og_chat_ids sessions "$1"; }
_og_chat_receipts() { _og_chat_ids receipts "$1"; }
""",
    "zsh": """
_og_chat_ids() { local -a ids; ids=(${(f)"$(og-chat %(cmd)s $1 2>/dev/null)"}); compadd -a ids; }
_og_chat_models() { _og_chat_ids models; }
_og_chat_sessions() { _og_chat_ids sessions; }
_og_chat_receipts() { _og_chat_ids receipts; }
""",
    "fish": "",
}
_ACTIONS = {
    "bash": {k: f"_og_chat_{k}" for k in ("models", "sessions", "receipts")},
    "zsh": {k: f"_og_chat_{k}" for k in ("models", "sessions", "receipts")},
    "fish": {k: f"(og-chat {COMMAND} {k})" for k in ("models", "sessions", "receipts")},
}


def _actions(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.Action]]:
    """Every argument of `parser` and its subcommands, with the command path it belongs to."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, (*path, name))
        else:
            yield path, action


def _kind(path: tuple[str, ...], dest: str) -> str | None:
    """What ids an argument takes: models, sessions or receipts (None: nothing dynamic)."""
    if dest == "model":
        return "models"
    if dest == "session" or (path == ("sessions", "export") and dest == "id"):
        return "sessions"
    if path[:1] == ("receipts",) and dest in ("id", "ids", "target"):
        return "receipts"
    return None


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell`, with the dynamic id completers attached."""
    import shtab

    for path, action in _actions(parser):
        kind = _kind(path, action.dest)
        if kind is not None:
            action.complete = {s: _ACTIONS[s][kind] for s in SHELLS}  # type: ignore[attr-defined]
        elif action.dest in ("out", "output"):
            action.complete = shtab.FILE  # type: ignore[attr-defined]
    preamble = _PREAMBLE[shell] % {"cmd": COMMAND} if _PREAMBLE[shell] else ""
    script: str = shtab.complete(parser, shell=shell, preamble=preamble)
    return script


def cmd_completion(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Print the script; `eval "$(og-chat completion bash)"` in ~/.bashrc loads it."""
    out(completion_script(parser, args.shell).rstrip("\n"))
    return EXIT_OK
