"""One rule picks the network, in every face: the same table through the SDK, the CLI and the
TUI (`choose_network`), plus one real TUI launch; and whose key pays where (`app.network`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from og_chat.app.network import choose, trusted, wallet_key
from og_chat.devnet import Devnet
from og_chat.sdk.addresses import DEVNET_ADDRESSES
from og_chat.sdk.client import LLM
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.network_choice import NetworkChoice, NetworkRequest, choose_network
from og_chat.store import keystore
from og_chat.store.config import Config, save_config

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
U1, U2, U3 = "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"


@dataclass(frozen=True)
class Row:
    """Inputs at every level, and the network every face must land on (None: an error)."""

    flag_network: str | None = None
    flag_url: str | None = None
    env_network: str | None = None
    env_url: str | None = None
    config_network: str | None = None
    config_url: str | None = None
    key: bool = False
    expect: tuple[str, str | None] | None = ("devnet", None)
    """(name, devnet URL) where URL None means an embedded devnet; None means refused."""


TABLE = {
    "nothing, no key: embedded devnet": Row(),
    "a key alone: mainnet": Row(key=True, expect=("mainnet", None)),
    "a key and --devnet-url: that devnet (the TUI took mainnet)": Row(
        flag_url=U1, key=True, expect=("devnet", U1)
    ),
    "a key and OG_DEVNET_URL: that devnet": Row(env_url=U2, key=True, expect=("devnet", U2)),
    "--network mainnet over OG_DEVNET_URL": Row(
        flag_network="mainnet", env_url=U2, key=True, expect=("mainnet", None)
    ),
    "OG_NETWORK=mainnet beside OG_DEVNET_URL: refused": Row(
        env_network="mainnet", env_url=U2, key=True, expect=None
    ),
    "--network devnet takes the config's devnet URL": Row(
        flag_network="devnet", config_url=U3, key=True, expect=("devnet", U3)
    ),
    "OG_NETWORK=devnet with a key and no URL: embedded": Row(env_network="devnet", key=True),
    "--devnet-url over the config's mainnet": Row(
        flag_url=U1, config_network="mainnet", key=True, expect=("devnet", U1)
    ),
    "the config's devnet URL with a key": Row(config_url=U3, key=True, expect=("devnet", U3)),
    "--devnet-url over OG_DEVNET_URL": Row(flag_url=U1, env_url=U2, expect=("devnet", U1)),
    "an unknown network: refused": Row(flag_network="testnet", expect=None),
}


@pytest.fixture(autouse=True)
def _no_shared_devnet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OG_DEVNET_URL", raising=False)  # the CLI tests set it for every test


@pytest.fixture
def row_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Put a row's environment and config in place (the CLI tests' shared devnet URL removed)."""

    def apply(row: Row) -> None:
        for var, value in (
            ("OG_NETWORK", row.env_network),
            ("OG_DEVNET_URL", row.env_url),
            ("OG_PRIVATE_KEY", KEY if row.key else None),
        ):
            if value is None:
                monkeypatch.delenv(var, raising=False)
            else:
                monkeypatch.setenv(var, value)
        save_config(Config(network=row.config_network, devnet_url=row.config_url))  # type: ignore[arg-type]

    return apply


def _expected(choice: NetworkChoice) -> tuple[str, str | None]:
    return choice.name, choice.devnet_url


def _via_rule(row: Row) -> tuple[str, str | None]:
    env = {"OG_NETWORK": row.env_network or "", "OG_DEVNET_URL": row.env_url or ""}
    choice = choose_network(
        network=row.flag_network,
        devnet_url=row.flag_url,
        env=env,
        config_network=row.config_network,
        config_devnet_url=row.config_url,
        has_key=row.key,
    )
    return _expected(choice)


def _via_sdk(row: Row) -> tuple[str, str | None]:
    """The SDK reads no config file, so rows with a config level do not run through it."""
    llm = LLM(KEY if row.key else None, network=row.flag_network, devnet_url=row.flag_url)
    return _expected(llm.choice)


def _via_cli(og: Any, row: Row) -> tuple[str, str | None]:
    argv = []
    if row.flag_network:
        argv += ["--network", row.flag_network]
    if row.flag_url:
        argv += ["--devnet-url", row.flag_url]
    result = og(*argv, "config", "show")
    if result.code != 0:
        raise ConfigurationError(result.err)
    line = result.out.splitlines()[0]
    found = re.match(r"# network: (mainnet|devnet \(embedded\)|devnet (\S+)) \(from", line)
    assert found, line
    if found.group(1) == "mainnet":
        return "mainnet", None
    return "devnet", ("http://" + found.group(2)) if found.group(2) else None


