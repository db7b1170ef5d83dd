"""Writing an answer's image to a file the user named (`og-chat ask -o FILE`, the TUI's save).

The file is written atomically and 0600 like everything og-chat writes, and an existing
file is never replaced unless the caller says so: an image answer is paid for, and so
is whatever the user had at that path.
"""

from __future__ import annotations

from pathlib import Path

from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.images import decode_image

from .atomic import write_atomic


class ImageFileExists(ConfigurationError, FileExistsError):
    """The image's file already exists and replacing it was not asked for."""

    hint = "pass --force to replace it, or choose another file"


def refuse_overwrite(path: Path, *, force: bool) -> None:
    """Raise ImageFileExists when `path` exists and `force` is not set (check before paying)."""
    if path.exists() and not force:
        raise ImageFileExists(f"{path} already exists")


def image_paths(path: Path, count: int) -> list[Path]:
    """Where `count` images go: `path` itself, then `stem-2.ext`, `stem-3.ext`, …"""
    return [path, *(path.with_name(f"{path.stem}-{n}{path.suffix}") for n in range(2, count + 1))]


def save_images(uris: list[str], path: Path, *, force: bool = False) -> list[Path]:
    """Decode each image and write it (`image_paths`); returns the files written."""
    images = [decode_image(uri) for uri in uris]  # all readable before anything is written
    targets = image_paths(path, len(images))
    for target in targets:
        refuse_overwrite(target, force=force)
    for target, image in zip(targets, images, strict=True):
        write_atomic(target, image.data)
    return targets
