"""The shared state the gateway's parts read from the gateway itself (`GatewayHost`).

The gateway's parts (payments, inference, data settlement, the app) each keep their
own state; what they share (the chain, the TEE key, the responder, the requirement
clients must pay) lives on the `Gateway` and is read through `GatewayHost` at call
time, so swapping one (a test replacing the TEE key) reaches every part at once.
"""

from __future__ import annotations

from typing import Protocol

from og_chat.sdk.x402 import PaymentRequirements

from .chain import Chain
from .facilitator import Facilitator
from .faults import Faults
from .gateway_config import GatewayConfig
from .responder import Responder
from .tee import TeeKeys


class GatewayHost(Protocol):
    """What the gateway's parts read from the gateway itself."""

    chain: Chain
    facilitator: Facilitator
    tee: TeeKeys
    responder: Responder
    faults: Faults
    config: GatewayConfig
    pay_to: str
    base_url: str
    """`http://127.0.0.1:8402`-style, set by the server once bound."""
    requirement: PaymentRequirements
    """The upto requirement every paid call must accept."""
