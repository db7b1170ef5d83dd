"""Clipboard where OSC 52 does not reach (issue 13, item 6): a local tool too, and the toast says so.

The clipboard tools are third-party programs; a test stands one in with a real executable
named `xclip` on PATH that writes what it reads to a file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from og_chat.tui.app import OGChatApp
from og_chat.tui.clipboard import TOOLS, copy_with_tool, find_tool

from .conftest import wait_until


def _fake_tool(directory: Path, name: str, out: Path, status: int = 0) -> None:
    script = directory / name
    script.write_text(f'#!/bin/sh\ncat > "{out}"\nexit {status}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_the_tool_follows_the_session_display(tmp_path: Path) -> None:
    installed = {"wl-copy", "xclip", "xsel"}

    def which(name: str) -> str | None:
        return f"/usr/bin/{name}" if name in installed else None

    assert find_tool({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, which) == TOOLS[0]
    assert find_tool({"DISPLAY": ":0"}, which) == TOOLS[1]
    installed.discard("xclip")
    assert find_tool({"DISPLAY": ":0"}, which) == TOOLS[2]
    assert find_tool({}, which) is None  # no display: OSC 52 only


def test_a_failing_tool_reports_failure(tmp_path: Path) -> None:
    _fake_tool(tmp_path, "xclip", tmp_path / "out.txt", status=1)
    tool = TOOLS[1]
    assert not copy_with_tool("x", type(tool)(tool.name, (str(tmp_path / "xclip"),)))


async def test_copy_uses_osc52_and_the_local_tool_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "clipboard.txt"
    _fake_tool(tmp_path, "xclip", out)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = OGChatApp(start_backend=False)
    async with app.run_test(size=(120, 30)) as pilot:
        app.copy_text("the answer ✓", what="the last answer")
        await wait_until(pilot, lambda: out.exists() and out.read_text() != "", what="xclip")
        assert out.read_text() == "the answer ✓"
        await wait_until(
            pilot,
            lambda: any("xclip" in str(n.title) for n in app._notifications),
            what="the toast naming xclip",
        )
        assert app.clipboard == "the answer ✓"  # OSC 52 was sent as well
