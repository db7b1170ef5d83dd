"""Which network a face uses: one rule for the SDK, the CLI and the TUI.

Apart from the network profiles (`networks`) on purpose: the TUI's first frame holds a
`NetworkRequest` and shows a `NetworkChoice` without importing ssl, the TLS pins or the
devnet registration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigurationError

NETWORK_ENV = "OG_NETWORK"
DEVNET_URL_ENV = "OG_DEVNET_URL"


@dataclass(frozen=True)
class NetworkRequest:
    """The network a caller asks for (a face's `--network`, `--devnet-url`, `--trust-devnet`).

    None where it names none: `choose_network` then asks the environment and the config.
    One value handed down whole (command line → App → Backend → `Runtime.open`), so no
    hop restates these fields with defaults of its own.
    """

    network: str | None = None
    devnet_url: str | None = None
    trusted_devnets: tuple[str, ...] = ()
    """Devnets the wallet may pay on besides the config's and the environment's."""


@dataclass(frozen=True)
class NetworkChoice:
    """The network a face uses, and why (the header and `config show` say so)."""

    name: Literal["mainnet", "devnet"]
    devnet_url: str | None
    """The devnet at a URL; None on mainnet and for an embedded devnet."""
    embedded: bool
    """True when a devnet is to be started in-process (no URL anywhere)."""
    reason: str
    """Which level decided, e.g. `--devnet-url`, `OG_NETWORK`, `the config`, `no key`."""

    @property
    def label(self) -> str:
        """`mainnet`, `devnet (embedded)` or `devnet 127.0.0.1:8402`: what the header shows."""
        if self.name == "mainnet":
            return "mainnet"
        if self.embedded or not self.devnet_url:
            return "devnet (embedded)"
        return f"devnet {self.devnet_url.split('://', 1)[-1].split('/', 1)[0]}"


def _network_name(value: str | None, where: str) -> Literal["mainnet", "devnet"] | None:
    if value is None or not value.strip():
        return None
    name = value.strip().lower()
    if name == "mainnet":
        return "mainnet"
    if name == "devnet":
        return "devnet"
    raise ConfigurationError(f"unknown network {value!r} ({where})", hint="use mainnet or devnet")


def choose_network(
    *,
    network: str | None,
    devnet_url: str | None,
    env: Mapping[str, str],
    config_network: str | None,
    config_devnet_url: str | None,
    has_key: bool,
) -> NetworkChoice:
    """The network to use, by one rule every face calls (it reads nothing itself).

    Levels, highest first: the explicit argument or flag, the environment
    (`OG_NETWORK`, `OG_DEVNET_URL`), the config, the default. The highest level
    naming a network or a devnet URL decides: a URL means the devnet; a devnet URL
    from any level is the one a `devnet` choice uses. `mainnet` beside a devnet URL
    at the same level is a ConfigurationError. Nothing named: mainnet with a key
    (any source), else the embedded devnet.
    """
    levels = (
        ("the argument", network, devnet_url, "--network", "--devnet-url"),
        ("the environment", env.get(NETWORK_ENV), env.get(DEVNET_URL_ENV), NETWORK_ENV,
         DEVNET_URL_ENV),
        ("the config", config_network, config_devnet_url, "network", "devnet_url"),
    )  # fmt: skip
    urls = [(u.strip().rstrip("/"), url_name) for _, _, u, _, url_name in levels if u and u.strip()]
    for where, raw_name, raw_url, name_key, url_key in levels:
        name = _network_name(raw_name, f"{name_key} in {where}")
        url = raw_url.strip().rstrip("/") if raw_url and raw_url.strip() else None
        if name == "mainnet" and url:
            raise ConfigurationError(
                f"{name_key}=mainnet and {url_key}={url} contradict each other ({where})",
                hint="a devnet URL selects the devnet; drop one of the two",
            )
        if name == "mainnet":
            return NetworkChoice("mainnet", None, False, f"{name_key} in {where}")
        if name == "devnet" or url:
            found = url or (urls[0][0] if urls else None)
            why = f"{name_key if name else url_key} in {where}"
            return NetworkChoice("devnet", found, found is None, why)
    if has_key:
        return NetworkChoice("mainnet", None, False, "a wallet key is configured")
    return NetworkChoice("devnet", None, True, "no wallet key and no network named")
