"""Where og-chat keeps its state, and how that state is protected on disk.

Layout (platform directories via platformdirs):

- config: ``~/.config/og-chat/config.toml`` (``user_config_dir``)
- data:   ``~/.local/share/og-chat/`` (``user_data_dir``) holding ``receipts.jsonl``,
  ``sessions/``, ``drafts/`` and ``keystore.json``

``OG_CHAT_HOME`` overrides both, so one directory holds everything (handy for tests,
portable installs and several wallets side by side):

- config: ``$OG_CHAT_HOME/config.toml``
- data:   ``$OG_CHAT_HOME/data/``

Directories we create are 0700 and files we write are 0600: receipts, prompts and
the encrypted key are nobody else's business on a shared machine.

The environment is read on every call, not at import, so a process (or a test)
that changes ``OG_CHAT_HOME`` sees the change.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "og-chat"
HOME_ENV = "OG_CHAT_HOME"
"""Environment variable that relocates config and data into one directory."""

DIR_MODE = 0o700
FILE_MODE = 0o600

CONFIG_FILE = "config.toml"
RECEIPTS_FILE = "receipts.jsonl"
SESSIONS_DIR = "sessions"
DRAFTS_DIR = "drafts"
KEYSTORE_FILE = "keystore.json"


def _home_override() -> Path | None:
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """The directory holding ``config.toml`` (not created)."""
    home = _home_override()
    if home is not None:
        return home
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def config_path() -> Path:
    """The config file the CLI and the TUI read (it may not exist yet)."""
    return config_dir() / CONFIG_FILE


def data_dir(*, create: bool = False) -> Path:
    """The directory holding receipts, sessions, drafts and the keystore.

    With ``create=True`` it is made (0700) if missing.
    """
    home = _home_override()
    if home is not None:
        path = home / "data"
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if create:
        ensure_private_dir(path)
    return path


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) so that what we create is 0700.

    Existing directories are left as they are: we never chmod a directory the user
    made themselves (``OG_CHAT_HOME`` could point at one they share on purpose).
    Missing parents are created 0700 too, since nothing else will use them.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process made it first; it is theirs to mode
        # mkdir's mode is filtered through the umask; say exactly what we mean.
        os.chmod(directory, DIR_MODE)
    return path
