"""The system clipboard where OSC 52 does not reach it: wl-copy, xclip, xsel or pbcopy.

OSC 52 asks the terminal to set the clipboard; many terminals (and tmux without
`set-clipboard on`) ignore it silently. When a local clipboard tool exists for the
session the user is in, og-chat also pipes the text to it, and says which one it used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

TOOL_TIMEOUT = 3.0
"""Seconds a clipboard tool may take before it is given up on."""


@dataclass(frozen=True, slots=True)
class ClipboardTool:
    """A command that reads text on stdin and puts it on the clipboard."""

    name: str
    argv: tuple[str, ...]
    needs: str | None = None
    """The environment variable of the display it talks to (None: no display needed)."""
    platform: str | None = None
    """The only `sys.platform` it exists on (None: any)."""


TOOLS = (
    ClipboardTool("wl-copy", ("wl-copy",), "WAYLAND_DISPLAY"),
    ClipboardTool("xclip", ("xclip", "-selection", "clipboard"), "DISPLAY"),
    ClipboardTool("xsel", ("xsel", "--clipboard", "--input"), "DISPLAY"),
    ClipboardTool("pbcopy", ("pbcopy",), platform="darwin"),
)
"""In order of preference; the first one installed whose display is there is used."""


def find_tool(
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> ClipboardTool | None:
    """The clipboard tool this session can use, if any."""
    env = os.environ if environ is None else environ
    for tool in TOOLS:
        if tool.platform is not None and tool.platform != sys.platform:
            continue
        if (tool.needs is None or env.get(tool.needs)) and which(tool.argv[0]):
            return tool
    return None


def copy_with_tool(text: str, tool: ClipboardTool) -> bool:
    """Pipe `text` to the tool; True if it took it (exit status 0 within the timeout).

    stdout and stderr go nowhere: xclip and xsel fork to keep serving the selection,
    and a captured pipe would keep this call waiting for that child.
    """
    try:
        done = subprocess.run(
            tool.argv,
            input=text.encode(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=TOOL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
