"""Network profiles: where to pay, what to trust, and the policy defaults.

A profile names everything the client checks a 402 against, so a gateway
cannot talk it into paying another chain, token or spender.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field, replace
from typing import Any

from . import embedded
from .addresses import (
    DEVNET_KEYS,
    EXACT_PERMIT2_PROXY,
    MAINNET_BASE_RPC,
    MAINNET_CHAIN_ID,
    MAINNET_OPG,
    MAINNET_REGISTRY,
    MAINNET_REGISTRY_RPC,
    PERMIT2_ADDRESS,
    UPTO_PERMIT2_PROXY,
)
from .embedded import EmbeddedDevnet
from .errors import ConfigurationError
from .tls import check_registered, pinned_context, pinned_file

OPG_DECIMALS = 18
ONE_OPG = 10**OPG_DECIMALS
PUBLIC_CHAIN_IDS = frozenset(
    {1, 10, 56, 137, 8453, 42161, 43114, 42220, 4689, 1329, 84532, 11155111, 43113, 80002, 10143}
)
"""Chains with real value (or public testnets): only a devnet's published test keys sign for
a devnet that names one (`require_test_key`).

A devnet's profile comes from its own `/devnet` document; a user's key must never sign
an authorization or an `approve` that would be valid on a real network (EIP-712 and
EIP-155 both bind the chain id). `og-chat devnet --chain-id 8453` (a twin of Base
mainnet for the official SDK) is such a devnet.
"""
DEVNET_DOCUMENT_TIMEOUT = 10.0
"""Seconds to wait for a devnet's `/devnet` document."""
PLACEHOLDER_API_KEY = "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef"
"""The fixed bearer token the official client sends; not a secret."""


@dataclass(frozen=True)
class NetworkProfile:
    """Everything the client needs to know about one network."""

    name: str
    chain_id: int
    rpc_url: str
    opg: str
    permit2: str = PERMIT2_ADDRESS
    upto_proxy: str = UPTO_PERMIT2_PROXY
    exact_permit2_proxy: str = EXACT_PERMIT2_PROXY
    registry_rpc: str | None = None
    registry_address: str | None = None
    gateway_url: str | None = None
    """A fixed gateway; when None the registry is asked."""
    token_name: str = "OpenGradient"
    token_version: str = "1"
    max_authorization: int = ONE_OPG
    """Largest single authorization we sign, base units (default 1 OPG)."""
    max_deadline_seconds: int = 3600
    """Largest `deadline - now` we sign."""
    tls_certificate: str | None = None
    """PEM of the one certificate a devnet's gateway and RPC serve over HTTPS, pinned on every
    link (tls.py); None: the system's trust store."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def caip2(self) -> str:
        """The x402 network id, `eip155:<chain id>`."""
        return f"eip155:{self.chain_id}"

    @property
    def rpc_verify(self) -> bool | str:
        """requests' `verify=` for this profile's RPC: the pinned certificate's file, or True."""
        return pinned_file(self.tls_certificate) if self.tls_certificate else True

    def http_verify(self) -> ssl.SSLContext | bool:
        """httpx's `verify=` for this profile's gateway: the pinned certificate, or True."""
        return pinned_context(self.tls_certificate) if self.tls_certificate else True

    @property
    def known_spenders(self) -> frozenset[str]:
        """Proxies we let pull funds through Permit2 (lower-case)."""
        return frozenset(a.lower() for a in (self.upto_proxy, self.exact_permit2_proxy))


def mainnet_profile() -> NetworkProfile:
    """Base mainnet for payments, OpenGradient's registry for TEEs; env overrides apply."""
    return NetworkProfile(
        name="mainnet",
        chain_id=MAINNET_CHAIN_ID,
        rpc_url=os.environ.get("BASE_MAINNET_RPC", MAINNET_BASE_RPC),
        opg=MAINNET_OPG,
        registry_rpc=os.environ.get("OG_REGISTRY_RPC", MAINNET_REGISTRY_RPC),
        registry_address=os.environ.get("OG_REGISTRY_ADDRESS", MAINNET_REGISTRY),
        gateway_url=os.environ.get("OG_GATEWAY_URL") or None,
    )


def devnet_profile(doc: dict[str, Any], base_url: str) -> NetworkProfile:
    """Build the devnet profile from its `GET /devnet` document."""
    tls_certificate = None
    if base_url.startswith("https://"):
        tls_certificate = doc.get("tls_certificate")
        if not isinstance(tls_certificate, str):
            raise ConfigurationError(
                f"the devnet at {base_url} serves HTTPS but publishes no tls_certificate",
                hint="is the URL pointing at an og-chat devnet started with --tls?",
            )
    try:
        contracts = doc["contracts"]
        token = doc.get("token", {})
        return NetworkProfile(
            name="devnet",
            chain_id=int(doc["chain_id"]),
            rpc_url=str(doc.get("rpc_url") or base_url.rstrip("/") + "/rpc"),
            opg=contracts["opg"],
            permit2=contracts.get("permit2", PERMIT2_ADDRESS),
            upto_proxy=contracts.get("upto_proxy", UPTO_PERMIT2_PROXY),
            exact_permit2_proxy=contracts.get("exact_permit2_proxy", EXACT_PERMIT2_PROXY),
            registry_rpc=str(doc.get("rpc_url") or base_url.rstrip("/") + "/rpc"),
            registry_address=contracts.get("tee_registry"),
            gateway_url=base_url.rstrip("/"),
            token_name=token.get("name", "OpenGradient"),
            token_version=token.get("version", "1"),
            tls_certificate=tls_certificate,
            extra={"devnet": doc},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"the devnet at {base_url} sent an unreadable /devnet document ({exc})",
            hint="is OG_DEVNET_URL pointing at an og-chat devnet?",
        ) from None


