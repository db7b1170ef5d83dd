"""An answer's images, shown inline with textual-image.

textual-image picks how to draw by asking the terminal when it is imported: sixel or the
kitty graphics protocol where the terminal says it has them, coloured half-blocks in any
other terminal, shaded characters when there is no terminal at all (tests, `og-chat
serve`'s pipes). Asking means writing a query and reading the answer from stdin, which
Textual's input thread owns once the app runs; so the first image of a session imports it
with the app suspended for that moment (the terminal as it was before og-chat started),
and the app, its first frame and every answer without images never load it (nor Pillow).
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Callable
from typing import Any, cast

from textual.app import App, ComposeResult, SuspendNotSupported
from textual.containers import Container, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from og_chat.app.sanitize import neutralize
from og_chat.sdk.images import DecodedImage, ImageDataError, decode_image

IMAGE_MODULE = "textual_image.widget"
IMAGE_WIDTH = 48
"""Cells a landscape image is drawn across (its height follows its aspect ratio)."""
IMAGE_ROWS = 24
"""Rows a portrait image may take (it is drawn narrower instead)."""
MAX_PIXELS = 40_000_000
"""Larger images are not decoded: an answer's image is untrusted input, and a small file
can claim a size that takes gigabytes to unpack."""


ImageWidget = Callable[..., Widget]
"""textual-image's `Image(picture, classes=...)`: typed here, as the package is loaded late."""


def image_widget_class(app: App[Any]) -> ImageWidget:
    """textual-image's `Image` widget, its drawing method chosen by the terminal."""
    if IMAGE_MODULE not in sys.modules and _reads_a_terminal(app):
        try:
            with app.suspend():  # the terminal answers textual-image, not Textual's reader
                importlib.import_module(IMAGE_MODULE)
        except SuspendNotSupported:
            pass
    return cast("ImageWidget", importlib.import_module(IMAGE_MODULE).Image)


def _reads_a_terminal(app: App[Any]) -> bool:
    """True when the app is reading keys from a terminal (so a query must not race it)."""
    stdout = sys.__stdout__
    return not app.is_headless and stdout is not None and stdout.isatty()


def cells_across(size: tuple[int, int]) -> int:
    """How many cells wide to draw an image of `size` pixels: `IMAGE_WIDTH`, or narrower so
    that it stays within `IMAGE_ROWS` (a cell is about twice as high as it is wide)."""
    width, height = size
    return max(1, min(IMAGE_WIDTH, int(IMAGE_ROWS * 2 * width / height)))


def caption(index: int, image: DecodedImage, size: tuple[int, int], save_keys: str) -> str:
    """The line under an image: which one, what it is, how to keep it."""
    width, height = size
    return f"image {index} · {image.mime} · {width}×{height} px · {save_keys} saves it"


def _unshown(index: int, why: str) -> Static:
    """What stands in for an image that cannot be drawn: which one, and why."""
    return Static(Content(f"✗ image {index} cannot be shown: {neutralize(why)}"), classes="caption")


class InlineImages(Vertical):
    """The images of one answer, each with a caption; an unreadable one says so instead."""

    DEFAULT_CSS = """
    InlineImages { height: auto; }
    InlineImages .frame { height: auto; }
    InlineImages .image { width: auto; height: auto; }
    InlineImages .caption { color: $foreground-muted; height: auto; }
    """
    """textual-image sizes an `auto` image by the space it is given, but reads a fixed width
    from its own size, which is 0 until it is laid out (so it was measured 0 rows high):
    each image is `auto` inside a frame as wide as it should be drawn."""

    def __init__(self, uris: list[str], save_keys: str) -> None:
        super().__init__(classes="images")
        self.uris = uris
        self.save_keys = save_keys
        """The keys of "Save image", for the captions."""

    def compose(self) -> ComposeResult:
        from PIL import Image as PILImage  # loaded with textual-image, on the first image

        image_class = image_widget_class(self.app)
        for index, uri in enumerate(self.uris, 1):
            try:
                decoded = decode_image(uri)
                picture = PILImage.open(io.BytesIO(decoded.data))
                if picture.width * picture.height > MAX_PIXELS:
                    raise ImageDataError(f"{picture.width}×{picture.height} px is too large")
                picture.load()
            except ImageDataError as error:
                yield _unshown(index, str(error.args[0]))
                continue
            except (OSError, ValueError, PILImage.DecompressionBombError):
                yield _unshown(index, f"not an image og-chat can read ({decoded.mime})")
                continue
            frame = Container(image_class(picture, classes="image"), classes="frame")
            frame.styles.width = cells_across(picture.size)
            yield frame
            yield Static(
                Content(caption(index, decoded, picture.size, self.save_keys)), classes="caption"
            )
