"""Which devnet a face talks to and whether it needs the wallet key: one place for both faces.

The CLI's commands and the TUI's launcher (`og-chat chat`) both decide, before the
runtime opens, whether to unlock the keystore: a passphrase is asked on the
terminal, so it must happen before the TUI takes the screen. `Runtime.open` then
picks the network from what it is given (`Config.effective_network`: a key means
mainnet unless a network is named).
"""

from __future__ import annotations

import os

from og_chat.store import keystore
from og_chat.store.config import Config

DEVNET_URL_ENV = "OG_DEVNET_URL"
"""Environment variable naming a running devnet (it wins over the config's `devnet_url`)."""


def devnet_url(given: str | None, config: Config | None = None) -> str | None:
    """The devnet to use: `given` (a flag), else `$OG_DEVNET_URL`, else the config's.

    Without a trailing slash; None when there is none (then the runtime embeds a devnet).
    """
    url = given or os.environ.get(DEVNET_URL_ENV) or None
    if url is None and config is not None:
        url = config.devnet_url
    return url.rstrip("/") if url else None


def wallet_key(network: str | None, devnet: str | None, *, interactive: bool) -> str | None:
    """The key to pay with, or None when the devnet is chosen (by name, or by a devnet URL).

    Otherwise `OG_PRIVATE_KEY`, else the keystore, unlocked with a passphrase asked on
    the terminal when `interactive`; a keystore that cannot be unlocked that way is a
    `KeystoreError`, never a silent switch to the devnet. None when neither exists.
    """
    if network == "devnet" or (network is None and devnet):
        return None
    return keystore.resolve_private_key(keystore.prompt_passphrase if interactive else None)
