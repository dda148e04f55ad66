"""A corpus of hostile and odd image files, built in memory: (name, bytes, what a user should get).

``expect`` is "digit" (a prediction, and which one when known) or "message"
(one clear message, no prediction). Shared by the CLI and page tests.
"""

import io
import struct
import zlib

import numpy as np
from PIL import Image

from knn.drawn import BROWSER_DIGITS, render


def _save(img, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(side: int = 100_000) -> bytes:
    """A valid PNG header declaring side x side pixels, with a tiny compressed body."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * 1000)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def seven(size: int = 280) -> np.ndarray:
    """The browser test's 7, white on black, uint8 (size, size)."""
    img = render(BROWSER_DIGITS[7], 18, 0.8, (140, 140))
    return np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BILINEAR)) if size != 280 else img


def corpus() -> list:
    """[(file name, bytes, expect, digit or None)]."""
    s = seven()
    dark_on_light = 255 - s
    files = []
    files.append(("random-bytes.png", np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "message", None))
    full_png = _save(Image.fromarray(dark_on_light), "PNG")
    files.append(("truncated.png", full_png[: len(full_png) // 3], "message", None))
    full_jpg = _save(Image.fromarray(dark_on_light), "JPEG", quality=90)
    files.append(("truncated.jpg", full_jpg[: len(full_jpg) // 3], "message", None))
    files.append(("bomb.png", bomb_png(), "message", None))
    sixteen = Image.fromarray((s.astype(np.uint16) * 257)).convert("I;16")
    files.append(("gray16.png", _save(sixteen, "PNG"), "digit", 7))
    files.append(("cmyk.jpg", _save(Image.fromarray(dark_on_light).convert("CMYK"), "JPEG"), "digit", 7))
    pal = Image.fromarray(np.where(s > 127, 1, 0).astype(np.uint8), "P")
    pal.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    files.append(("palette-transparent.png", _save(pal, "PNG", transparency=0), "digit", 7))
    frames = [Image.fromarray(dark_on_light).convert("P"), Image.fromarray(np.full_like(s, 255)).convert("P")]
    files.append(("animated.gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
                  "digit", 7))
    rotated = Image.fromarray(np.rot90(dark_on_light, 1).copy())  # stored on its side ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... and EXIF says: rotate 90 degrees clockwise to view
    files.append(("exif-rotated.jpg", _save(rotated, "JPEG", exif=exif), "digit", 7))
    files.append(("one-pixel.png", _save(Image.fromarray(np.array([[255]], np.uint8)), "PNG"), "message", None))
    big = Image.new("L", (10_000, 10_000), 255)
    big.paste(Image.fromarray(dark_on_light).resize((6000, 6000), Image.Resampling.NEAREST), (2000, 2000))
    files.append(("huge-10000x10000.png", _save(big, "PNG", compress_level=1), "message", None))
    files.append(("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M10 10 L50 10 L30 90"/></svg>', "message", None))
    files.append(("notes.txt", b"this is a 7", "message", None))
    files.append(("empty.png", b"", "message", None))
    return files