async def _via_tui(row: Row) -> tuple[str, str | None]:
    from og_chat.tui.app import OGChatApp
    from og_chat.tui.widgets.status_header import StatusHeader
    from tests.tui.conftest import wait_until

    app = OGChatApp(NetworkRequest(row.flag_network, row.flag_url), start_backend=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(
            pilot, lambda: app.backend.choice is not None or app._backend_failure is not None
        )
        if app.backend.choice is None:
            raise ConfigurationError(str(app._backend_failure))
        header = app.main_screen.query_one(StatusHeader)
        assert header.network == app.backend.choice.label  # the header names the network
        return _expected(app.backend.choice)


@pytest.mark.parametrize("name", list(TABLE))
async def test_every_face_picks_the_same_network(name: str, row_env: Any, og: Any) -> None:
    row = TABLE[name]
    row_env(row)
    faces: list[tuple[str, Any]] = [
        ("rule", lambda: _via_rule(row)),
        ("cli", lambda: _via_cli(og, row)),
    ]
    if row.config_network is None and row.config_url is None:
        faces.append(("sdk", lambda: _via_sdk(row)))
    for face, run in faces:
        if row.expect is None:
            with pytest.raises(ConfigurationError):
                run()
        else:
            assert run() == row.expect, face
    if row.expect is None:
        with pytest.raises(ConfigurationError):
            await _via_tui(row)
    else:
        assert await _via_tui(row) == row.expect, "tui"


async def test_a_real_tui_launch_with_a_key_and_a_devnet_url_pays_there_with_the_test_key(
    devnet: Devnet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from og_chat.tui.app import OGChatApp
    from og_chat.tui.widgets.status_header import StatusHeader
    from tests.tui.conftest import wait_until

    monkeypatch.setenv("OG_PRIVATE_KEY", KEY)  # a wallet is configured: it must not pay here
    app = OGChatApp(NetworkRequest(devnet_url=devnet.url))
    host = devnet.url.split("://", 1)[1]
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: app.backend.ready, timeout=60, what="the runtime")
        header = app.main_screen.query_one(StatusHeader)
        await wait_until(pilot, lambda: header.status_ok is True, what="ready")
        assert header.network == f"devnet {host}"
        assert app.backend.network == "devnet" and app.backend.devnet_url == devnet.url
        assert app.backend.address == DEVNET_ADDRESSES[0]


# -- whose key pays -------------------------------------------------------------------


def test_a_devnet_pays_with_its_test_key_even_beside_a_locked_keystore() -> None:
    keystore.create_keystore("pw", scrypt_n=2**4)
    embedded = choose("devnet", None, None, has_key=True)
    at_url = choose(None, U1, None, has_key=True)
    assert wallet_key(embedded, frozenset(), interactive=False) is None
    assert wallet_key(at_url, frozenset(), interactive=False) is None
    with pytest.raises(keystore.KeystoreError, match="needs its passphrase"):
        wallet_key(choose(None, None, None, has_key=True), frozenset(), interactive=False)
    with pytest.raises(keystore.KeystoreError, match="needs its passphrase"):  # opted in
        wallet_key(at_url, trusted(None, [U1]), interactive=False)


def test_the_environment_key_is_used_before_the_keystore(monkeypatch: pytest.MonkeyPatch) -> None:
    keystore.create_keystore("pw", scrypt_n=2**4)
    monkeypatch.setenv("OG_PRIVATE_KEY", KEY)
    assert wallet_key(choose("mainnet", None, None), frozenset(), interactive=False) == KEY


def test_a_terminal_unlocks_the_keystore(monkeypatch: pytest.MonkeyPatch) -> None:
    keystore.import_key(KEY, "pw", scrypt_n=2**4)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "pw")
    assert wallet_key(choose(None, None, None), frozenset(), interactive=True) == KEY


def test_no_key_anywhere_means_the_embedded_devnet_and_no_wallet() -> None:
    choice = choose(None, None, None)
    assert (choice.name, choice.embedded) == ("devnet", True)
    assert wallet_key(choice, frozenset(), interactive=False) is None


def test_trusted_devnets_are_origins_from_the_config_the_flag_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OG_TRUSTED_DEVNETS", "http://LOCALHOST:8402/,")
    config = Config(trusted_devnets=["http://127.0.0.1:8402/v1"])
    assert trusted(config, ["https://10.0.0.1"]) == {
        "http://127.0.0.1:8402", "https://10.0.0.1:443", "http://localhost:8402",
    }  # fmt: skip
    with pytest.raises(ConfigurationError, match="not an http"):
        trusted(None, ["ftp://x"])