def require_test_key(profile: NetworkProfile, private_key: str) -> None:
    """Refuse a user's key for a devnet that names a public chain (its published keys only).

    Such a devnet (the mainnet twin, or a hostile server) would have that key sign what
    is valid on the real network; the devnet's test keys are public, so nothing is lost.
    """
    if profile.name != "devnet" or profile.chain_id not in PUBLIC_CHAIN_IDS:
        return
    if "0x" + private_key.lower().removeprefix("0x") in DEVNET_KEYS:
        return
    url = profile.gateway_url or profile.rpc_url
    raise ConfigurationError(
        f"{url} calls itself a devnet but names chain {profile.chain_id}, a public network: "
        "only its published test keys may sign for it, and nothing was signed",
        hint="use one of the devnet's test keys (`og-chat devnet` lists them) or another devnet",
    )


@dataclass(frozen=True)
class FoundNetwork:
    """What `find_network` settled on."""

    profile: NetworkProfile
    devnet_url: str | None = None
    """The devnet gateway in use, when the network was named `devnet`."""
    dev_key: str | None = None
    """A devnet's first published account key (the default wallet there)."""
    embedded: EmbeddedDevnet | None = None
    """A devnet started in-process for this client, which the client must stop."""


def find_network(
    *,
    network: str,
    fixed_url: str | None,
    devnet_url: str | None,
    have_key: bool,
    rpc_url: str | None = None,
    registry_address: str | None = None,
) -> FoundNetwork:
    """The profile a client pays on (blocking: it may read `/devnet` or start a devnet).

    A fixed URL that serves `/devnet` is a devnet, any other is mainnet; the
    `devnet` network uses `devnet_url`, else an embedded devnet; mainnet takes
    the optional registry overrides.
    """
    if fixed_url:
        doc = devnet_document(fixed_url)
        if doc is not None:
            profile = _pinned(devnet_profile(doc, fixed_url))
            return FoundNetwork(profile, dev_key=_first_key(doc))
        if not have_key:
            raise ConfigurationError(
                f"{fixed_url} is not an og-chat devnet and no private key was given"
            )
        return FoundNetwork(mainnet_profile())
    if network == "devnet":
        started = None if devnet_url else embedded.start()
        url = (devnet_url or (started.url if started else "")).rstrip("/")
        doc = devnet_document(url)
        if doc is None:
            if started is not None:
                started.stop()
            raise ConfigurationError(
                f"no og-chat devnet answers at {url}",
                hint="start one with `og-chat devnet` or unset OG_DEVNET_URL to embed one",
            )
        try:
            profile = _pinned(devnet_profile(doc, url))
        except ConfigurationError:
            if started is not None:
                started.stop()
            raise
        return FoundNetwork(profile, url, _first_key(doc), started)
    profile = mainnet_profile()
    if rpc_url or registry_address:
        profile = replace(
            profile,
            registry_rpc=rpc_url or profile.registry_rpc,
            registry_address=registry_address or profile.registry_address,
        )
    return FoundNetwork(profile)


def _pinned(profile: NetworkProfile) -> NetworkProfile:
    """`profile`, once the registry confirms the certificate it pins (tls.check_registered)."""
    pem = profile.tls_certificate
    if pem and profile.gateway_url and profile.registry_address:
        check_registered(
            pem,
            endpoint=profile.gateway_url,
            rpc_url=profile.registry_rpc or profile.rpc_url,
            registry=profile.registry_address,
        )
    return profile


def devnet_document(base_url: str) -> dict[str, Any] | None:
    """`GET {base_url}/devnet`, the document a devnet describes itself with; None if none answers.

    TLS is deliberately not verified here: a `--tls` devnet serves a certificate
    that only its own registry names, and this document is what names the
    registry (and carries the certificate, which `_pinned` then checks against the
    registry). Nothing is signed over this link; payments go over the TLS pinned
    to the registry's certificate (routing.py), and a "devnet" naming a public
    chain takes its test keys only (`require_test_key`).
    """
    import httpx

    try:
        resp = httpx.get(base_url + "/devnet", timeout=DEVNET_DOCUMENT_TIMEOUT, verify=False)
    except httpx.HTTPError:
        return None
    if resp.status_code != 200:
        return None
    try:
        data = resp.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _first_key(doc: dict[str, Any]) -> str | None:
    accounts = doc.get("accounts") or []
    return str(accounts[0]["private_key"]) if accounts else None
