"""Whole-file replacement that a crash cannot leave half-written.

Sessions, drafts, the config and the keystore are small files rewritten in full.
Each write goes to a temporary file in the same directory, is fsynced, then renamed
over the target with ``os.replace`` (atomic on POSIX), and the directory is fsynced
so the rename itself survives a power cut. A reader therefore sees the old file or
the new one, never a mix; a crash leaves at most a stray ``.<name>.*.tmp`` file,
which `sweep_temp_files` removes once it is clearly abandoned.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from .paths import FILE_MODE, ensure_private_dir

TEMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # platforms without directory fds (Windows) have nothing to sync
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename still happened
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``data`` in one atomic step; the file ends up ``mode`` (0600)."""
    ensure_private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    os.close(fd)
    try:
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_dir(path.parent)


def sweep_temp_files(directory: Path, *, older_than: float = 3600.0) -> int:
    """Remove temporary files a crashed writer left behind; returns how many.

    Only files older than ``older_than`` seconds go, so a write in progress in
    another process is never pulled from under it. Their content never replaced
    the real file, so nothing the user saved is lost.
    """
    removed = 0
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed
