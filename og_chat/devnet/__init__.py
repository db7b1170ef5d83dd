"""A complete local OpenGradient network: chain, facilitator, TEE gateway (`og-chat devnet`).

Attributes load lazily so `og_chat.devnet.tee` (the signing scheme clients
verify against) can be imported without aiohttp or web3. Importing the package defers
py_ecc's pairing tables to their first use (og_chat/sdk/deferred_imports.py): the devnet never needs
them, and computing them was a third of its start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from og_chat.sdk import deferred_imports

deferred_imports.install()

if TYPE_CHECKING:
    from .server import Devnet, Faults, add_devnet_arguments, run_devnet_command

__all__ = ["Devnet", "Faults", "add_devnet_arguments", "run_devnet_command"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'og_chat.devnet' has no attribute {name!r}")
