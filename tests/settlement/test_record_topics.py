"""The record events' topics and the settle selector, written out in records.py, are the
keccak of their signatures (a typo there would find no record on any chain)."""

from __future__ import annotations

from og_chat.app import records
from og_chat.app.onchain import event_topic
from og_chat.sdk.eth import keccak


def test_each_topic_is_the_keccak_of_its_event_signature() -> None:
    assert len(records.EVENT_SIGNATURES) == 4
    for topic, signature in records.EVENT_SIGNATURES.items():
        assert topic == event_topic(signature), signature


def test_the_settle_selector_is_the_keccak_of_its_function_signature() -> None:
    signature = f"settleIndividual({records.INDIVIDUAL_CALL})"
    assert "0x" + keccak(signature.encode())[:4].hex() == records.SETTLE_INDIVIDUAL
