"""Which gateway a call goes to, and which key its answers must be signed with.

A fixed URL when one was given; otherwise a random active TEE from the
registry, re-read every few minutes, after a connection failure (failover) and
when an answer is signed by a TEE we have not pinned. A registry TEE is reached
over TLS pinned to the certificate the registry holds for it; anything else is
checked against the system's trust store — never unverified, because a payment
must not be signed over an unchecked link.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass

import httpx

from .bodies import aread_capped
from .errors import ConfigurationError, OGError
from .networks import NetworkProfile
from .payment import SessionCache
from .tee import TEEInfo, fetch_active_tees, normalise_tee_id, pick_tee

MAX_KEY_DOCUMENT_BYTES = 64 * 1024
"""A `/signing-key` answer larger than this is not a key."""
TEE_REFRESH_SECONDS = 300.0
"""How long a registry listing is trusted before it is read again."""


@dataclass
class Route:
    """Where requests go right now and what we trust there."""

    base_url: str
    tee: TEEInfo | None
    """The registry entry pinned for this route; None for a fixed URL or gateway."""
    http: httpx.AsyncClient
    public_key: bytes | str | None = None
    """The key answers must be signed with, once known."""
    key_from_registry: bool = False
    """True when `public_key` is the TEE registry's (else the gateway served it itself)."""

    @property
    def tee_id(self) -> str | None:
        """The pinned TEE's id, if any."""
        return self.tee.tee_id if self.tee else None


