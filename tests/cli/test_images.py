"""Image models end to end (issue 14 item 5): the devnet draws a PNG, paid, signed, receipted.

The TEE's output hash of an image answer covers its text and every image data URI
(`og_chat.sdk.tee.output_text`), so the receipt can be re-checked like any other.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from og_chat.cli import EXIT_OK, EXIT_USAGE
from og_chat.devnet.drawing import SIZE
from og_chat.sdk.eth import keccak
from og_chat.store.receipts import ReceiptStore
from og_chat.store.sessions import SessionStore
from tests.cli.helpers import unique_prompt

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(data: bytes) -> Image.Image:
    assert data.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    assert image.size == SIZE
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 20  # shapes and text, not a flat fill
    return image


@pytest.mark.parametrize("stream", [True, False])
def test_ask_writes_the_png_an_image_model_draws(og: Any, tmp_path: Path, stream: bool) -> None:
    target = tmp_path / "fox.png"
    prompt = unique_prompt("a red fox in the snow")
    flags = [] if stream else ["--no-stream"]
    result = og("ask", "--json", "-m", "gpt-image-2", "-o", str(target), *flags, prompt)
    assert result.code == EXIT_OK, result.err
    doc = result.json()
    _check_png(target.read_bytes())
    assert doc["image_files"] == [str(target)]
    (uri,) = doc["images"]
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == target.read_bytes()
    receipt = doc["receipt"]
    assert receipt["signature_status"] == "verified"
    assert receipt["payment_hash"].startswith("0x")
    assert receipt["completion_tokens"] > 0
    signed = json.loads(receipt["output_text"])  # what the TEE signed: the text and the images
    assert signed == {"content": doc["answer"], "images": [uri]}
    assert keccak(receipt["output_text"].encode()).hex() == receipt["output_hash"]
    session = SessionStore().load(doc["session_id"])
    assert session.messages[-1].images == [uri]


def test_the_same_prompt_draws_the_same_picture_and_another_prompt_another(og: Any) -> None:
    def draw(prompt: str) -> str:
        result = og("ask", "--json", "-m", "grok-2-image", "--no-save", prompt)
        assert result.code == 0, result.err
        images: list[str] = result.json()["images"]
        return images[0]

    assert draw("a lighthouse") == draw("a lighthouse")
    assert draw("a lighthouse") != draw("a windmill")


def test_the_image_receipt_verifies(og: Any, tmp_path: Path) -> None:
    result = og("ask", "--json", "-m", "seedream-4.0", "--mode", "private", unique_prompt("a cat"))
    assert result.code == 0, result.err
    rid = result.json()["receipt"]["id"]
    verify = og("receipts", "verify", rid, "--json")
    checks = {c["name"]: c["ok"] for c in verify.json()["checks"]}
    assert checks["output hash"] and checks["tee signature"]


def test_an_existing_file_is_not_replaced_and_nothing_is_paid(og: Any, tmp_path: Path) -> None:
    target = tmp_path / "keep.png"
    target.write_bytes(b"mine")
    before = len(ReceiptStore().load())
    result = og("ask", "-m", "gpt-image-2", "-o", str(target), "a boat")
    assert result.code == EXIT_USAGE
    assert "already exists" in result.err and "--force" in result.err
    assert target.read_bytes() == b"mine"
    assert len(ReceiptStore().load()) == before
    forced = og("ask", "-m", "gpt-image-2", "-o", str(target), "--force", "a boat")
    assert forced.code == 0, forced.err
    _check_png(target.read_bytes())


def test_output_with_a_text_model_is_refused_before_paying(og: Any, tmp_path: Path) -> None:
    result = og("ask", "-m", "gpt-4.1-mini", "-o", str(tmp_path / "x.png"), "hi")
    assert result.code == EXIT_USAGE
    assert "answers with text" in result.err
    assert ReceiptStore().load() == []


def test_without_output_the_answer_says_an_image_came(og: Any) -> None:
    result = og("ask", "-m", "glm-image", "a mountain")
    assert result.code == 0, result.err
    assert "1 image(s) in the answer" in result.err
    assert "base64" not in result.out  # the text answer only, no data URI on the terminal
