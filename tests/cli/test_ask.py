"""`og-chat ask` end to end against the devnet: output, receipts, exit codes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from og_chat.cli import EXIT_GATEWAY, EXIT_PAYMENT, EXIT_USAGE
from og_chat.devnet import Devnet
from og_chat.store.config import Config, save_config
from tests.cli.helpers import ask_json, unique_prompt


def test_version_prints_the_package_version(og: Any) -> None:
    result = og("--version")
    assert result.code == 0
    assert result.out.startswith("og-chat ")


def test_json_answer_carries_the_receipt_and_its_payment_hash(og: Any) -> None:
    doc = ask_json(og)
    assert set(doc) >= {"answer", "model", "usage", "receipt"}
    assert doc["model"] == "openai/gpt-4.1-mini"
    assert doc["answer"]
    assert doc["usage"]["completion_tokens"] > 0
    receipt = doc["receipt"]
    assert receipt["payment_hash"].startswith("0x")
    assert receipt["signature_status"] == "verified"
    assert receipt["output_text"] == doc["answer"]


def test_prompt_is_read_from_stdin_and_streamed_as_plain_text(
    og: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO(unique_prompt("summarise *this* [bold]text[/bold]"))
    )
    result = og("ask", "-m", "GPT_4_1_MINI", "-s", "be brief", "--max-tokens", "40", "-")
    assert result.code == 0, result.err
    assert result.out.strip()
    assert "\x1b[" not in result.out  # not a terminal: no colour codes
    summary = result.err.strip().splitlines()[-1]
    for part in (
        "openai/gpt-4.1-mini",
        "tokens",
        "OPG",
        "batch",
        "TEE ✓",
        "payment 0x",
        "(pending)",
    ):
        assert part in summary


def test_no_stream_prints_the_same_answer_once(og: Any) -> None:
    result = og("ask", "--no-stream", "--mode", "private", "-m", "claude-haiku-4-5", "hi")
    assert result.code == 0, result.err
    assert result.out.endswith("\n") and result.out.strip()
    assert "private" in result.err


def test_a_model_is_named_by_full_id_bare_name_or_enum_name(og: Any) -> None:
    for name in ("anthropic/claude-sonnet-4-6", "claude-sonnet-4-6", "CLAUDE_SONNET_4_6"):
        result = og("ask", "--json", "--max-tokens", "10", "-m", name, "--mode", "private", "hi")
        assert result.code == 0, result.err
        assert result.json()["model"] == "anthropic/claude-sonnet-4-6"


def test_unknown_model_is_a_usage_error(og: Any) -> None:
    result = og("ask", "-m", "no-such-model", "hi")
    assert result.code == EXIT_USAGE
    assert "unknown model" in result.err
    assert "Traceback" not in result.err


def test_bad_flag_and_missing_prompt_are_usage_errors(
    og: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert og("ask", "--max-tokens", "zero", "hi").code == EXIT_USAGE
    monkeypatch.setattr(sys, "stdin", io.StringIO("   "))
    result = og("ask", "-")
    assert result.code == EXIT_USAGE
    assert "empty" in result.err


def test_payment_above_the_configured_cap_is_refused_unsigned(
    og: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OG_MAX_OPG_PER_CALL", "0.001")  # the devnet asks for 0.1 OPG
    result = og("ask", "hi")
    assert result.code == EXIT_PAYMENT
    assert "payment refused" in result.err
    assert "Traceback" not in result.err


def test_gateway_failure_exits_4(og: Any, devnet: Devnet) -> None:
    devnet.faults.update({"status_5xx": 503})
    result = og("ask", "hi")
    assert result.code == EXIT_GATEWAY
    assert "503" in result.err


def test_unreachable_devnet_is_reported_in_one_line(
    og: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OG_DEVNET_URL", "http://127.0.0.1:9")
    result = og("ask", "hi")
    assert result.code in (EXIT_USAGE, EXIT_GATEWAY)
    assert "Traceback" not in result.err
    assert result.err.startswith("og-chat: ")


def test_console_script_runs_version_and_ask(devnet: Devnet, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("og-chat")
    if not script.exists():
        pytest.skip("the og-chat console script is not installed in this environment")
    env = {**os.environ, "OG_CHAT_HOME": str(tmp_path), "OG_DEVNET_URL": devnet.url}
    env.pop("OG_PRIVATE_KEY", None)
    version = subprocess.run(
        [script, "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("og-chat ")
    ask = subprocess.run(
        [script, "ask", "--max-tokens", "20", "-m", "gpt-4.1-mini", "-"],
        input=unique_prompt("smoke"),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert ask.returncode == 0, ask.stderr
    assert ask.stdout.strip()
    assert "receipt " in ask.stderr and "TEE ✓" in ask.stderr


def test_options_before_the_subcommand_are_kept(
    og: Any, devnet: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OG_DEVNET_URL")  # only the flag names the devnet
    result = og("--devnet-url", devnet.url, "-m", "gpt-5", "ask", "--json", "hi")
    assert result.code == 0, result.err
    receipt = result.json()["receipt"]
    assert receipt["endpoint"].startswith(devnet.url) and receipt["model"] == "openai/gpt-5"


def test_max_tokens_comes_from_the_config_unless_the_flag_is_given(og: Any) -> None:
    save_config(Config(max_tokens=3))
    capped = og("ask", "--json", "-m", "gpt-4.1-mini", unique_prompt("a long answer please"))
    assert capped.code == 0, capped.err
    receipt = capped.json()["receipt"]
    assert receipt["completion_tokens"] == 3 and receipt["finish_reason"] == "length"
    flagged = og(
        "ask", "--json", "--max-tokens", "5", "-m", "gpt-4.1-mini", unique_prompt("and again")
    )
    assert flagged.code == 0, flagged.err
    assert flagged.json()["receipt"]["completion_tokens"] == 5