class Router:
    """Chooses and keeps the route for one client; sessions are per TEE, so a switch drops them."""

    def __init__(
        self,
        profile: NetworkProfile,
        sessions: SessionCache,
        *,
        fixed_url: str | None,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.profile = profile
        self._sessions = sessions
        self._fixed_url = fixed_url
        self._timeout = timeout
        self._transport = transport
        self._tees: list[TEEInfo] = []
        self._tees_read_at = 0.0
        self._route: Route | None = None

    @property
    def route(self) -> Route | None:
        """The route in use (None before the first call and after an outage)."""
        return self._route

    @property
    def tees(self) -> list[TEEInfo]:
        """The registry's active TEEs as last read."""
        return list(self._tees)

    def remember_registry(self, tees: list[TEEInfo], *, read_at: float | None = None) -> None:
        """Take `tees` as the registry's listing, read at `read_at` (`time.monotonic()`; now).

        Every registry read lands here; a caller that read the registry itself
        (or knows better, as a test does) can hand its listing in the same way.
        """
        self._tees = list(tees)
        self._tees_read_at = time.monotonic() if read_at is None else read_at

    def _registry(self) -> tuple[str, str] | None:
        profile = self.profile
        if profile.registry_rpc and profile.registry_address:
            return profile.registry_rpc, profile.registry_address
        return None

    def _read_registry(self) -> list[TEEInfo]:
        """Blocking: the registry's active TEEs, over the profile's pinned RPC when it has one."""
        registry = self._registry()
        if registry is None:
            return []
        return fetch_active_tees(*registry, verify=self.profile.rpc_verify)

    def _stale(self) -> bool:
        return time.monotonic() - self._tees_read_at > TEE_REFRESH_SECONDS

    def _new_http(self, base_url: str, info: TEEInfo | None) -> httpx.AsyncClient:
        verify: ssl.SSLContext | bool = True
        if base_url.startswith("https://") and info is not None:
            verify = info.ssl_context()
        elif base_url.startswith("https://"):
            verify = self.profile.http_verify()  # a --tls devnet's own certificate, else the CAs
        return httpx.AsyncClient(
            timeout=self._timeout, verify=verify, transport=self._transport, follow_redirects=False
        )

    def _pick(self, exclude: set[str] | None = None) -> Route:
        """Choose a gateway (blocking: it may read the registry)."""
        if self._fixed_url:
            return Route(self._fixed_url, None, self._new_http(self._fixed_url, None))
        profile = self.profile
        registry = self._registry()
        if registry is not None:
            if not self._tees or self._stale() or exclude:
                try:
                    self.remember_registry(self._read_registry())
                except OGError:
                    # A devnet's own gateway stands in for an unreadable registry.
                    if not (profile.gateway_url and profile.name == "devnet"):
                        raise
            if self._tees:
                info = pick_tee(self._tees, exclude)
                http = self._new_http(info.endpoint, info)
                return Route(info.endpoint, info, http, info.public_key_der, True)
        if profile.gateway_url:
            url = profile.gateway_url
            return Route(url, None, self._new_http(url, None))
        raise ConfigurationError(
            "no gateway: the profile has neither a registry nor a gateway URL",
            hint="set OG_GATEWAY_URL or use LLM.from_url(...)",
        )

    async def current(self) -> Route:
        """The route for the next request: refreshed when the registry listing is stale."""
        if self._route is not None and self._route.tee is not None and self._stale():
            await self._refresh()
        if self._route is None:
            self._route = await asyncio.to_thread(self._pick)
        return self._route

    async def _refresh(self) -> None:
        """Re-read the registry; move off a TEE that is no longer listed."""
        route, registry = self._route, self._registry()
        if route is None or route.tee is None or registry is None:
            return
        try:
            tees = await asyncio.to_thread(self._read_registry)
        except OGError:
            return
        self.remember_registry(tees)
        if all(t.tee_id != route.tee.tee_id for t in tees):
            await self.failover()

    async def failover(self) -> bool:
        """Switch to another TEE after a connection failure; False when there is none."""
        old = self._route
        if old is None or old.tee is None:
            return False
        try:
            new = await asyncio.to_thread(self._pick, {old.tee.tee_id})
        except OGError:
            return False
        if new.tee is None or new.tee.tee_id == old.tee.tee_id:
            await new.http.aclose()
            return False
        self._route = new
        self._sessions.clear()
        await old.http.aclose()
        return True

    async def forget(self, route: Route) -> None:
        """After an outage, re-read the registry on the next call (the TEE may have changed)."""
        if self._route is route:
            self._route = None
            self._sessions.clear()
            self.remember_registry([], read_at=0.0)
            await route.http.aclose()

    async def signer_key(self, route: Route, signer: str | None) -> bytes | str | None:
        """The key to check an answer signed by `signer` (a TEE id) with.

        The registry's key whenever there is a registry: a TEE restarted behind the
        same endpoint comes back with a new key, trusted only once the registry lists it
        at that endpoint, so an answer signed by another TEE than the pinned one (or on a
        route with none pinned, such as a fixed devnet URL) makes us read the registry.
        Only without a registry entry is the gateway's own `/signing-key` asked, and
        `route.key_from_registry` stays False: such an answer is self-vouched at best.
        """
        pinned, registry = route.tee, self._registry()
        unknown = not pinned or bool(signer and signer != normalise_tee_id(pinned.tee_id))
        if unknown and signer and registry is not None:
            try:
                tees = await asyncio.to_thread(self._read_registry)
            except OGError:
                return await self._public_key(route)
            self.remember_registry(tees)
            for info in tees:
                if normalise_tee_id(info.tee_id) == signer and info.endpoint == route.base_url:
                    route.tee, route.public_key = info, info.public_key_der
                    route.key_from_registry = True
                    break
        return await self._public_key(route)

    async def _public_key(self, route: Route) -> bytes | str | None:
        """The TEE key to check signatures with: the registry's, else `/signing-key`."""
        if route.public_key is not None:
            return route.public_key
        try:
            async with route.http.stream("GET", route.base_url + "/signing-key") as resp:
                if resp.status_code != 200:
                    return None
                data = json.loads(await aread_capped(resp, MAX_KEY_DOCUMENT_BYTES))
        except (httpx.HTTPError, OGError, ValueError, RecursionError):
            return None
        pem = data.get("public_key") if isinstance(data, dict) else None
        if isinstance(pem, str) and pem.strip():
            route.public_key = pem
            route.key_from_registry = False
        return route.public_key

    async def close(self) -> None:
        """Close the route's connections."""
        route, self._route = self._route, None
        if route is not None:
            await route.http.aclose()
