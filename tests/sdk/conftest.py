"""One in-process devnet for the sdk's end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def sdk_devnet() -> Iterator[Any]:
    from og_chat.devnet import Devnet

    devnet = Devnet.start(tokens_per_second=0, session_idle=1.0, batch_size=2, batch_interval=0.5)
    yield devnet
    devnet.stop()
