"""A devnet's state directory: its chain, its TEE key and its unposted records, kept across runs.

`og-chat devnet --state DIR` and the embedded devnet (`<og-chat data dir>/devnet`,
passed in by the app: the devnet never reads og-chat's store) keep here:

* `chain.sqlite`: the chain (chain_store.py): every block, receipt, log and state trie node,
  the index rows, the chain's identity;
* `records.sqlite`: calls whose record is not on-chain yet (pending_records.py);
* `tee-signing-key.pem`, `tee-tls-key.pem`: the TEE's keys (0600, tee_keystore.py), so its
  registry entry and every signature made in an earlier run stay valid;
* `lock`: held (flock) while a devnet runs on this directory: two chains on one file would
  fork it.

`--fresh` removes exactly these files (never anything else a user keeps in the directory).
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from pathlib import Path
from typing import IO

from og_chat.sdk.errors import ConfigurationError

CHAIN_FILE = "chain.sqlite"
RECORDS_FILE = "records.sqlite"
SIGNING_KEY_FILE = "tee-signing-key.pem"
TLS_KEY_FILE = "tee-tls-key.pem"
LOCK_FILE = "lock"
STATE_FILES = (
    CHAIN_FILE,
    CHAIN_FILE + "-wal",
    CHAIN_FILE + "-shm",
    RECORDS_FILE,
    RECORDS_FILE + "-wal",
    RECORDS_FILE + "-shm",
    SIGNING_KEY_FILE,
    TLS_KEY_FILE,
)
"""Every file a devnet keeps (the lock aside): what `--fresh` and `set_aside` move or remove."""


class StateInUse(ConfigurationError):
    """Another devnet runs on this state directory."""

    hint = "stop the other og-chat devnet first, or give this one another --state directory"


class StateDir:
    """An open, locked state directory. `StateDir.open(path)`; `close()` releases it."""

    def __init__(self, path: Path, lock: IO[bytes]) -> None:
        self.path = path
        self.chain_path = path / CHAIN_FILE
        """The chain's sqlite file."""
        self.records_path = path / RECORDS_FILE
        """The unposted records' sqlite file."""
        self.signing_key_path = path / SIGNING_KEY_FILE
        """The TEE's RSA signing key (PEM, 0600)."""
        self.tls_key_path = path / TLS_KEY_FILE
        """The TEE's TLS key (PEM, 0600)."""
        self._lock: IO[bytes] | None = lock

    @classmethod
    def open(cls, path: Path | str, *, fresh: bool = False) -> StateDir:
        """Create (0700) and lock `path`; with `fresh`, start over (the old chain is deleted).

        StateInUse when another devnet holds it.
        """
        directory = Path(path).expanduser()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = open(directory / LOCK_FILE, "ab")  # noqa: SIM115 (held until close)
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StateInUse(f"another og-chat devnet is running on {directory}") from None
        state = cls(directory, lock)
        if fresh:
            for name in STATE_FILES:
                with contextlib.suppress(FileNotFoundError):
                    (directory / name).unlink()
        return state

    def set_aside(self) -> Path:
        """Move the kept state to `previous-<time>/` beside it (a chain this devnet cannot run)."""
        target = self.path / f"previous-{time.strftime('%Y%m%d-%H%M%S')}"
        target.mkdir(mode=0o700)
        for name in STATE_FILES:
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).rename(target / name)
        return target

    def close(self) -> None:
        """Release the lock. Idempotent."""
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
