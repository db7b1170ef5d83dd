"""What a receipt cost, and its batch leaf: the rules the tracker, verify and the CLI share."""

from __future__ import annotations

import base64
import dataclasses

from og_chat.app.costs import receipt_cost, table_price
from og_chat.sdk import merkle
from og_chat.sdk.types import Receipt

PRICES = {"openai/gpt-5": {"prompt_per_million": 10**18, "completion_per_million": 2 * 10**18}}


def _receipt(**fields: object) -> Receipt:
    base = Receipt(
        id="r",
        created_at=1.0,
        model="openai/gpt-5",
        provider="openai",
        network="devnet",
        endpoint="http://127.0.0.1:1",
        settlement_mode="batch",
        prompt_tokens=1_000_000,
        completion_tokens=500_000,
        tee_id="0x" + "01" * 32,
        request_hash="0x" + "02" * 32,
        output_hash="0x" + "03" * 32,
        tee_signature=base64.b64encode(b"signature").decode(),
        tee_timestamp=1_700_000_000,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_charged_wins_over_quoted_which_wins_over_the_table() -> None:
    assert table_price(_receipt(), PRICES) == "2"
    assert receipt_cost(_receipt(), PRICES) == "2"
    assert receipt_cost(_receipt(price_opg="0.5"), PRICES) == "0.5"
    assert receipt_cost(_receipt(price_opg="0.5", charged_opg="0.25"), PRICES) == "0.25"
    assert receipt_cost(_receipt(model="openai/unlisted"), PRICES) is None
    assert receipt_cost(_receipt(), None) is None


def test_a_receipt_leaf_is_recomputed_from_its_fields() -> None:
    receipt = _receipt()
    expected = merkle.leaf_hash(
        tee_id=bytes([1]) * 32,
        request_hash=bytes([2]) * 32,
        output_hash=bytes([3]) * 32,
        tee_signature=b"signature",
        tee_timestamp=1_700_000_000,
    )
    assert merkle.receipt_leaf(receipt) == "0x" + expected.hex()
    assert merkle.receipt_leaf(_receipt(tee_timestamp=1_700_000_001)) != merkle.receipt_leaf(
        receipt
    )


def test_a_hand_edited_receipt_has_no_leaf_instead_of_an_error() -> None:
    for fields in (
        {"tee_id": None},
        {"tee_timestamp": None},
        {"tee_id": "0xnot-hex"},
        {"request_hash": "0x" + "02" * 33},
        {"tee_signature": "***not base64***"},
        {"tee_timestamp": 2**300},
    ):
        assert merkle.receipt_leaf(_receipt(**fields)) is None, fields
