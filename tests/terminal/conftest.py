"""Fixtures of the real-terminal tests: a devnet answering from a scripted upstream, and launches.

One `og-chat devnet` process (session scope) forwards every call to a `ScriptedUpstream`
of ours, so answers are exactly the markdown below, paid, signed and settled like any
other; sessions settle after one idle second, so "pending → settled" happens within a
test. `launch()` starts the installed `og-chat` entry point in a pseudo-terminal with its
own OG_CHAT_HOME, pointed at that devnet unless a test asks for the embedded one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .scripted_upstream import ScriptedUpstream
from .terminal import Terminal

OG_CHAT = str(Path(sys.executable).with_name("og-chat"))
"""The installed entry point of the venv running the tests."""

FINAL = {
    "table": "END-TABLE: batch settles a Merkle root, so pick it unless each call must be on-chain.",
    "code": "END-CODE: call it with any list of integers and it returns their sum.",
    "list": "END-LIST: each of these is checked again when you press v on a receipt.",
    "quote": "END-QUOTE: that is the whole rule, and the gateway enforces it.",
    "long": "END-LONG: the last paragraph of a long answer, after a table, reaches the screen.",
}
"""The last paragraph of each scripted answer: the part issue 13 saw go missing."""

_TABLE = (
    "| Mode | On-chain | Privacy | Cost |\n"
    "| --- | --- | --- | --- |\n"
    "| private | nothing | full | lowest |\n"
    "| batch | a Merkle root | hashes only | low |\n"
    "| individual | every call | none | highest |\n"
)

ANSWERS = {
    "shape table": "Here is a comparison of the three settlement modes.\n\n"
    + _TABLE
    + "\n"
    + FINAL["table"],
    "shape code": "A function that adds numbers:\n\n"
    "```python\ndef total(values: list[int]) -> int:\n"
    "    return sum(values)\n\n\nprint(total([1, 2, 3]))\n```\n\n" + FINAL["code"],
    "shape list": "What a receipt proves:\n\n"
    "- the TEE signed the request and the answer\n"
    "- the payment moved the charged OPG\n"
    "  to the gateway's address\n"
    "- the batch root is on-chain\n\n" + FINAL["list"],
    "shape quote": "The gateway's rule:\n\n"
    "> Every paid call gets a receipt,\n> and every receipt can be checked.\n\n" + FINAL["quote"],
    "shape wide": "A long line of code:\n\n```python\nsettle = ["
    + ", ".join(f"receipt_{n:02d}" for n in range(14))
    + ", 'WIDE-END']\n```\n\nThe whole line is on screen.",
    "shape long": "\n\n".join(
        f"## Part {n}\n\nParagraph {n} explains one more detail of verifiable inference, "
        "long enough to wrap over more than one line of the conversation pane."
        for n in range(1, 9)
    )
    + "\n\n"
    + _TABLE
    + "\n"
    + FINAL["long"],
}
"""Prompt → answer. Each ends with a paragraph right after a different kind of block."""

DEFAULT_ANSWER = (
    "A short answer with a code block:\n\n```sh\nog-chat receipts list\n```\n\n"
    "That lists every receipt."
)

_GATEWAY = re.compile(r"gateway\s+(http://127\.0\.0\.1:\d+)")


def terminal_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's xterm: UTF-8, 256 colours, no key, a private OG_CHAT_HOME."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OG_", "TEXTUAL", "PYTEST")) and key not in ("COLUMNS", "LINES")
    }
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        OG_CHAT_HOME=str(home),
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def upstream() -> Iterator[ScriptedUpstream]:
    server = ScriptedUpstream(ANSWERS, DEFAULT_ANSWER).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def devnet_url(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A running `og-chat devnet` answering from the scripted upstream; sessions settle in 1 s."""
    home = tmp_path_factory.mktemp("devnet-home")
    process = subprocess.Popen(
        [OG_CHAT, "devnet", "--port", "0", "--upstream", upstream.url, "--session-idle", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=terminal_env(home),
    )
    assert process.stdout is not None
    url = ""
    deadline = time.monotonic() + 60
    seen: list[str] = []
    while not url and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = _GATEWAY.search(line)
        if match:
            url = match.group(1)
    if not url:
        process.kill()
        raise AssertionError("og-chat devnet did not start:\n" + "".join(seen))
    try:
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


Launch = Callable[..., Terminal]


@pytest.fixture
def launch(tmp_path: Path, devnet_url: str) -> Iterator[Launch]:
    """Start `og-chat` in a pty: `launch(size=(140, 40), embedded=False, config="", **env)`."""
    started: list[Terminal] = []

    def start(
        size: tuple[int, int] = (140, 40),
        *,
        embedded: bool = False,
        config: str = "",
        home: Path | None = None,
        **env: str,
    ) -> Terminal:
        home = home or tmp_path / f"home-{len(started)}"
        home.mkdir(parents=True, exist_ok=True)
        if config:
            (home / "config.toml").write_text(config, encoding="utf-8")
        if not embedded:
            env.setdefault("OG_DEVNET_URL", devnet_url)
        terminal = Terminal([OG_CHAT], size=size, env=terminal_env(home, **env))
        started.append(terminal)
        return terminal

    try:
        yield start
    finally:
        for terminal in started:
            terminal.close()
