"""Which network a face uses, whose key pays there, and which devnets that key may sign for.

One rule for the SDK, the CLI and the TUI: `og_chat.sdk.network_choice.choose_network`.
This module feeds it what the app knows (the environment, the config, whether a
wallet exists) and answers the faces' next question before the runtime opens:
must the keystore be unlocked? A passphrase is asked on the terminal, so the CLI
asks it before the TUI takes the screen.

Whose key: mainnet pays with the wallet (`OG_PRIVATE_KEY`, else the keystore); a
devnet pays with its own published test key, unless the user opted in to that
devnet (`--trust-devnet`, `trusted_devnets`), where the wallet pays.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from og_chat.sdk.network_choice import DEVNET_URL_ENV, NetworkChoice, choose_network
from og_chat.sdk.trust import origin, trusted_from_env, trusted_origins
from og_chat.store import keystore

if TYPE_CHECKING:  # annotations only: deciding whose key pays needs no pydantic
    from og_chat.store.config import Config

__all__ = [
    "DEVNET_URL_ENV",
    "choose",
    "devnet_url",
    "has_wallet",
    "trusted",
    "wallet_key",
    "wallet_pays",
]


def has_wallet(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a wallet key is configured: `OG_PRIVATE_KEY` or a keystore (not unlocked)."""
    env = os.environ if environ is None else environ
    return bool(env.get(keystore.KEY_ENV, "").strip()) or keystore.keystore_path().exists()


def choose(
    network: str | None,
    devnet: str | None,
    config: Config | None,
    *,
    has_key: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> NetworkChoice:
    """`choose_network` with the environment, the config and the wallet filled in."""
    return choose_network(
        network=network,
        devnet_url=devnet,
        env=os.environ if environ is None else environ,
        config_network=config.network if config else None,
        config_devnet_url=config.devnet_url if config else None,
        has_key=has_wallet(environ) if has_key is None else has_key,
    )


def devnet_url(given: str | None, config: Config | None = None) -> str | None:
    """A devnet's URL to read from (prices, `receipts verify`): `given`, else
    `$OG_DEVNET_URL`, else the config's; without a trailing slash."""
    url = given or os.environ.get(DEVNET_URL_ENV) or None
    if url is None and config is not None:
        url = config.devnet_url
    return url.rstrip("/") if url else None


def trusted(
    config: Config | None, extra: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> frozenset[str]:
    """The devnets a user key may sign for: the config's, `extra` (a `--trust-devnet`
    flag's URL) and `$OG_TRUSTED_DEVNETS`, as origins."""
    listed = list(config.trusted_devnets) if config else []
    return trusted_origins([*listed, *extra]) | trusted_from_env(environ)


def wallet_pays(choice: NetworkChoice, trusted_devnets: frozenset[str]) -> bool:
    """Whether the user's wallet pays on `choice`: on mainnet and on an opted-in devnet
    (elsewhere the devnet's published test key pays)."""
    if choice.name == "mainnet":
        return True
    url = choice.devnet_url
    return url is not None and origin(url) in trusted_devnets


def wallet_key(
    choice: NetworkChoice, trusted_devnets: frozenset[str], *, interactive: bool
) -> str | None:
    """The user's key to pay with, or None when the devnet's test key pays (`wallet_pays`).

    `OG_PRIVATE_KEY`, else the keystore unlocked with a passphrase asked on the terminal
    when `interactive` (a keystore that cannot be unlocked that way is a `KeystoreError`,
    never a silent switch); None when neither exists.
    """
    if not wallet_pays(choice, trusted_devnets):
        return None
    return keystore.resolve_private_key(keystore.prompt_passphrase if interactive else None)
