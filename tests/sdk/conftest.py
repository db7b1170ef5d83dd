"""One in-process devnet for the sdk's end-to-end tests, and the misbehaving gateway double."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.sdk.gateway_double import GatewayDouble


@pytest.fixture(scope="session")
def sdk_devnet() -> Iterator[Any]:
    from og_chat.devnet import Devnet

    devnet = Devnet.start(tokens_per_second=0, session_idle=1.0, batch_size=2, batch_interval=0.5)
    yield devnet
    devnet.stop()


@pytest.fixture(scope="module")
def double() -> Iterator[GatewayDouble]:
    gateway = GatewayDouble()
    yield gateway
    gateway.stop()


@pytest.fixture
def gw(double: GatewayDouble) -> GatewayDouble:
    """The double with every knob reset and nothing recorded yet."""
    double.knobs = type(double.knobs)()
    double.payments.clear()
    double.requests.clear()
    double.sessions.clear()
    return double
