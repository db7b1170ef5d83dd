"""The embedded devnet in a child process (sdk/devnet_process.py): started or not, it never
leaves a running devnet or an unsettled chain behind. Real child processes, real devnets,
real state directories."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from og_chat.app.runtime import Runtime
from og_chat.cli.main import may_embed_devnet
from og_chat.devnet import Devnet
from og_chat.sdk import embedded
from og_chat.sdk.devnet_process import DevnetProcess
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.store.paths import data_dir


def test_an_unstarted_child_is_stopped_at_once_not_left_running() -> None:
    process = DevnetProcess.spawn()  # loading the devnet, waiting for its options
    started = time.monotonic()
    process.stop()
    assert process.returncode is not None
    assert time.monotonic() - started < 10
    process.stop()  # twice: nothing more to do


def test_a_second_start_keeps_the_first_options(tmp_path: Path) -> None:
    process = DevnetProcess.spawn().start(tokens_per_second=0, state_dir=tmp_path / "first")
    try:
        process.start(tokens_per_second=0, state_dir=tmp_path / "second").wait()
    finally:
        process.stop()
    assert (tmp_path / "first" / "chain.sqlite").exists()
    assert not (tmp_path / "second").exists()


def test_a_started_child_serves_is_trusted_and_settles_its_kept_chain_on_stop(
    tmp_path: Path,
) -> None:
    state = tmp_path / "devnet"
    said: list[str] = []
    process = DevnetProcess.spawn().start(tokens_per_second=0, state_dir=state)
    try:
        process.wait(said.append)
        doc = httpx.get(process.url + "/devnet", timeout=10).json()
        assert doc["chain_id"] and embedded.started_here(process.url)
        assert any("chain" in line for line in said), said
    finally:
        process.stop()  # a failed wait() leaves no child running either
    assert process.returncode == 0
    assert not embedded.started_here(process.url)
    assert (state / "chain.sqlite").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(process.url + "/devnet", timeout=2)


def test_a_child_stopped_before_it_was_ready_is_killed_at_once_and_never_trusted(
    tmp_path: Path,
) -> None:
    process = DevnetProcess.spawn().start(tokens_per_second=0, state_dir=tmp_path / "devnet")
    started = time.monotonic()
    process.stop()  # a quit while it boots: nothing is open to settle
    assert process.returncode is not None and time.monotonic() - started < 10
    with pytest.raises(ConfigurationError):
        process.wait()


def test_a_module_where_the_user_runs_og_chat_cannot_stand_in_for_a_real_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    for name in ("random", "json", "web3"):  # imported by the child as it loads
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    monkeypatch.chdir(tmp_path)
    process = DevnetProcess.spawn().start(tokens_per_second=0, state_dir=tmp_path / "devnet")
    try:
        process.wait()
        assert embedded.started_here(process.url)
    finally:
        process.stop()
    assert not marker.exists(), marker.read_text()


def test_a_child_that_dies_after_it_was_ready_is_trusted_no_more(tmp_path: Path) -> None:
    process = DevnetProcess.spawn().start(tokens_per_second=0, state_dir=tmp_path / "devnet")
    try:
        process.wait()
        assert embedded.started_here(process.url)
        os.kill(process.pid, signal.SIGKILL)  # crashed, or killed: its port is free for anyone
        deadline = time.monotonic() + 10
        while process.returncode is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not embedded.started_here(process.url)
    finally:
        process.stop()


def test_a_child_that_cannot_start_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the state directory should be")
    process = DevnetProcess.spawn().start(state_dir=blocker / "devnet")
    try:
        with pytest.raises(ConfigurationError) as info:
            process.wait()
        assert "did not start" in str(info.value) and info.value.hint
        with pytest.raises(ConfigurationError):  # asked again: the same answer, no hang
            process.wait()
    finally:
        process.stop()


async def test_the_runtime_runs_its_embedded_devnet_in_a_spawned_child() -> None:
    process = DevnetProcess.spawn()  # as `og-chat` does, before it knows the network
    runtime = await Runtime.open(
        request=NetworkRequest("devnet"), tokens_per_second=0, devnet_process=process
    )
    try:
        assert runtime.devnet is process and runtime.devnet_url == process.url
        final = None
        async for chunk in runtime.stream_chat(
            "openai/gpt-4.1-mini", [{"role": "user", "content": "through the child"}],
            mode="batch", max_tokens=20,
        ):  # fmt: skip
            final = chunk
        assert final is not None and final.receipt is not None
        assert final.receipt.payment_hash and final.receipt.signature_status == "verified"
    finally:
        await runtime.close()  # stops the child: it settles its kept chain and exits
    assert process.returncode == 0
    assert (data_dir() / "devnet" / "chain.sqlite").exists()


async def test_the_runtime_stops_a_spawned_child_it_does_not_need() -> None:
    other = Devnet.start(tokens_per_second=0)  # the config or the flags name this one
    try:
        process = DevnetProcess.spawn()
        runtime = await Runtime.open(
            request=NetworkRequest("devnet", other.url), devnet_process=process
        )
        try:
            assert runtime.devnet is None and runtime.devnet_url == other.url
            assert process.returncode is not None  # stopped before it did anything
            assert not (data_dir() / "devnet").exists()
        finally:
            await runtime.close()
    finally:
        other.stop()


PARENT = """
import json, os, sys
from pathlib import Path
from og_chat.sdk.devnet_process import DevnetProcess
process = DevnetProcess.spawn().start(tokens_per_second=0, state_dir=Path(sys.argv[1]))
process.wait()
print(json.dumps({"pid": process.pid, "url": process.url}), flush=True)
os._exit(0)  # dies without stopping it: as if killed
"""


def test_a_child_whose_parent_dies_settles_and_exits(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PARENT, str(tmp_path / "devnet")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    child = json.loads(out.stdout.strip().splitlines()[-1])
    deadline = time.monotonic() + 60
    while Path(f"/proc/{child['pid']}").exists():
        status = Path(f"/proc/{child['pid']}/stat").read_text().split()[2]
        if status == "Z":  # exited; its parent (gone) never reaped it
            break
        assert time.monotonic() < deadline, "the orphaned devnet is still running"
        time.sleep(0.1)
    with pytest.raises(httpx.TransportError):
        httpx.get(child["url"] + "/devnet", timeout=2)


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        ([], {}, True),
        (["chat", "--model", "claude-haiku-4-5"], {}, True),
        (["--mode", "private"], {}, True),  # an option's value is not a command word
        (["-m", "gpt-4.1-mini", "chat"], {}, True),
        (["--network", "devnet"], {}, True),
        (["--network=devnet"], {"OG_PRIVATE_KEY": "0x" + "11" * 32}, True),  # named: devnet
        (["ask", "hello"], {}, False),
        (["receipts"], {}, False),
        (["chat", "--devnet-url", "http://127.0.0.1:8402"], {}, False),
        (["--devnet-url=http://127.0.0.1:8402"], {}, False),
        (["--network", "mainnet"], {}, False),
        ([], {"OG_NETWORK": "mainnet"}, False),
        ([], {"OG_PRIVATE_KEY": "0x" + "11" * 32}, False),  # a wallet: mainnet
        ([], {"OG_DEVNET_URL": "http://127.0.0.1:8402"}, False),
        (["--help"], {}, False),
        (["chat", "-h"], {}, False),
        (["--version"], {}, False),
    ],
)
def test_the_cli_spawns_the_devnet_early_only_where_it_may_be_embedded(
    argv: list[str], environ: dict[str, str], expected: bool
) -> None:
    assert may_embed_devnet(argv, environ) is expected
