"""The wallet key: encrypted at rest, never in a message, a traceback or a file in clear."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest

from og_chat.store.keystore import (
    KeystoreError,
    SecretKey,
    WrongPassphrase,
    create_keystore,
    env_address,
    import_key,
    keystore_address,
    keystore_path,
    load_key,
    resolve_private_key,
)

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
FAST = 2**4  # scrypt work factor for tests; the default is 2**18


def assert_key_absent(exc: BaseException, key: str = KEY) -> None:
    """Neither the message, the chain nor the locals of our frames may hold the key."""
    body = key.removeprefix("0x").lower()
    text = "".join(traceback.format_exception(exc)).lower()
    assert body not in text and body not in repr(exc).lower()
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if "og_chat" in frame.f_code.co_filename:
            for value in frame.f_locals.values():
                shown = repr(value).lower()
                assert body not in shown, frame.f_code.co_name
                if isinstance(value, bytes | bytearray):
                    assert bytes.fromhex(body) not in value
        tb = tb.tb_next


def test_import_then_load_round_trip(data: Path) -> None:
    assert keystore_address(data) is None
    assert import_key(KEY, "correct horse", directory=data, scrypt_n=FAST) == ADDRESS
    assert keystore_address(data) == ADDRESS
    assert load_key("correct horse", directory=data) == KEY


def test_create_makes_a_fresh_wallet(data: Path) -> None:
    address = create_keystore("pw", directory=data, scrypt_n=FAST)
    assert address.startswith("0x") and len(address) == 42
    assert keystore_address(data) == address
    assert len(load_key("pw", directory=data)) == 66
    with pytest.raises(KeystoreError, match="already exists"):
        create_keystore("pw", directory=data, scrypt_n=FAST)


def test_wrong_passphrase_is_typed_and_keyless(data: Path) -> None:
    import_key(KEY, "right", directory=data, scrypt_n=FAST)
    with pytest.raises(WrongPassphrase, match="wrong passphrase") as caught:
        load_key("wrong", directory=data)
    assert isinstance(caught.value, KeystoreError)
    assert_key_absent(caught.value)


def test_invalid_key_error_does_not_echo_it(data: Path) -> None:
    almost = KEY[:-1] + "z"
    with pytest.raises(KeystoreError) as caught:
        import_key(almost, "pw", directory=data, scrypt_n=FAST)
    assert_key_absent(caught.value, almost[:-1])
    assert not keystore_path(data).exists()


def test_refusing_to_overwrite_does_not_leak_the_new_key(data: Path) -> None:
    create_keystore("pw", directory=data, scrypt_n=FAST)
    with pytest.raises(KeystoreError, match="already exists") as caught:
        import_key(KEY, "pw", directory=data, scrypt_n=FAST)
    assert_key_absent(caught.value)


def test_bad_env_key_error_does_not_echo_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OG_PRIVATE_KEY", KEY + "00")
    with pytest.raises(KeystoreError, match="OG_PRIVATE_KEY") as caught:
        resolve_private_key()
    assert_key_absent(caught.value)


def test_env_key_wins_over_the_keystore(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    create_keystore("pw", directory=data, scrypt_n=FAST)
    monkeypatch.setenv("OG_PRIVATE_KEY", KEY.removeprefix("0x").upper())

    def never() -> str:
        raise AssertionError("must not prompt when the environment has a key")

    assert resolve_private_key(never, directory=data) == KEY


def test_env_address_is_the_address_of_the_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_address() is None
    monkeypatch.setenv("OG_PRIVATE_KEY", KEY.removeprefix("0x"))
    assert env_address() == ADDRESS
    monkeypatch.setenv("OG_PRIVATE_KEY", KEY + "00")
    with pytest.raises(KeystoreError, match="OG_PRIVATE_KEY") as caught:
        env_address()
    assert_key_absent(caught.value)


def test_resolve_uses_the_keystore_with_a_prompt(data: Path) -> None:
    assert resolve_private_key(None, directory=data) is None  # nothing configured: devnet
    import_key(KEY, "pw", directory=data, scrypt_n=FAST)
    assert resolve_private_key(lambda: "pw", directory=data) == KEY
    with pytest.raises(KeystoreError, match="needs its passphrase"):
        resolve_private_key(None, directory=data)


def test_no_key_material_anywhere_in_the_data_dir(home: Path, data: Path) -> None:
    import_key(KEY, "pw", directory=data, scrypt_n=FAST)
    load_key("pw", directory=data)
    resolve_private_key(lambda: "pw", directory=data)
    with pytest.raises(WrongPassphrase):
        load_key("nope", directory=data)
    body = KEY.removeprefix("0x")
    for root, _, files in os.walk(home):
        for name in files:
            content = Path(root, name).read_bytes()
            assert body.encode() not in content.lower(), name
            assert bytes.fromhex(body) not in content, name


def test_secret_key_hides_itself() -> None:
    secret = SecretKey.parse(KEY)
    assert secret is not None
    assert KEY not in repr(secret) and KEY not in str(secret) and KEY not in f"{secret}"
    assert secret.reveal() == KEY
    assert SecretKey.parse(KEY[:-2]) is None
    assert SecretKey.parse("0x" + "00" * 32) is None  # not a valid secp256k1 scalar


def test_write_failure_does_not_leak_the_key(data: Path) -> None:
    not_a_dir = data / "file"
    not_a_dir.write_text("")  # even root cannot create a file inside a file
    with pytest.raises(KeystoreError, match="could not write") as caught:
        import_key(KEY, "pw", directory=not_a_dir, scrypt_n=FAST)
    assert_key_absent(caught.value)


def test_unreadable_keystore_is_a_typed_error(data: Path) -> None:
    keystore_path(data).write_text("{not json")
    with pytest.raises(KeystoreError):
        keystore_address(data)
    with pytest.raises(KeystoreError):
        load_key("pw", directory=data)
