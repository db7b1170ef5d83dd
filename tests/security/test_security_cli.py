"""What the CLI shows and keeps is safe: hostile model output is inert, a bad TEE
signature is loud and stays marked, and no key material lands anywhere."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from og_chat.devnet import Devnet
from og_chat.devnet.generation import Finish, GenerationRequest, Text
from og_chat.devnet.tee import TeeKeys
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.store.receipts import ReceiptStore
from tests.security.conftest import Result

HOSTILE = (
    "Hello \x1b[2J\x1b[H\x1b]0;pwned\x07 [bold red]markup[/bold red] [link=http://x]y[/link]"
    " \x9b31mC1\x1b[0m \u202eevil\u202c \rover\x00nul\x08 end"
)
CONTROLS = ["\x1b", "\x07", "\x9b", "\u202e", "\x00", "\x08", "\r"]


class HostileResponder:
    """A model whose answer is made of terminal escapes and Rich markup."""

    tokens_per_second = 0.0

    async def respond(self, req: GenerationRequest) -> AsyncIterator[Any]:
        for piece in (HOSTILE[:9], HOSTILE[9:40], HOSTILE[40:]):  # split inside escapes
            yield Text(piece)
        yield Finish("stop", 5, 12)


@pytest.fixture
def hostile_model(devnet: Devnet) -> Iterator[None]:
    previous = devnet.gateway.responder
    devnet.gateway.responder = HostileResponder()  # type: ignore[assignment]
    try:
        yield
    finally:
        devnet.gateway.responder = previous


@pytest.fixture
def impostor_tee(devnet: Devnet) -> Iterator[None]:
    """The gateway signs with a key the registry has never seen."""
    genuine = devnet.gateway.tee
    devnet.gateway.tee = TeeKeys.generate(("127.0.0.1",))
    try:
        yield
    finally:
        devnet.gateway.tee = genuine


def _assert_inert(text: str) -> None:
    for control in CONTROLS:
        assert control not in text, f"{control!r} reached the terminal"


def _prompt() -> str:
    return f"say something ({uuid.uuid4().hex[:8]})"


@pytest.mark.usefixtures("hostile_model")
@pytest.mark.parametrize("flags", [[], ["--no-stream"]], ids=["streamed", "no-stream"])
def test_escape_sequences_and_markup_in_the_answer_print_literally(
    og: Callable[..., Result], flags: list[str]
) -> None:
    result = og("ask", *flags, "-m", "gpt-4.1-mini", _prompt())
    assert result.code == 0, result.err
    _assert_inert(result.out)
    _assert_inert(result.err)
    assert "[bold red]markup[/bold red]" in result.out  # markup shown, not applied
    assert "[link=http://x]y[/link]" in result.out
    assert "␛[2J" in result.out and "pwned" in result.out  # visible stand-ins, nothing dropped
    (receipt,) = ReceiptStore().load()
    assert receipt.output_text == HOSTILE  # the receipt keeps the answer exactly as signed
    assert receipt.signature_status == "verified"


@pytest.mark.usefixtures("hostile_model")
def test_json_output_and_receipt_views_keep_the_text_but_not_the_escapes(
    og: Callable[..., Result],
) -> None:
    result = og("ask", "--json", "-m", "gpt-4.1-mini", _prompt())
    assert result.code == 0, result.err
    _assert_inert(result.out)
    assert result.json()["answer"] == HOSTILE  # a script still gets the exact text
    rid = result.json()["receipt"]["id"]
    for argv in (("receipts", "show", rid), ("receipts", "list")):
        shown = og(*argv)
        assert shown.code == 0
        _assert_inert(shown.out)
    shown = og("receipts", "show", "--json", rid)
    _assert_inert(shown.out)
    assert shown.json()["output_text"] == HOSTILE
    listed = og("receipts", "list", "--json")
    _assert_inert(listed.out)
    assert [r["output_text"] for r in listed.json()] == [HOSTILE]


@pytest.mark.usefixtures("impostor_tee")
def test_a_tee_signature_that_does_not_verify_is_loud_and_stays_marked(
    og: Callable[..., Result], tmp_path: Path
) -> None:
    result = og("ask", "-m", "gpt-4.1-mini", _prompt())
    assert result.code == 5, result.err
    assert "did not verify" in result.err and "do not trust this answer" in result.err
    (receipt,) = ReceiptStore().load()
    assert receipt.signature_status == "failed" and receipt.tee_ok is False
    listed = og("receipts", "list")
    assert "✗" in listed.out
    verified = og("receipts", "verify", receipt.id)
    assert verified.code == 5
    assert "✗ tee signature" in verified.out


def test_an_edited_receipt_fails_verification(og: Callable[..., Result], tmp_path: Path) -> None:
    result = og("ask", "--json", "-m", "gpt-4.1-mini", _prompt())
    assert result.code == 0, result.err
    doc = result.json()["receipt"]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps({**doc, "output_text": doc["output_text"] + " (edited)"}))
    verified = og("receipts", "verify", str(edited))
    assert verified.code == 5 and "✗ output hash" in verified.out
    forged = tmp_path / "forged.json"
    sig = doc["tee_signature"]
    forged.write_text(json.dumps({**doc, "tee_signature": sig[:-8] + "AAAAAAA="}))
    verified = og("receipts", "verify", str(forged))
    assert verified.code == 5 and "✗ tee signature" in verified.out


# -- key material ---------------------------------------------------------------------


def _forms(key: str) -> list[str]:
    bare = key.lower().removeprefix("0x")
    return [bare, bare.upper(), "0x" + bare]


def _assert_absent(blob: str | bytes, keys: list[str], where: str) -> None:
    text = blob.decode("latin-1") if isinstance(blob, bytes) else blob
    for key in keys:
        for form in _forms(key):
            assert form not in text, f"key material in {where}"


def test_no_key_material_anywhere_after_a_scripted_session(
    og: Callable[..., Result],
    devnet: Devnet,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    from og_chat.store import keystore
    from og_chat.store.paths import data_dir
    from og_chat.store.sessions import Message, Session, SessionStore

    caplog.set_level(logging.DEBUG)
    paying = "0x" + os.urandom(32).hex()
    imported = "0x" + os.urandom(32).hex()
    monkeypatch.setenv("OG_PRIVATE_KEY", paying)
    outputs: list[Result] = []

    def run(*argv: str) -> Result:
        result = og(*argv)
        outputs.append(result)
        return result

    first = run("ask", "--json", "-m", "gpt-4.1-mini", _prompt())
    assert first.code == 0, first.err
    rid = first.json()["receipt"]["id"]
    assert run("ask", "-m", "gpt-4.1-mini", _prompt()).code == 0
    devnet.faults.status_5xx = 503
    try:
        assert run("ask", "-m", "gpt-4.1-mini", _prompt()).code == 4
    finally:
        devnet.faults.status_5xx = None
    assert run("ask", "-m", "no-such-model", "hi").code == 2
    for argv in (
        ("receipts", "list"),
        ("receipts", "list", "--json"),
        ("receipts", "show", rid),
        ("receipts", "show", "--json", rid),
        ("receipts", "export"),
        ("receipts", "export", "--format", "csv"),
        ("receipts", "export", "--out", str(data_dir() / "export.json")),
        ("receipts", "sync", "--wait", "3"),
        ("receipts", "verify", rid),
        ("wallet", "address"),
        ("wallet", "balance"),
        ("config", "show"),
    ):
        run(*argv)

    monkeypatch.setattr(keystore, "SCRYPT_N", 2**10)  # the same code path, a cheaper KDF
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "correct horse battery staple")
    monkeypatch.setattr(sys, "stdin", io.StringIO(imported + "\n"))
    imported_run = run("wallet", "import")
    assert imported_run.code == 0, imported_run.err
    monkeypatch.delenv("OG_PRIVATE_KEY")
    address = run("wallet", "address")
    assert address.code == 0 and address.out.strip().lower().startswith("0x")

    store = SessionStore()
    session = Session.new("keys?", model="openai/gpt-4.1-mini")
    session.messages = [
        Message(role="user", content="hello"),
        Message(role="assistant", content=first.json()["answer"], receipt_id=rid),
    ]
    store.save(session)
    for fmt in ("md", "json"):
        assert run("sessions", "export", session.id, "--format", fmt).code == 0
    run("sessions", "list")

    keys = [paying, imported]
    home = Path(os.environ["OG_CHAT_HOME"])
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "receipts.jsonl" for p in files)
    for path in files:
        _assert_absent(path.read_bytes(), keys, str(path))
    for result in outputs:
        _assert_absent(result.out + result.err, keys, "CLI output")
    _assert_absent(caplog.text, keys, "the log")
    for record in caplog.records:
        _assert_absent(repr(record.args) + str(record.exc_text), keys, "a log record")


async def test_no_key_material_in_exceptions_or_reprs(devnet: Devnet) -> None:
    from og_chat.app.runtime import Runtime
    from og_chat.sdk import LLM
    from og_chat.sdk.errors import OGError

    key = "0x" + os.urandom(32).hex()
    llm = LLM(key, network="devnet", devnet_url=devnet.url, trusted_devnets=[devnet.url])
    caught: list[BaseException] = []
    messages = [{"role": "user", "content": _prompt()}]
    try:
        try:
            await llm.chat("openai/gpt-4.1-mini", messages)  # no allowance yet
        except OGError as exc:
            caught.append(exc)
        await llm.aensure_opg_approval(5)
        for fault in ({"status_5xx": 502}, {"drop_after_tokens": 2}, {"malformed_sse": True}):
            devnet.faults.update(fault)
            try:
                async for _ in await llm.chat("openai/gpt-4.1-mini", messages, stream=True):  # type: ignore[union-attr]
                    pass
            except OGError as exc:
                caught.append(exc)
            finally:
                devnet.faults.update(
                    {"status_5xx": None, "drop_after_tokens": None, "malformed_sse": False}
                )
        try:
            await llm.chat("openai/nope", messages)
        except OGError as exc:
            caught.append(exc)
        runtime = await Runtime.open(
            request=NetworkRequest("devnet", devnet.url, (devnet.url,)),
            private_key=key,
            confirm=_yes,
        )
        texts = [repr(llm), repr(vars(llm)), repr(runtime), repr(vars(runtime))]
        await runtime.close()
    finally:
        await llm.close()
    assert len(caught) == 5
    for exc in caught:
        texts += [str(exc), repr(exc), repr(vars(exc)), "".join(traceback.format_exception(exc))]
    for text in texts:
        _assert_absent(text, [key], "an exception or repr")


async def _yes(question: str) -> bool:
    """The user's answer to "approve with your key on this devnet?" (they opted in to it)."""
    return True
