"""The wallet key: from ``OG_PRIVATE_KEY`` or an encrypted keystore file, never in plaintext.

The keystore is a standard Ethereum V3 keyfile (eth-keyfile, scrypt KDF) at
``<data dir>/keystore.json``, mode 0600; geth, MetaMask and eth-account read it too.

A key must never reach a log, an error message or a traceback. So: errors carry
addresses and paths only; they are raised outside ``except`` blocks or ``from
None`` so no library exception (whose frames may hold the key) is chained; and the
functions that hold a key in a local variable delete it before raising, because
traceback renderers that show locals (Rich, pytest) would print it. `SecretKey`
wraps a key whose ``repr`` is masked, for callers that keep one around.

eth-keyfile and eth-keys are imported inside the functions: they are slow to
import and most commands never touch the key.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.eth import checksum

from .atomic import write_atomic
from .paths import KEYSTORE_FILE, data_dir

KEY_ENV = "OG_PRIVATE_KEY"
"""Environment variable holding a hex private key (it wins over the keystore)."""

SCRYPT_N = 262144
"""scrypt work factor, geth's standard (about a second and 256 MB per unlock)."""

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class KeystoreError(ConfigurationError):
    """The wallet key could not be read, stored or unlocked. Never contains the key."""


class WrongPassphrase(KeystoreError):
    """The passphrase does not decrypt the keystore."""


class SecretKey:
    """A private key that does not show itself in ``repr``, logs or tracebacks.

    The functions here pass keys around only inside one of these, so a traceback
    renderer that prints locals shows ``SecretKey('0x****')`` and nothing more.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    @classmethod
    def parse(cls, text: str) -> SecretKey | None:
        """A key from hex (``0x`` optional), or None if it is not a valid secp256k1 key.

        Returns None rather than raising, so the caller can drop the text before it raises.
        """
        body = text.strip()
        if body[:2].lower() == "0x":
            body = body[2:]
        if len(body) != 64:
            return None
        try:
            raw = bytes.fromhex(body)
        except ValueError:
            return None
        return cls(raw) if 0 < int.from_bytes(raw, "big") < _SECP256K1_N else None

    @classmethod
    def generate(cls) -> SecretKey:
        """A fresh random key."""
        while True:
            raw = secrets.token_bytes(32)
            if 0 < int.from_bytes(raw, "big") < _SECP256K1_N:
                return cls(raw)

    def reveal(self) -> str:
        """The ``0x``-prefixed hex key, for the signer and nothing else."""
        return "0x" + self._raw.hex()

    def reveal_bytes(self) -> bytes:
        """The 32 key bytes, for the signer and nothing else."""
        return self._raw

    def address(self) -> str:
        """The checksummed address of this key (the key itself is not shown)."""
        from eth_keys.datatypes import PrivateKey

        return str(PrivateKey(self._raw).public_key.to_checksum_address())

    def __repr__(self) -> str:
        return "SecretKey('0x****')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a SecretKey cannot be pickled")


def keystore_path(directory: Path | None = None) -> Path:
    """Where the keystore lives (it may not exist)."""
    return (directory if directory is not None else data_dir()) / KEYSTORE_FILE


def _write_keystore(key: SecretKey, passphrase: str, path: Path, scrypt_n: int) -> str:
    from eth_keyfile.keyfile import create_keyfile_json

    document: dict[str, Any] | None
    try:
        document = create_keyfile_json(
            key.reveal_bytes(), passphrase.encode("utf-8"), kdf="scrypt", iterations=scrypt_n
        )
    except Exception:  # its frames hold the key: report outside this block, unchained
        document = None
    if document is None:
        raise KeystoreError("the key could not be encrypted", hint="nothing was stored")
    address = checksum("0x" + str(document["address"]).removeprefix("0x"))
    reason = None
    try:
        write_atomic(path, json.dumps(document, indent=2).encode("utf-8"))
    except OSError as exc:
        reason = exc.strerror or str(exc)
    if reason is not None:
        raise KeystoreError(f"could not write {path}: {reason}", hint="nothing was stored")
    return address


def _refuse_overwrite(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise KeystoreError(
            f"a keystore already exists at {path}",
            hint="move it away first if you really mean to replace that wallet",
        )


def create_keystore(
    passphrase: str,
    *,
    directory: Path | None = None,
    overwrite: bool = False,
    scrypt_n: int = SCRYPT_N,
) -> str:
    """Make a new random wallet, store it encrypted, and return its address.

    ``scrypt_n`` is the KDF work factor; lower it only in tests.
    """
    path = keystore_path(directory)
    _refuse_overwrite(path, overwrite)
    return _write_keystore(SecretKey.generate(), passphrase, path, scrypt_n)


def import_key(
    private_key: str,
    passphrase: str,
    *,
    directory: Path | None = None,
    overwrite: bool = False,
    scrypt_n: int = SCRYPT_N,
) -> str:
    """Encrypt an existing hex key into the keystore; returns its address."""
    key = SecretKey.parse(private_key)
    del private_key  # only the masked `key` remains in this frame, whatever is raised next
    if key is None:
        raise KeystoreError(
            "that is not a private key: expected 64 hex characters (optionally 0x-prefixed)",
            hint="copy the key again; nothing was stored",
        )
    path = keystore_path(directory)
    _refuse_overwrite(path, overwrite)
    return _write_keystore(key, passphrase, path, scrypt_n)


def _refuse_shared(path: Path) -> None:
    """A keystore others can read or write is refused: anyone who can copy it can try
    passphrases offline, and anyone who can write it can swap the wallet."""
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # a missing file is reported by the read that follows
    if mode & 0o077:
        raise KeystoreError(
            f"the keystore at {path} is readable or writable by others "
            f"(mode {mode & 0o777:04o}); refusing to use it",
            hint=f"chmod 600 {path} (and check who could have copied it)",
        )


def _read_document(path: Path) -> dict[str, Any]:
    _refuse_shared(path)
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise KeystoreError(
            f"no keystore at {path}",
            hint="create one with `og-chat wallet create` or set OG_PRIVATE_KEY",
        ) from None
    except (OSError, ValueError, RecursionError):
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("crypto"), dict):
        raise KeystoreError(
            f"{path} is not a readable keystore file", hint="restore it from your backup"
        )
    return document


def load_key(passphrase: str, *, directory: Path | None = None) -> str:
    """Decrypt the keystore; returns the ``0x`` hex key. Raises WrongPassphrase."""
    path = keystore_path(directory)
    document = _read_document(path)
    from eth_keyfile.keyfile import decode_keyfile_json

    key: SecretKey | None = None
    wrong = False
    try:
        key = SecretKey(decode_keyfile_json(document, passphrase.encode("utf-8")))
    except ValueError:
        wrong = True  # raised below, outside this block, so nothing is chained
    except Exception:
        key = None
    if wrong:
        raise WrongPassphrase(
            f"wrong passphrase for the keystore at {path}",
            hint="try again; the passphrase cannot be recovered if it is lost",
        )
    if key is None or len(key.reveal_bytes()) != 32:
        raise KeystoreError(f"{path} could not be decrypted", hint="restore it from your backup")
    return key.reveal()


def keystore_address(directory: Path | None = None) -> str | None:
    """The keystore's address without decrypting it, or None when there is no keystore."""
    path = keystore_path(directory)
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError):
        raise KeystoreError(f"{path} is not a readable keystore file") from None
    address = document.get("address") if isinstance(document, dict) else None
    if not isinstance(address, str) or len(address.removeprefix("0x")) != 40:
        raise KeystoreError(f"{path} does not name its address")
    try:
        return checksum("0x" + address.removeprefix("0x"))
    except ValueError:
        raise KeystoreError(f"{path} names an invalid address") from None


