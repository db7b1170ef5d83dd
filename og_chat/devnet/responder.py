"""Where the devnet's answers come from: the local writer (writer.py) or an upstream server.

Both take a `GenerationRequest` and yield the same events (generation.py), so the
gateway treats them alike through this protocol. The server picks one from the devnet's
options; the upstream forwarder (and httpx, which its stream parsing pulls in, ≈ 0.15 s)
is only imported when an upstream is asked for, so a local devnet starts without it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from .generation import Event, GenerationRequest


class Responder(Protocol):
    """Anything the gateway can ask for an answer."""

    def respond(self, req: GenerationRequest) -> AsyncIterator[Event]:
        """The answer to `req`, as events, ending with `Finish`."""
        ...

    async def close(self) -> None:
        """Release what the responder holds (connections); called once at shutdown."""
        ...
