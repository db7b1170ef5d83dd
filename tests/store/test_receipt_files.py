"""Receipt files: what `receipts export` writes, `receipts verify FILE` reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from og_chat.sdk.errors import ConfigurationError
from og_chat.store.receipt_files import export_json, read_receipts_file
from tests.store.conftest import MakeReceipt


def test_an_export_reads_back_as_the_same_receipts(
    tmp_path: Path, make_receipt: MakeReceipt
) -> None:
    receipts = [make_receipt("r1"), make_receipt("r2", merkle_proof=["0x" + "11" * 32])]
    path = tmp_path / "all.json"
    path.write_text(export_json(receipts))
    assert read_receipts_file(path) == receipts


def test_one_receipt_or_the_output_of_ask_json_is_read_too(
    tmp_path: Path, make_receipt: MakeReceipt
) -> None:
    receipt = make_receipt("one")
    single = tmp_path / "one.json"
    single.write_text(json.dumps(receipt.to_dict()))
    asked = tmp_path / "ask.json"
    asked.write_text(json.dumps({"answer": "hi", "receipt": receipt.to_dict()}))
    assert read_receipts_file(single) == [receipt]
    assert read_receipts_file(asked) == [receipt]


def test_fields_of_a_newer_version_are_ignored(tmp_path: Path, make_receipt: MakeReceipt) -> None:
    receipt = make_receipt("new")
    path = tmp_path / "newer.json"
    path.write_text(json.dumps([{**receipt.to_dict(), "field_from_the_future": 1}]))
    assert read_receipts_file(path) == [receipt]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "is not JSON"),
        ("[" * 5_000, "is not JSON"),  # deeper than the recursion limit
        ('[{"id": "x"}]', "not a complete receipt"),
        ('[{"model": "a"}]', "not a receipt"),
        ("[1, 2]", "not a receipt"),
    ],
    ids=["text", "deep", "incomplete", "no-id", "numbers"],
)
def test_a_file_that_is_not_receipts_is_a_configuration_error(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message) as caught:
        read_receipts_file(path)
    assert str(path) in str(caught.value)
