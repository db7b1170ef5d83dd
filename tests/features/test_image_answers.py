"""The sdk's side of image answers: `images` on the result and on the final streamed chunk,
signed over the images themselves; decoding and writing them (issue 14 item 5)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from og_chat import sdk
from og_chat.devnet import Devnet
from og_chat.devnet.drawing import draw_png, png_data_uri
from og_chat.sdk.images import ImageDataError, decode_image
from og_chat.sdk.models import CATALOGUE
from og_chat.sdk.receipt import SignatureStatus
from og_chat.sdk.tee import answer_images, check_response, output_hash, output_text
from og_chat.store.image_files import ImageFileExists, save_images


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    net = Devnet.start(tokens_per_second=0)
    try:
        yield net
    finally:
        net.stop()


def test_every_image_model_of_the_catalogue_answers_with_a_png(devnet: Devnet) -> None:
    image_models = [m.id for m in CATALOGUE.values() if m.image_output]
    assert len(image_models) >= 6

    async def ask_all() -> list[tuple[str, sdk.TextGenerationOutput]]:
        async with sdk.LLM(None, network="devnet", devnet_url=devnet.url) as llm:
            await llm.aensure_opg_approval(1, 10)
            outs = []
            for model in image_models:
                out = await llm.chat(model, [{"role": "user", "content": "a harbour"}])
                assert isinstance(out, sdk.TextGenerationOutput)
                outs.append((model, out))
            return outs

    for model, out in asyncio.run(ask_all()):
        assert out.signature_status is SignatureStatus.VERIFIED, model
        assert out.images and decode_image(out.images[0]).data.startswith(b"\x89PNG"), model
        assert out.chat_output is not None and out.chat_output["images"] == out.images
        assert out.receipt is not None and out.receipt.output_text == output_text(
            out.chat_output["content"], None, out.images
        )


def test_the_final_streamed_chunk_carries_the_images(devnet: Devnet) -> None:
    async def stream() -> sdk.StreamChunk:
        async with sdk.LLM(None, network="devnet", devnet_url=devnet.url) as llm:
            await llm.aensure_opg_approval(1, 10)
            chunks = await llm.chat(
                "google/gemini-2.5-flash-image",
                [{"role": "user", "content": "a bridge"}],
                stream=True,
            )
            assert not isinstance(chunks, sdk.TextGenerationOutput)
            return [c async for c in chunks][-1]

    final = asyncio.run(stream())
    assert final.is_final and final.images
    assert decode_image(final.images[0]).mime == "image/png"
    assert final.signature_status is SignatureStatus.VERIFIED


def test_a_changed_image_fails_the_output_hash() -> None:
    real = png_data_uri(draw_png("a bridge", "zai/glm-image"))
    other = png_data_uri(draw_png("a tunnel", "zai/glm-image"))
    signed_hash = output_hash("caption", None, [real])
    checks = check_response(
        public_key=None, request_body=None, content="caption", tool_calls=None,
        tee_request_hash="00" * 32, tee_output_hash=signed_hash, tee_signature="x",
        tee_timestamp=1, images=[other],
    )  # fmt: skip
    assert [c.ok for c in checks if c.name == "output hash"] == [False]
    assert output_hash("caption", None, None) != signed_hash  # the image is covered, not only text


def test_answer_images_reads_both_wire_shapes() -> None:
    assert answer_images({"images": ["data:image/png;base64,AA=="]}) == [
        "data:image/png;base64,AA=="
    ]
    body = {"choices": [{"message": {"content": "x", "images": ["data:image/png;base64,AA=="]}}]}
    assert answer_images(body) == ["data:image/png;base64,AA=="]
    assert answer_images({"choices": [{"message": {"content": "x"}}]}) is None


@pytest.mark.parametrize(
    "uri",
    ["https://example.invalid/a.png", "data:text/plain;base64,aGk=", "data:image/png;base64,!!"],
)
def test_what_is_not_an_image_data_uri_is_refused(uri: str) -> None:
    with pytest.raises(ImageDataError):
        decode_image(uri)


def test_several_images_get_numbered_files_and_none_is_replaced(tmp_path: Path) -> None:
    uris = [png_data_uri(draw_png(p, "openai/gpt-image-2")) for p in ("one", "two")]
    written = save_images(uris, tmp_path / "pic.png")
    assert [p.name for p in written] == ["pic.png", "pic-2.png"]
    assert [p.stat().st_mode & 0o777 for p in written] == [0o600, 0o600]
    with pytest.raises(ImageFileExists):
        save_images(uris, tmp_path / "pic.png")
    assert save_images(uris, tmp_path / "pic.png", force=True) == written
