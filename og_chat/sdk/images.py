"""Images in answers: the `data:` URIs image models answer with, read back into bytes.

The gateway hands images back in `message.images` (a streamed answer: on its final
event), and the official SDK exposes them as `data:<type>;base64,…` URIs
(og-sdk-wire.md §7); `TextGenerationOutput.images` and the final `StreamChunk.images`
carry them the same way here. This reads one back, so the CLI (`ask -o FILE`) and the
TUI (inline images, "save image") decode it by one rule.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from .errors import OGError

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[\w.+-]+=[\w.+-]+)*;base64,")

EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}
"""The file extension of each image type an answer may carry."""


class ImageDataError(OGError, ValueError):
    """An answer's image is not a base64 `data:` URI of an image."""

    hint = "the gateway's answer carried an image og-chat cannot read"


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """One image of an answer: its media type and its bytes."""

    mime: str
    data: bytes

    @property
    def extension(self) -> str:
        """`.png` for a PNG, and so on (`.img` for a type not in `EXTENSIONS`)."""
        return EXTENSIONS.get(self.mime, ".img")


def decode_image(uri: str) -> DecodedImage:
    """The bytes of a `data:image/…;base64,…` URI; ImageDataError for anything else."""
    match = _DATA_URI.match(uri)
    if match is None or not match.group("mime").startswith("image/"):
        shown = uri[:40] + ("…" if len(uri) > 40 else "")
        raise ImageDataError(f"not a base64 image data URI: {shown!r}")
    try:
        data = base64.b64decode(uri[match.end() :], validate=True)
    except (binascii.Error, ValueError):
        raise ImageDataError("the image's base64 data is damaged") from None
    return DecodedImage(match.group("mime"), data)
