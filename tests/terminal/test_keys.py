"""Every binding works from the prompt, with the bytes xterm and tmux send (issue 13, item 2)."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

from .conftest import ANSWERS, Launch
from .screen import conversation_box, prompt_text, saved_answers
from .terminal import Terminal, alt

REMAP = '[keymap]\n"chat.toggle_tools" = "alt+o"\n'
"""A binding remapped in the config must behave like a default one."""


def _title(terminal: Terminal) -> str:
    box = conversation_box(terminal)
    return box.title if box else ""


def _osc52_payloads(terminal: Terminal) -> list[str]:
    """What the app put on the terminal clipboard (OSC 52), decoded."""
    found = re.findall(r"\x1b\]52;c;([A-Za-z0-9+/=]*)(?:\x07|\x1b\\\\)", terminal.raw_text())
    return [base64.b64decode(payload).decode() for payload in found]


def test_alt_keys_and_function_keys_from_the_prompt(launch: Launch, tmp_path: Path) -> None:
    home = tmp_path / "keys"
    with launch((140, 40), home=home, config=REMAP) as terminal:
        terminal.wait_for_text("● ready")
        terminal.send("shape code")
        terminal.press("enter")
        terminal.wait_for(lambda: saved_answers(home), "the answer saved")
        terminal.wait_until_stable()

        terminal.send("draft")
        terminal.wait_for(lambda: prompt_text(terminal) == "draft", "the draft in the prompt")

        terminal.send(alt("c"))  # copy the answer
        terminal.wait_for_text("Copied")
        assert ANSWERS["shape code"] in _osc52_payloads(terminal)

        terminal.send(alt("k"))  # pick a code block
        terminal.wait_for_text("Code blocks")
        terminal.press("escape")
        terminal.wait_for(lambda: "Code blocks" not in terminal.text(), "the picker closed")

        terminal.send(alt("s"))  # save the answer
        terminal.wait_for_text("Saved to")
        exports = list((home / "data" / "exports").glob("answer-*.md"))
        assert [p.read_text() for p in exports] == [ANSWERS["shape code"]]

        terminal.send(alt("o"))  # tools, remapped from alt+t in the config
        terminal.wait_for_text("built-in tools off")

        terminal.wait_until_stable()
        assert prompt_text(terminal) == "draft", terminal.text()

        first = _title(terminal)
        assert "Claude Haiku 4.5" in first
        terminal.press("f3")  # SS3 R
        terminal.wait_for(lambda: _title(terminal) and _title(terminal) != first, "f3 to move on")
        terminal.press("shift+f3")  # CSI 1;2R, as tmux sends it
        terminal.wait_for(lambda: _title(terminal) == first, "shift+f3 to come back")
        assert prompt_text(terminal) == "draft", terminal.text()


def test_a_prompt_typed_while_the_embedded_devnet_boots_is_sent_when_it_is_ready(
    launch: Launch, tmp_path: Path
) -> None:
    home = tmp_path / "embedded"
    with launch((100, 30), home=home, embedded=True, OG_DEVNET_TOKENS_PER_SECOND="0") as terminal:
        terminal.wait_for_text("Ask anything")  # the first frame: typing works from here,
        terminal.send("hello")  # while the devnet is still starting
        terminal.press("enter")
        terminal.wait_for(lambda: saved_answers(home), "the answer from the embedded devnet")
        terminal.wait_for_text("TTFT")
        assert "● ready" in terminal.lines()[0]
        # The devnet ran in a child process the command spawned at its start, beside the UI.
        children = devnet_children(terminal.process.pid)
        assert len(children) == 1, children
        # ctrl+q: og-chat stops the child (it settles its kept chain) and exits by itself.
        terminal.press("ctrl+q")
        deadline = time.monotonic() + 60
        while terminal.process.isalive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not terminal.process.isalive(), "og-chat did not quit"
        assert terminal.process.wait() == 0
    assert not running(children[0])
    assert (home / "data" / "devnet" / "chain.sqlite").exists()


def devnet_children(parent: int) -> list[int]:
    """Processes running `og_chat.sdk.devnet_process` whose parent is `parent` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and running(int(entry.name)):
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile (another test's child)
            if int(stat[1]) == parent:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a live (not exited) `og_chat.sdk.devnet_process`."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False  # gone
    return b"og_chat.sdk.devnet_process" in command and state != "Z"
