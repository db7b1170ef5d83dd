"""The gateway's knobs, and the shared state its parts read (`GatewayHost`).

The gateway's parts (payments, inference, data settlement, the app) each keep their
own state; what they share (the chain, the TEE key, the responder, the requirement
clients must pay) lives on the `Gateway` and is read through `GatewayHost` at call
time, so swapping one (a test replacing the TEE key) reaches every part at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from og_chat.sdk.x402 import PaymentRequirements

from .chain import Chain
from .facilitator import Facilitator
from .faults import Faults
from .responder import Responder
from .tee import TeeKeys

DEFAULT_SESSION_CAP = 100_000_000_000_000_000
"""0.1 OPG, the live gateway's session cap (configurable per devnet)."""


@dataclass
class GatewayConfig:
    """Knobs of the gateway's payment and settlement behaviour."""

    session_cap: int = DEFAULT_SESSION_CAP
    """Base units one upto authorization may be charged, over all its calls."""
    session_idle: float = 10.0
    """Seconds without a call after which a session is settled."""
    batch_size: int = 8
    """Leaves that trigger a batch root post at once."""
    batch_interval: float = 5.0
    """Seconds after which a smaller pending batch is posted anyway."""
    max_timeout_seconds: int = 300


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
