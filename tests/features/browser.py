"""Driving `og-chat serve` in Debian's headless chromium with playwright (never a download).

The page draws the terminal on a canvas (xterm.js), so its text is not in the DOM:
an init script keeps every byte the page's websocket receives, and `screen_text`
replays them through a VT100 emulator (pyte) at the terminal size the page asked
for — what the page shows, as text. Every request the page makes to anything but
the served port is aborted before it leaves the browser (the page links a web font),
and the resolver maps every other host to nothing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]  # fmt: skip
CAPTURE = """
(() => {
  const Native = window.WebSocket;
  const decoder = new TextDecoder();
  window.__ogText = "";
  window.__ogSize = null;
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    const size = /width=(\\d+)&height=(\\d+)/.exec(url);
    if (size) window.__ogSize = [Number(size[1]), Number(size[2])];
    ws.addEventListener("message", (e) => {
      if (e.data instanceof ArrayBuffer) window.__ogText += decoder.decode(e.data, {stream: true});
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(home: Path, *extra: str, timeout: float = 60) -> Iterator[str]:
    """`og-chat serve` in its own process on a free 127.0.0.1 port; its URL, until exit."""
    port = free_port()
    env = dict(os.environ, OG_CHAT_HOME=str(home))
    for var in ("OG_PRIVATE_KEY", "OG_NETWORK", "OG_DEVNET_URL"):
        env.pop(var, None)
    log = open(home / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "og_chat.cli", "serve", "--port", str(port), *extra],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"og-chat serve exited: {(home / 'serve.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def browser_page(profile: Path, allowed: str) -> Iterator[Any]:
    """A fresh headless chromium page that may only reach `allowed` (and its websocket)."""
    from playwright.sync_api import sync_playwright

    ws_allowed = allowed.replace("http://", "ws://")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS,
            viewport={"width": 1600, "height": 900},
        )  # fmt: skip
        try:

            def only_local(route: Any) -> None:
                url = route.request.url
                if url.startswith((allowed, ws_allowed)):
                    route.continue_()
                else:
                    route.abort()

            context.route("**/*", only_local)
            context.add_init_script(CAPTURE)
            yield context.new_page()
        finally:
            context.close()


def screen_text(page: Any) -> str:
    """What the page's terminal shows now, as lines of text."""
    import pyte

    text, size = page.evaluate("[window.__ogText, window.__ogSize]")
    cols, rows = size or (200, 60)
    screen = pyte.Screen(cols, rows)
    pyte.Stream(screen).feed(text)
    return "\n".join(line.rstrip() for line in screen.display)


def wait_for_text(page: Any, pattern: str, timeout: float) -> str:
    """Poll the page's screen until `pattern` (a regex) appears; the screen text."""
    deadline = time.monotonic() + timeout
    while True:
        shown = screen_text(page)
        if re.search(pattern, shown):
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} never appeared; the page shows:\n{shown}")
        time.sleep(0.25)
