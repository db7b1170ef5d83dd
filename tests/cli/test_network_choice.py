"""Which devnet a command uses and whether it unlocks the wallet (`og_chat.app.network`)."""

from __future__ import annotations

import pytest

from og_chat.app.network import devnet_url, wallet_key
from og_chat.store import keystore
from og_chat.store.config import Config

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


@pytest.fixture(autouse=True)
def _no_shared_devnet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OG_DEVNET_URL", raising=False)  # the CLI tests set it for every test


def test_the_flag_wins_then_the_environment_then_the_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = Config(devnet_url="http://127.0.0.1:3/")
    assert devnet_url(None) is None
    assert devnet_url(None, config) == "http://127.0.0.1:3"
    monkeypatch.setenv("OG_DEVNET_URL", "http://127.0.0.1:2/")
    assert devnet_url(None, config) == "http://127.0.0.1:2"
    assert devnet_url("http://127.0.0.1:1/", config) == "http://127.0.0.1:1"


def test_the_devnet_needs_no_key_even_with_a_locked_keystore() -> None:
    keystore.create_keystore("pw", scrypt_n=2**4)
    assert wallet_key("devnet", None, interactive=False) is None
    assert wallet_key(None, "http://127.0.0.1:1", interactive=False) is None
    with pytest.raises(keystore.KeystoreError, match="needs its passphrase"):
        wallet_key(None, None, interactive=False)
    with pytest.raises(keystore.KeystoreError, match="needs its passphrase"):
        wallet_key("mainnet", "http://127.0.0.1:1", interactive=False)


def test_the_environment_key_is_used_before_the_keystore(monkeypatch: pytest.MonkeyPatch) -> None:
    keystore.create_keystore("pw", scrypt_n=2**4)
    monkeypatch.setenv("OG_PRIVATE_KEY", KEY)
    assert wallet_key("mainnet", None, interactive=False) == KEY


def test_a_terminal_unlocks_the_keystore(monkeypatch: pytest.MonkeyPatch) -> None:
    keystore.import_key(KEY, "pw", scrypt_n=2**4)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "pw")
    assert wallet_key(None, None, interactive=True) == KEY


def test_no_key_anywhere_means_none() -> None:
    assert wallet_key(None, None, interactive=False) is None
