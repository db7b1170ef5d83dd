"""The devnet's image answers: a real PNG drawn from the prompt, the same for the same prompt.

An image model on the devnet answers with a picture a person can recognise as
theirs (the prompt's words written on it, a palette and shapes seeded by the
prompt and the model) and a test can decode (a PNG of `SIZE`, not one colour).
Pillow loads only when an image is drawn.
"""

from __future__ import annotations

import base64
import colorsys
import hashlib
import io
import random
import textwrap

SIZE = (320, 240)
"""Width and height of every devnet image, in pixels."""
IMAGE_TOKENS = 256
"""Completion tokens one image counts for (what it is charged as)."""
_WRAP = 34
"""Characters per line of the prompt written on the image."""


def draw_png(prompt: str, model_id: str) -> bytes:
    """A PNG of `SIZE` for `prompt`: seeded shapes, the model's name and the prompt's words."""
    from PIL import Image, ImageDraw, ImageFont

    seed = hashlib.sha256(f"{model_id}\n{prompt}".encode()).digest()
    rng = random.Random(seed)
    width, height = SIZE
    hue = rng.randrange(360)
    background = _colour(hue, 0.35, 0.92)
    image = Image.new("RGB", SIZE, background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    for _ in range(6 + rng.randrange(6)):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(12, 70)
        fill = _colour((hue + rng.randrange(40, 320)) % 360, 0.6, 0.75)
        box = (x - r, y - r, x + r, y + r)
        if rng.random() < 0.5:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    draw.rectangle((0, 0, width, 22), fill=_colour(hue, 0.5, 0.3))
    draw.text((6, 4), f"og-chat devnet · {model_id}"[:52], fill=(255, 255, 255), font=font)
    lines = textwrap.wrap(prompt.strip() or "(no prompt)", _WRAP)[:6]
    top = height - 16 * len(lines) - 10
    draw.rectangle((0, top - 6, width, height), fill=(255, 255, 255))
    for i, line in enumerate(lines):
        draw.text((8, top + 16 * i), line, fill=(20, 20, 20), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def png_data_uri(png: bytes) -> str:
    """`data:image/png;base64,…`: how the gateway hands images back (og-sdk-wire.md §7)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _colour(hue: int, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue / 360, saturation, value)
    return int(r * 255), int(g * 255), int(b * 255)
