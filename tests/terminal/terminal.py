"""A real terminal for tests: `og-chat` in a pseudo-terminal, its output fed to a VT emulator.

Snapshot and Pilot tests read Textual's own idea of the screen (`export_screenshot`
re-renders every cell). A terminal only ever receives the bytes Textual decided to send —
diffs of the previous frame — so a widget the compositor thinks it painted but never sent
is invisible to those tests and visible to a user. Here the entry point runs in a pty
(`ptyprocess`) of a given size, every byte it writes goes into `pyte` (a VT100/xterm
emulator), and tests assert on the emulated screen: what a user would read.

Input is sent as the bytes a terminal sends (`KEYS`: xterm and tmux encodings), never as
Textual key names. Waiting is always for a screen condition with a deadline.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyte
from ptyprocess import PtyProcess

KEYS: dict[str, bytes] = {
    "enter": b"\r",
    "escape": b"\x1b",
    "tab": b"\t",
    "backspace": b"\x7f",
    "f1": b"\x1bOP",  # xterm and tmux: SS3 P … S for F1–F4
    "f2": b"\x1bOQ",
    "f3": b"\x1bOR",
    "f4": b"\x1bOS",
    "f5": b"\x1b[15~",
    "f9": b"\x1b[20~",
    "shift+f3": b"\x1b[1;2R",  # xterm and tmux: CSI 1;2 R (the same bytes as a cursor report)
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "ctrl+b": b"\x02",
    "ctrl+n": b"\x0e",
    "ctrl+o": b"\x0f",
    "ctrl+q": b"\x11",
    "ctrl+r": b"\x12",
    "ctrl+t": b"\x14",
}
"""Key → the bytes xterm (and tmux) send for it; `alt()` makes the ESC-prefixed alt keys."""

ANSWER_TIMEOUT = 30.0
"""Seconds a screen condition may take (a slow CI machine, an embedded devnet booting)."""


def alt(character: str) -> bytes:
    """alt+<character> as xterm sends it with `metaSendsEscape` (tmux's default): ESC, then it."""
    return b"\x1b" + character.encode()


@dataclass(frozen=True)
class Box:
    """A rounded box on screen (`╭─ title ─╮`): its columns, rows and title."""

    left: int
    right: int
    top: int
    bottom: int
    title: str

    @property
    def inner_width(self) -> int:
        """Columns between the two vertical borders."""
        return self.right - self.left - 1


_TITLE = re.compile(r"╭─ ?(.*?) ?─*╮$")


class Terminal:
    """One program in a pty, emulated by pyte; the screen is read under a lock."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        size: tuple[int, int] = (140, 40),
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        columns, rows = size
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self.raw = bytearray()
        """Every byte the program wrote, for sequences pyte does not keep (OSC 52)."""
        self.spawned_at = time.monotonic()
        self.process = PtyProcess.spawn(
            list(argv), env=dict(env or os.environ), dimensions=(rows, columns), cwd=cwd
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.process.read(65536)
            except (EOFError, OSError):
                return
            with self._lock:
                self.raw += data
                self._stream.feed(data)

    # -- input ---------------------------------------------------------------------

    def send(self, data: bytes | str) -> None:
        """Write bytes to the program as typed (a str is sent as UTF-8)."""
        self.process.write(data.encode() if isinstance(data, str) else data)

    def press(self, *keys: str) -> None:
        """Send each key of `KEYS` by name, one write per key."""
        for key in keys:
            self.send(KEYS[key])
            time.sleep(0.05)  # pacing between keys, like fingers; never an assertion

    def resize(self, columns: int, rows: int) -> None:
        """Change the terminal size, as a window resize does (SIGWINCH)."""
        with self._lock:
            self.screen.resize(rows, columns)
        self.process.setwinsize(rows, columns)

    # -- reading the screen --------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.columns, self.screen.lines

    def lines(self) -> list[str]:
        """The screen as text, one string per row (wide characters take one string slot)."""
        with self._lock:
            return list(self.screen.display)

    def text(self) -> str:
        return "\n".join(self.lines())

    def raw_text(self) -> str:
        with self._lock:
            return self.raw.decode("utf-8", "replace")

    def boxes(self) -> list[Box]:
        """Every rounded box whose top border is on screen, left to right, top to bottom."""
        lines = self.lines()
        found: list[Box] = []
        for top, line in enumerate(lines):
            for start in (m.start() for m in re.finditer("╭", line)):
                end = line.find("╮", start)
                if end < 0:
                    continue
                bottom = next(
                    (y for y in range(top + 1, len(lines)) if lines[y][start : start + 1] == "╰"),
                    len(lines) - 1,
                )
                match = _TITLE.match(line[start : end + 1])
                found.append(Box(start, end, top, bottom, match.group(1) if match else ""))
        return found

    def box(self, predicate: Callable[[Box], bool]) -> Box | None:
        return next((b for b in self.boxes() if predicate(b)), None)

    def inside(self, box: Box) -> list[str]:
        """The rows between a box's borders, without the border columns."""
        lines = self.lines()
        return [lines[y][box.left + 1 : box.right] for y in range(box.top + 1, box.bottom)]

    def wait_for(
        self, condition: Callable[[], object], what: str, timeout: float = ANSWER_TIMEOUT
    ) -> object:
        """Poll the screen until `condition()` is truthy; fail naming `what` and the screen."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if not self.process.isalive():
                raise AssertionError(f"og-chat exited while waiting for {what}:\n{self.text()}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}:\n{self.text()}"
                )
            time.sleep(0.05)

    def wait_for_text(self, needle: str, timeout: float = ANSWER_TIMEOUT) -> None:
        self.wait_for(lambda: needle in self.text(), repr(needle), timeout)

    def wait_until_stable(self, quiet: float = 0.6, timeout: float = ANSWER_TIMEOUT) -> None:
        """Wait until the screen's text has not changed for `quiet` seconds.

        Text, not bytes: a blinking cursor rewrites its cell twice a second forever.
        """
        deadline = time.monotonic() + timeout
        last: list[str] = []
        since = time.monotonic()
        while time.monotonic() < deadline:
            shown = self.lines()
            if shown != last:
                last, since = shown, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)
        raise AssertionError(f"the screen never settled:\n{self.text()}")

    # -- ending --------------------------------------------------------------------

    def close(self) -> None:
        """Quit like a user (ctrl+q), then make sure the process is gone."""
        if self.process.isalive():
            with contextlib.suppress(OSError):
                self.send(KEYS["ctrl+q"])
            deadline = time.monotonic() + 10
            while self.process.isalive() and time.monotonic() < deadline:
                time.sleep(0.05)
        if self.process.isalive():
            self.process.kill(signal.SIGKILL)
        self.process.close(force=True)
        self._reader.join(timeout=2)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
