"""Shell completion (issue 14 item 6): the bash script sourced in a real bash and asked.

`COMP_WORDS`/`COMP_CWORD` are set as bash sets them on Tab, the script's function
runs, and `COMPREPLY` is read back: commands, options, model ids, and the ids the
script fetches from `og-chat _complete` (sessions, receipts) at that moment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from og_chat.sdk.types import Receipt
from og_chat.store.receipts import ReceiptStore
from og_chat.store.sessions import Message, Session, SessionStore

BASH = shutil.which("bash")


@pytest.fixture
def script(og: Any, tmp_path: Path) -> Path:
    result = og("completion", "bash")
    assert result.code == 0, result.err
    path = tmp_path / "og-chat.bash"
    path.write_text(result.out)
    return path


def complete(script: Path, line: str) -> list[str]:
    """What Tab offers at the end of `line` (a trailing space: a new, empty word)."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    words_literal = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({words_literal})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE='{line}'\nCOMP_POINT={len(line)}\n"
        "_shtab_og_chat\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [str(BASH), "--norc", "--noprofile", "-c", program],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [w for w in done.stdout.splitlines() if w]


pytestmark = pytest.mark.skipif(BASH is None, reason="bash is not installed")


def test_a_command_completes(script: Path) -> None:
    assert complete(script, "og-chat as") == ["ask"]
    assert {"search", "serve", "sessions"} <= set(complete(script, "og-chat se"))
    assert "_complete" not in complete(script, "og-chat _")  # hidden


def test_an_option_completes(script: Path) -> None:
    assert complete(script, "og-chat ask --tem") == ["--temperature"]
    assert set(complete(script, "og-chat ask --p")) == {"--persona"}
    assert "--reindex" in complete(script, "og-chat search --")


def test_a_model_id_completes(script: Path) -> None:
    offered = complete(script, "og-chat ask -m anthropic/claude-son")
    assert "anthropic/claude-sonnet-4-6" in offered
    assert all(o.startswith("anthropic/claude-son") for o in offered)
    assert "gpt-image-2" in complete(script, "og-chat ask --model gpt-im")
    assert "openai/gpt-4.1-mini" in complete(
        script, "og-chat receipts list --model openai/gpt-4.1-m"
    )


def test_session_and_receipt_ids_complete_as_they_are_now(script: Path) -> None:
    session = Session.new()
    session.add(Message(role="user", content="hello"))
    SessionStore().save(session)
    assert complete(script, f"og-chat ask --session {session.id[:9]}") == [session.id]
    assert session.id in complete(script, "og-chat sessions export ")
    rid = "7e57" + "ab" * 14
    ReceiptStore().append(
        Receipt(id=rid, created_at=time.time(), model="openai/gpt-4.1-mini", provider="openai",
                network="devnet", endpoint="http://127.0.0.1", settlement_mode="batch")
    )  # fmt: skip
    assert complete(script, "og-chat receipts show 7e5") == [rid]
    assert rid in complete(script, "og-chat receipts verify ")


def test_the_hidden_command_prints_ids_one_per_line(og: Any) -> None:
    models = og("_complete", "models")
    assert models.code == 0
    lines = models.out.splitlines()
    assert "anthropic/claude-haiku-4-5" in lines and "claude-haiku-4-5" in lines
    assert og("_complete", "sessions").out == ""  # none yet, and no error
    assert og("_complete", "nonsense").code == 0


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_are_valid_for_their_shell(og: Any, shell: str) -> None:
    result = og("completion", shell)
    assert result.code == 0, result.err
    assert "og-chat _complete" in result.out  # the dynamic ids are wired in
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed (the script was still generated)")
    check = subprocess.run([binary, "-n"], input=result.out, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
