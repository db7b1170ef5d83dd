"""Where the devnet's answers come from: the local writer (writer.py) or an upstream server.

Both take a `GenerationRequest` and yield the same events (generation.py), so the
gateway treats them alike; `make_responder` picks one from the devnet's options.
"""

from __future__ import annotations

from .upstream import UpstreamResponder
from .writer import LocalResponder

Responder = LocalResponder | UpstreamResponder
"""Anything the gateway can ask for an answer."""


def make_responder(
    *, upstream: str | None, upstream_model: str | None, tokens_per_second: float
) -> Responder:
    """The upstream forwarder when `upstream` names a server, else the local writer."""
    if upstream:
        return UpstreamResponder(upstream, model=upstream_model)
    return LocalResponder(tokens_per_second)
