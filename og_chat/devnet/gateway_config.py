"""The gateway's knobs, with their defaults (the server and `og-chat devnet` use these too)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SESSION_CAP = 100_000_000_000_000_000
"""0.1 OPG, the live gateway's session cap (configurable per devnet)."""
DEFAULT_SESSION_IDLE = 10.0
DEFAULT_BATCH_SIZE = 8
DEFAULT_BATCH_INTERVAL = 5.0


@dataclass
class GatewayConfig:
    """Knobs of the gateway's payment and settlement behaviour."""

    session_cap: int = DEFAULT_SESSION_CAP
    """Base units one upto authorization may be charged, over all its calls."""
    session_idle: float = DEFAULT_SESSION_IDLE
    """Seconds without a call after which a session is settled."""
    batch_size: int = DEFAULT_BATCH_SIZE
    """Leaves that trigger a batch root post at once."""
    batch_interval: float = DEFAULT_BATCH_INTERVAL
    """Seconds after which a smaller pending batch is posted anyway."""
    max_timeout_seconds: int = 300
