"""Where state lives, and that nothing we create is readable by other users."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from og_chat.sdk.types import Receipt
from og_chat.store import paths
from og_chat.store.config import init_config, load_config, save_config
from og_chat.store.keystore import import_key
from og_chat.store.receipts import ReceiptStore
from og_chat.store.sessions import Session, SessionStore

MakeReceipt = Callable[..., Receipt]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_og_chat_home_holds_config_and_data(home: Path) -> None:
    assert paths.config_path() == home / "config.toml"
    assert paths.data_dir() == home / "data"


def test_platform_dirs_without_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OG_CHAT_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / ".local" / "share"))
    assert paths.config_path() == tmp_path / ".config" / "og-chat" / "config.toml"
    assert paths.data_dir() == tmp_path / ".local" / "share" / "og-chat"


def test_created_dirs_are_0700_and_files_0600_even_with_open_umask(
    home: Path, make_receipt: MakeReceipt
) -> None:
    old = os.umask(0)
    try:
        data = paths.data_dir(create=True)
        init_config()
        save_config(load_config())
        with ReceiptStore(data) as store:
            store.append(make_receipt("r1"))
            store.append_event("r1", payment_status="settled")
        sessions = SessionStore(data)
        sessions.save(Session.new("hello"))
        sessions.list()
        sessions.save_draft("half a thought")
        import_key("0x" + "11" * 32, "pw", directory=data, scrypt_n=2**4)
    finally:
        os.umask(old)
    for root, dirs, files in os.walk(home):
        for name in dirs:
            assert mode(Path(root, name)) == 0o700, Path(root, name)
        for name in files:
            assert mode(Path(root, name)) == 0o600, Path(root, name)


def test_existing_directories_are_not_chmodded(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    paths.ensure_private_dir(shared / "og" / "data")
    assert mode(shared) == 0o755
    assert mode(shared / "og") == 0o700
    assert mode(shared / "og" / "data") == 0o700
