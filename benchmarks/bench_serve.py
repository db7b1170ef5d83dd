"""Benchmark `og-chat serve` in a real browser against the target of issue 14 (item 7).

- first frame in the browser ≤ 2 s: from the page request to the first terminal bytes
  painted (textual-serve's `-first-byte`), median of 3 fresh pages; anchor: a bare
  Textual app served by textual-serve the same way, in the same run

Debian's headless chromium, driven by playwright (tests/features/browser.py); each
page load starts its own app process, as it does for a user.
Run: ``python benchmarks/bench_serve.py``.
"""

from __future__ import annotations

import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks._common import Row, print_rows, row
from tests.features.browser import CHROMIUM, browser_page, free_port, serving, wait_for_text

BARE_APP = "from textual.app import App\nfrom textual.widgets import Static\n" + (
    "class Bare(App):\n    def compose(self):\n        yield Static('bare app')\nBare().run()\n"
)


def first_frames(url: str, profile_root: Path, pages: int, ready: str) -> tuple[float, float]:
    """(median seconds to the first painted bytes, median to `ready` on the screen)."""
    firsts, readies = [], []
    for n in range(pages):
        with browser_page(profile_root / f"p{n}", url) as page:
            t0 = time.perf_counter()
            page.goto(url + "/")
            page.wait_for_selector("body.-first-byte", timeout=60_000)
            firsts.append(time.perf_counter() - t0)
            wait_for_text(page, ready, timeout=60)
            readies.append(time.perf_counter() - t0)
    return statistics.median(firsts), statistics.median(readies)


def serve_bare(port: int) -> subprocess.Popen[bytes]:
    command = shlex.join([sys.executable, "-c", BARE_APP])
    server = f"from textual_serve.server import Server\nServer({command!r}, host='127.0.0.1', port={port}).serve()"
    return subprocess.Popen(
        [sys.executable, "-c", server], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def run(pages: int = 5) -> list[Row]:
    if not CHROMIUM.exists():
        return [row("og-chat serve first frame", 0.0, "s", "≤ 2 s", "no /usr/bin/chromium", False)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        port = free_port()
        bare = serve_bare(port)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_port(port)
            bare_first, _ = first_frames(url, root / "bare", pages, r"bare app")
        finally:
            bare.terminate()
            bare.wait(timeout=30)
        home = root / "home"
        home.mkdir()
        with serving(home) as url:
            first, ready = first_frames(url, root / "og", pages, r"Ask anything")
    return [
        row(
            f"og-chat serve: page request → first frame in headless chromium (median of {pages})",
            first, "s", "≤ 2 s",
            f"bare Textual app through textual-serve {bare_first:.2f} s (ratio "
            f"{first / bare_first:.2f}); og-chat's prompt on the page {ready:.2f} s",
            first <= 2.0,
        )
    ]  # fmt: skip


def wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    print_rows(run())


if __name__ == "__main__":
    main()
