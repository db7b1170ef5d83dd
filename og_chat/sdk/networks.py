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
from .eth import parse_uint
from .opg import ONE_OPG
from .receipt import ChainMark
from .tls import check_registered, pinned_context, pinned_file

APPROVAL_SPONSORING = "erc20ApprovalGasSponsoring"
"""The x402 extension a server advertises when it takes a signed approval inside a payment."""

DEVNET_DOCUMENT_TIMEOUT = 10.0
"""Seconds to wait for a devnet's `/devnet` document."""
MAX_DEVNET_DOCUMENT_BYTES = 1024 * 1024
"""A `/devnet` document larger than this is not a devnet's (ours is a few KB)."""
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
    sponsors_approval: bool = True
    """The gateway takes a signed approval inside a payment (`erc20ApprovalGasSponsoring`),
    as the live gateway does; a devnet says so in its document's `extensions`."""
    extra: dict[str, Any] = field(default_factory=dict)
    embedded: bool = False
    """A devnet this process started itself: its document is ours, so it is trusted."""

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
    def chain_mark(self) -> ChainMark:
        """The chain a receipt made on this network records: its id, and on a devnet the
        genesis hash and instance id its `/devnet` document publishes."""
        doc = self.extra.get("devnet") if self.extra else None
        doc = doc if isinstance(doc, dict) else {}
        genesis, instance = doc.get("genesis_hash"), doc.get("instance_id")
        return ChainMark(
            self.chain_id,
            genesis if isinstance(genesis, str) else None,
            instance if isinstance(instance, str) else None,
        )

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


def devnet_profile(doc: dict[str, Any], base_url: str, *, embedded: bool = False) -> NetworkProfile:
    """Build the devnet profile from its `GET /devnet` document (untrusted input).

    Whether a key may sign for it is `og_chat.sdk.trust.signing_allowed`'s question,
    not this function's: a devnet naming a public chain (the mainnet twin of
    `og-chat devnet --chain-id 8453`, or a forgery) is a valid profile that only test
    keys sign for.
    """
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
        rpc = str(doc.get("rpc_url") or base_url.rstrip("/") + "/rpc")
        return NetworkProfile(
            name="devnet",
            chain_id=parse_uint(doc["chain_id"]),
            rpc_url=rpc,
            opg=str(contracts["opg"]),
            permit2=str(contracts.get("permit2", PERMIT2_ADDRESS)),
            upto_proxy=str(contracts.get("upto_proxy", UPTO_PERMIT2_PROXY)),
            exact_permit2_proxy=str(contracts.get("exact_permit2_proxy", EXACT_PERMIT2_PROXY)),
            registry_rpc=rpc,
            registry_address=contracts.get("tee_registry"),
            gateway_url=base_url.rstrip("/"),
            token_name=str(token.get("name", "OpenGradient")),
            token_version=str(token.get("version", "1")),
            tls_certificate=tls_certificate,
            sponsors_approval=APPROVAL_SPONSORING in (doc.get("extensions") or ()),
            extra={"devnet": doc},
            embedded=embedded,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigurationError(
            f"the devnet at {base_url} sent an unreadable /devnet document ({exc!r})"[:400],
            hint="is OG_DEVNET_URL pointing at an og-chat devnet?",
        ) from None


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
            mine = embedded.started_here(fixed_url)
            profile = _pinned(devnet_profile(doc, fixed_url, embedded=mine))
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
                embedded.stop(started)
            raise ConfigurationError(
                f"no og-chat devnet answers at {url}",
                hint="start one with `og-chat devnet` or unset OG_DEVNET_URL to embed one",
            )
        mine = started is not None or embedded.started_here(url)
        try:
            profile = _pinned(devnet_profile(doc, url, embedded=mine))
        except ConfigurationError:
            if started is not None:
                embedded.stop(started)
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
    to the registry's certificate (routing.py), and what a key may sign for a devnet
    is decided by `og_chat.sdk.trust`. A document above `MAX_DEVNET_DOCUMENT_BYTES`
    is no devnet's.
    """
    import json

    import httpx

    try:
        with httpx.stream(
            "GET", base_url + "/devnet", timeout=DEVNET_DOCUMENT_TIMEOUT, verify=False
        ) as resp:
            if resp.status_code != 200:
                return None
            raw = bytearray()
            for part in resp.iter_bytes():
                raw += part
                if len(raw) > MAX_DEVNET_DOCUMENT_BYTES:
                    return None
    except httpx.HTTPError:
        return None
    try:
        data = json.loads(bytes(raw))
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _first_key(doc: dict[str, Any]) -> str | None:
    accounts = doc.get("accounts")
    if not isinstance(accounts, list) or not accounts or not isinstance(accounts[0], dict):
        return None
    key = accounts[0].get("private_key")
    return key if isinstance(key, str) and key else None
