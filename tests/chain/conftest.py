"""Fixtures for the devnet chain tests: one chain for the whole session, fresh payers per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from og_chat.devnet.chain import Chain
from og_chat.devnet.facilitator import Facilitator


@pytest.fixture(scope="session")
def chain() -> Iterator[Chain]:
    """A devnet chain shared by every test of the session (about 1 s to start)."""
    devnet = Chain.start()
    yield devnet
    devnet.stop()


@pytest.fixture
def facilitator(chain: Chain) -> Facilitator:
    return Facilitator(chain)
