"""`og-chat devnet` as a real subprocess: started on an ephemeral port, stopped by the test."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BANNER_GATEWAY = re.compile(r"^\s*gateway\s+(https?://\S+)\s*$")
START_TIMEOUT = 60.0


def og_chat_command() -> list[str]:
    """The installed `og-chat` console script of this venv (the worktree's code)."""
    script = Path(sys.executable).with_name("og-chat")
    return [str(script)] if script.exists() else [sys.executable, "-m", "og_chat.cli"]


@contextmanager
def devnet_process(*args: str, home: Path) -> Iterator[tuple[str, list[str]]]:
    """Start `og-chat devnet --port 0 ARGS…`; yield (gateway URL, banner lines); stop it."""
    env = {**os.environ, "OG_CHAT_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*og_chat_command(), "devnet", "--port", "0", "--tokens-per-second", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    banner: list[str] = []
    url = ""
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not url:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"og-chat devnet did not start: {banner}") from None
            banner.append(line)
            found = BANNER_GATEWAY.match(line)
            if found:
                url = found.group(1)
        while True:  # the rest of the banner (ends with the Ctrl-C line)
            line = lines.get(timeout=10)
            banner.append(line)
            if "Ctrl-C" in line:
                break
        yield url, banner
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