def _env_key(environ: Mapping[str, str] | None) -> SecretKey | None:
    value = (environ if environ is not None else os.environ).get(KEY_ENV, "").strip()
    if not value:
        return None
    key = SecretKey.parse(value)
    del value
    if key is None:
        raise KeystoreError(
            f"{KEY_ENV} is not a private key: expected 64 hex characters (optionally 0x-prefixed)",
            hint=f"fix or unset {KEY_ENV}",
        )
    return key


def env_private_key(environ: Mapping[str, str] | None = None) -> str | None:
    """The key from ``OG_PRIVATE_KEY`` (normalized to ``0x`` hex), or None when unset."""
    key = _env_key(environ)
    return key.reveal() if key is not None else None


def env_address(environ: Mapping[str, str] | None = None) -> str | None:
    """The address of ``OG_PRIVATE_KEY``, or None when unset (`og-chat wallet address`)."""
    key = _env_key(environ)
    return key.address() if key is not None else None


def resolve_private_key(
    prompt: Callable[[], str] | None = None, *, directory: Path | None = None
) -> str | None:
    """The wallet key: ``OG_PRIVATE_KEY`` first, then the keystore unlocked with ``prompt()``.

    None when neither exists (the app then uses the devnet). A keystore that exists
    but cannot be unlocked (no prompt given) is an error, not a silent None.
    """
    key = env_private_key()
    if key is not None:
        return key
    path = keystore_path(directory)
    if not path.exists():
        return None
    _refuse_shared(path)  # before a passphrase is typed for a file others may have copied
    if prompt is None:
        raise KeystoreError(
            f"the keystore at {path} needs its passphrase",
            hint=f"run interactively, or set {KEY_ENV} for scripts",
        )
    return load_key(prompt(), directory=directory)


def prompt_passphrase(confirm: bool = False) -> str:
    """Ask for the keystore passphrase on the terminal without echoing it.

    With ``confirm`` (creating or importing) it is asked twice and must be non-empty.
    """
    first = getpass.getpass("Keystore passphrase: ")
    if confirm:
        if not first:
            raise KeystoreError("an empty passphrase would leave the key unprotected")
        if getpass.getpass("Repeat passphrase: ") != first:
            raise KeystoreError("the passphrases differ", hint="nothing was stored; try again")
    return first
