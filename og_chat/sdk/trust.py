"""Who signs what: the one rule deciding whether a key may sign for a network.

A gateway at a URL can claim to be a devnet and name any chain, token and
spender in its `/devnet` document. A denylist of public chains cannot keep up
with the chains that exist, so the rule is an allow-rule instead:

- a *test key* (one of the devnet's published `DEVNET_KEYS`) may sign anywhere:
  it guards nothing of the user's;
- a *user key* (`OG_PRIVATE_KEY`, the keystore, any other key) signs only for
  the mainnet profile (constants, never from a server), for the embedded devnet
  this process started, or for a devnet the user opted in to by its URL
  (`--trust-devnet`, the config's `trusted_devnets`, `$OG_TRUSTED_DEVNETS`,
  `LLM(trusted_devnets=...)`);
- a "devnet" naming a chain in `PUBLIC_CHAIN_IDS` (the mainnet twin of issue 15
  among them) gets test keys only: no opt-in unlocks a user key there.

Transactions follow the same rule (an approval is signed with the key, so
`signing_allowed` covers it): in the SDK the opt-in is the consent. The
interactive faces ask once more before a user key's transaction goes to an RPC
a server named, opted in or not (`needs_confirmation`): the CLI on its terminal
(`--yes` skips it; without a terminal it refuses), the TUI in a dialog.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .addresses import DEVNET_KEYS
from .errors import ConfigurationError, UntrustedNetwork

if TYPE_CHECKING:  # annotations only: the CLI decides whose key pays before it imports ssl
    from .networks import NetworkProfile

TRUSTED_DEVNETS_ENV = "OG_TRUSTED_DEVNETS"
"""Comma-separated devnet URLs a user key may sign for (for the SDK and tutorial code)."""

PUBLIC_CHAIN_IDS = frozenset(
    {
        1, 10, 56, 100, 137, 250, 324, 1101, 1284, 1329, 4689, 5000, 8453, 10143, 17000,
        42161, 42220, 43113, 43114, 59144, 80002, 81457, 84532, 421614, 534352, 7777777,
        11155111, 11155420,
    }
)  # fmt: skip
"""Chains with real value or public testnets (Ethereum, OP, BNB, Gnosis, Polygon, Fantom,
zkSync, Polygon zkEVM, Moonbeam, Sei, IoTeX, Mantle, Base, Monad testnet, Holesky, Arbitrum,
Celo, Avalanche and Fuji, Linea, Amoy, Blast, Base Sepolia, Arbitrum Sepolia, Scroll, Zora,
Sepolia, OP Sepolia). A devnet naming one signs with test keys only. The list decides only
whether opting in is possible; what protects a user key is the allow-rule."""

_TEST_KEYS = frozenset(k.lower().removeprefix("0x") for k in DEVNET_KEYS)


class KeyKind(str, Enum):
    """What losing a key would cost: nothing (a published test key) or the user's funds."""

    TEST = "test"
    USER = "user"


def key_kind(private_key: str) -> KeyKind:
    """TEST for one of the devnet's published keys, USER for any other."""
    return KeyKind.TEST if private_key.lower().removeprefix("0x") in _TEST_KEYS else KeyKind.USER


def origin(url: str) -> str:
    """`scheme://host:port` of a URL, lower-case, with the default port spelled out.

    What an opt-in names: `http://127.0.0.1:8402/` and `HTTP://127.0.0.1:8402/v1`
    are the same devnet; `http://127.0.0.1:8403` is another.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{url!r} is not an http(s) URL", hint="name a devnet as http://host:port"
        )
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise ConfigurationError(f"{url!r} has an invalid port") from None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    return f"{scheme}://{host}:{port}"


def trusted_origins(urls: Iterable[str] | None) -> frozenset[str]:
    """The origins of `urls` (see `origin`); ConfigurationError names a bad one."""
    return frozenset(origin(u) for u in urls or () if u.strip())


def trusted_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The origins listed in `$OG_TRUSTED_DEVNETS` (comma-separated)."""
    value = (os.environ if environ is None else environ).get(TRUSTED_DEVNETS_ENV, "")
    return trusted_origins(value.split(","))


def is_public_chain(chain_id: int) -> bool:
    """True for a chain with real value (or a public testnet)."""
    return chain_id in PUBLIC_CHAIN_IDS


def opted_in(profile: NetworkProfile, trusted: frozenset[str]) -> bool:
    """Whether the user opted in to this devnet by its URL (never for a public chain id)."""
    if profile.name != "devnet" or not profile.gateway_url or is_public_chain(profile.chain_id):
        return False
    try:
        return origin(profile.gateway_url) in trusted
    except ConfigurationError:
        return False


def server_named(profile: NetworkProfile) -> bool:
    """Whether the profile's RPC and contracts came from a server (a devnet at a URL)."""
    return profile.name == "devnet" and not profile.embedded


def signing_allowed(
    profile: NetworkProfile, kind: KeyKind, trusted: frozenset[str], *, what: str
) -> None:
    """Raise `UntrustedNetwork` unless a key of `kind` may sign `what` for `profile`.

    Called before anything is signed: payment authorizations, approvals, funding.
    """
    if kind is KeyKind.TEST or profile.name == "mainnet":
        return
    url = profile.gateway_url
    chain = profile.chain_id
    if is_public_chain(chain):
        raise UntrustedNetwork(
            f"{url or 'this devnet'} calls itself a devnet but names chain {chain}, a public "
            f"network: refusing to sign {what} for it with your key",
            url=url,
            chain_id=chain,
            what=what,
            hint="a devnet naming a public chain signs with its published test keys only; "
            "no opt-in changes that (unset OG_PRIVATE_KEY or use --network mainnet)",
        )
    if profile.embedded or opted_in(profile, trusted):
        return
    named = origin(url) if url else "this devnet"
    raise UntrustedNetwork(
        f"{url or 'this devnet'} (chain {chain}) is a devnet you have not opted in to: refusing "
        f"to sign {what} for it with your key",
        url=url,
        chain_id=chain,
        what=what,
        hint=f"a devnet signs with its own test keys; to let your key sign for it, opt in: "
        f'--trust-devnet, trusted_devnets = ["{named}"] in the config, '
        f'{TRUSTED_DEVNETS_ENV}={named}, or LLM(trusted_devnets=["{named}"])',
    )


def needs_confirmation(profile: NetworkProfile, kind: KeyKind) -> bool:
    """Whether an interactive face must ask before a transaction with this key is sent: a user
    key's transaction to an RPC a server named (even an opted-in devnet's)."""
    return kind is KeyKind.USER and server_named(profile)
