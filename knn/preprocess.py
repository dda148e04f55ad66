"""Any digit picture -> a 28x28 uint8 MNIST-style image (white ink on black).

Two stages, kept apart so that each can be shown and tested:

* :func:`read_image` turns file bytes or an array (a canvas RGBA array, a PNG
  or JPEG of any size and mode) into an *ink map*: float32 (H, W) in [0, 1],
  1 where the pen was. It honours EXIF rotation, reads ink from the alpha
  channel when the picture is transparent, and otherwise detects whether the
  digit is light on dark or dark on light from the border.
* :func:`to_mnist` makes the MNIST format out of an ink map, the way MNIST
  itself was made: crop to the ink's bounding box, scale the longer side to
  20 px keeping the aspect ratio (anti-aliased), and place the result in 28x28
  so that its centre of mass is at the centre. :func:`mnist_steps` returns
  every intermediate picture for display.
* Optionally (``normalise_width``), before fitting, the pen width is
  measured (ink area over skeleton length, see :mod:`knn.strokes`). A stroke
  thinner than almost any MNIST digit's (a hairline brush on a big drawing)
  is thinned to its skeleton and redrawn with MNIST's median pen width.
  Wider strokes are left alone: measured, redrawing them loses more (closed
  loops) than it gains.

Two transforms of 28x28 images serve the comparison spaces
(:mod:`knn.spaces`): :func:`deskew` and :func:`thicken`.

Problems with the input raise :class:`ImageError` with a message fit for a
user. This module knows nothing about the engine or the data set.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from knn.tf import tf
from PIL import Image, ImageOps, UnidentifiedImageError

from knn.strokes import redraw, thin

MAX_PIXELS = 40_000_000  # larger pictures are refused before decoding (decompression bombs)
MAX_DECODE = 100_000_000  # bytes a picture may take to decode; larger ones are refused before decoding
MAX_SIDE = 2048  # decoded pictures are shrunk to this by Pillow, on 8-bit pixels, before they become arrays
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # what a picture may be; Pillow's other decoders are never tried
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own check, at open: it refuses more than twice this
STORED = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}  # bytes a pixel takes in Pillow; others 4
INK_LEVEL = 0.2  # ink-map value that counts as ink when finding the bounding box
BOX, SIDE = 20, 28  # MNIST: the digit's longer side, the image side
# Pen width, measured in px of the 20-px box. MNIST's test digits: 10th-90th
# percentile 2.2-4.4, median 3.0 by this module's estimate; 1% are below 1.8.
WORK = 40  # the crop's longer side while measuring and redrawing strokes (2x the box)
MASK_LEVEL = 0.4  # fraction of the crop's peak ink that counts as stroke when thinning
MIN_WIDTH = 1.8  # thinner strokes are redrawn ...
PEN_RADIUS = 2.1  # ... with a round pen of this radius at WORK scale (4.2 px wide; best of 1.6, 2.1, 2.6 measured)


class ImageError(ValueError):
    """The picture cannot be read as a digit; the message says why, for a user."""


class NothingDrawn(ImageError):
    """The picture holds no ink."""

    def __init__(self, msg: str = "Nothing drawn: the image has no ink. Draw or upload a digit."):
        super().__init__(msg)


def _open(data: bytes) -> Image.Image:
    """Image bytes -> a Pillow picture at most MAX_SIDE a side, upright; bombs and damaged files refused clearly.

    Pillow does the limiting and the shrinking before anything becomes a
    NumPy array: the size a file declares is checked before decoding; a JPEG
    decodes at a reduced scale (``draft``); any other picture that would take
    more than MAX_DECODE bytes to decode is refused, and the rest decode in
    full and are shrunk by Pillow's box ``reduce``. The first frame of an
    animation; EXIF orientation honoured.
    """
    if not data:
        raise ImageError("The file is empty.")
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"The image is too large: {w:,}x{h:,} pixels (at most {MAX_PIXELS:,}).")
        img.seek(0)  # first frame of an animation
        if img.format == "JPEG":
            img.draft(img.mode, (MAX_SIDE, MAX_SIDE))  # DCT scaling: decoded at 1/2 to 1/8 of its size, if larger
        need = _decode_bytes(img)
        if need > MAX_DECODE:
            raise ImageError(f"The image is too large to read: {w:,}x{h:,} pixels in {img.mode} take "
                             f"{need / 1e6:.0f} MB to decode (at most {MAX_DECODE / 1e6:.0f} MB). "
                             "Save it smaller, or in greyscale.")
        img.load()
        return ImageOps.exif_transpose(_shrink(img))
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"The image is too large: it declares more than {MAX_PIXELS:,} pixels.") from None
    except UnidentifiedImageError:
        raise ImageError("This file is not an image the app reads (PNG, JPEG, GIF, BMP or WebP).") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"The image is damaged or truncated ({e}).") from None


def _averageable(img: Image.Image) -> Optional[str]:
    """The mode a picture must be converted to before Pillow can average its pixels, or None if none."""
    if img.mode == "P":
        return "RGBA" if "transparency" in img.info else "L"
    return {"1": "L", "PA": "RGBA", "I;16": "I", "I;16B": "I", "I;16L": "I"}.get(img.mode)


def _decode_bytes(img: Image.Image) -> int:
    """Bytes a picture takes to decode and, if need be, to convert before shrinking."""
    to = _averageable(img)
    return img.width * img.height * (STORED.get(img.mode, 4) + (0 if to is None else STORED.get(to, 4)))


def _shrink(img: Image.Image) -> Image.Image:
    """A decoded picture with a side over MAX_SIDE -> box-averaged by a whole factor to at most MAX_SIDE (Pillow)."""
    f = math.ceil(max(img.size) / MAX_SIDE)
    if f <= 1:
        return img
    to = _averageable(img)
    return (img.convert(to) if to else img).reduce(f)


def _from_pil(img: Image.Image) -> tuple:
    """A PIL image of any mode -> (gray (H, W) float32 in 0-1, alpha or None)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float32)
        lo, hi = float(a.min()), float(a.max())
        return ((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)), None
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info)
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        return gray, rgba[..., 3]
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0, None


def _from_array(a: np.ndarray):
    """An array (H, W), (H, W, 3) or (H, W, 4), uint8 0-255 or float 0-1."""
    a = np.asarray(a)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)) or min(a.shape[:2]) < 1:
        raise ImageError(f"An image array must have shape (H, W), (H, W, 3) or (H, W, 4); got {a.shape}.")
    if a.dtype == np.uint8:
        a = a.astype(np.float64) / 255.0
    elif np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise ImageError("The image holds NaN or infinite values.")
        if a.min() < 0 or a.max() > 1:
            raise ImageError(f"A float image must lie in [0, 1]; got values from {a.min():g} to {a.max():g}.")
    else:
        raise ImageError(f"An image array must be uint8 or float; got {a.dtype}.")
    if a.ndim == 2 or a.shape[2] == 1:
        return a.reshape(a.shape[:2]), None
    gray = a[..., :3] @ np.array([0.299, 0.587, 0.114])
    return gray, (a[..., 3] if a.shape[2] == 4 else None)


def _shrink_array(gray: np.ndarray, alpha):
    """An array picture with a side over MAX_SIDE -> box-averaged by a whole factor (the bytes path has Pillow do it)."""
    h, w = gray.shape
    f = int(np.ceil(max(h, w) / MAX_SIDE))
    if f <= 1:
        return gray, alpha
    def box(a):
        a = a[: h - h % f or h, : w - w % f or w]
        return a.reshape(a.shape[0] // f, f, a.shape[1] // f, f).mean((1, 3))
    return box(gray), (None if alpha is None else box(alpha))


def read_image(image) -> np.ndarray:
    """File bytes, a PIL image or an array -> ink map (H, W) float32 in [0, 1], at most MAX_SIDE a side.

    Bytes are decoded within bounds (see :func:`_open`). Transparent pictures (a canvas with no background, a PNG drawn on
    transparency): ink is where the alpha channel is. Opaque pictures: the
    background is the median of the border; ink is the difference from it,
    stretched so that the strongest stroke is 1. Raises ImageError.
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        gray, alpha = _from_pil(_open(bytes(image)))
    elif isinstance(image, Image.Image):
        gray, alpha = _from_pil(_shrink(image))
    else:
        gray, alpha = _shrink_array(*_from_array(image))
    if alpha is not None and alpha.min() < 0.9:
        ink = alpha  # the strokes are what is not transparent
    else:
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        bg = float(np.median(border))
        ink = gray - bg if bg < 0.5 else bg - gray  # light on dark, or dark on light
        top = float(np.percentile(ink[ink > 0], 99)) if np.any(ink > 0) else 0.0
        if top < 0.1:  # less than 10% contrast anywhere: a blank or flat picture
            raise NothingDrawn()
        ink = ink / top
    ink = np.clip(ink, 0.0, 1.0).astype(np.float32)
    if not np.any(ink >= INK_LEVEL):
        raise NothingDrawn()
    return ink


@dataclass(frozen=True)
class Steps:
    """The pictures on the way from an ink map to MNIST's format."""

    crop: np.ndarray  # float32 (h, w): the ink's bounding box
    skeleton: np.ndarray  # bool (WORK + margins)^2: the pen's path, one pixel wide
    width: float  # estimated pen width, px in the 20-px box
    redrawn: Optional[np.ndarray]  # float32: the skeleton redrawn at MNIST's width, or None if not needed
    fitted: np.ndarray  # float32 (<=20, <=20): longer side scaled to 20, aspect kept
    centred: np.ndarray  # uint8 (28, 28): centre of mass at the centre
    box: tuple  # (top, left, bottom, right) of the crop in the ink map


def bounding_box(ink: np.ndarray) -> tuple:
    """(top, left, bottom, right), exclusive, of pixels with ink >= INK_LEVEL."""
    rows = np.nonzero((ink >= INK_LEVEL).any(1))[0]
    cols = np.nonzero((ink >= INK_LEVEL).any(0))[0]
    if not len(rows):
        raise NothingDrawn()
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def fit_box(crop: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is ``box`` px, keeping the aspect ratio (anti-aliased)."""
    h, w = crop.shape
    s = box / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))  # PIL takes (width, height)
    img = Image.fromarray(crop.astype(np.float32), mode="F")
    return np.clip(np.asarray(img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)), 0, 1).astype(np.float32)


def centre_by_mass(fitted: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Place in a side x side frame with the centre of mass at the centre (integer shift)."""
    h, w = fitted.shape
    mass = fitted.sum()
    cy = (fitted.sum(1) @ np.arange(h)) / mass
    cx = (fitted.sum(0) @ np.arange(w)) / mass
    top = int(np.clip(round((side - 1) / 2 - cy), 0, side - h))
    left = int(np.clip(round((side - 1) / 2 - cx), 0, side - w))
    out = np.zeros((side, side), np.float32)
    out[top:top + h, left:left + w] = fitted
    return out


def _resize(a: np.ndarray, size: tuple) -> np.ndarray:
    """Resize float ink to (width, height): area-average when shrinking, bilinear when enlarging."""
    shrink = size[0] < a.shape[1] or size[1] < a.shape[0]
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize(size, method))


def skeleton(crop: np.ndarray) -> tuple:
    """A crop of ink -> (skeleton at WORK scale with a margin, pen width in px of the 20-px box).

    The crop is scaled so its longer side is WORK px, cut at MASK_LEVEL of
    its peak, and thinned; the pen width is the stroke area over the
    skeleton's length.
    """
    h, w = crop.shape
    s = WORK / max(h, w)
    small = _resize(crop, (max(1, round(w * s)), max(1, round(h * s))))
    m = int(np.ceil(PEN_RADIUS)) + 2  # room for the redrawn pen
    mask = np.zeros((WORK + 2 * m, WORK + 2 * m), bool)
    mask[m:m + small.shape[0], m:m + small.shape[1]] = small >= MASK_LEVEL * max(float(small.max()), 1e-6)
    sk = thin(mask)
    width = float(mask.sum()) / max(int(sk.sum()), 1) * BOX / WORK
    return sk, width


def mnist_steps(ink: np.ndarray, normalise_width: bool = True) -> Steps:
    """Every picture of :func:`to_mnist`, for showing how it was made.

    With ``normalise_width``, strokes thinner than MIN_WIDTH are redrawn
    from their skeleton with MNIST's median pen width before fitting.
    """
    t, l, b, r = bounding_box(ink)
    crop = ink[t:b, l:r]
    sk, width = skeleton(crop)
    redrawn = None
    source = crop
    if normalise_width and width < MIN_WIDTH:
        redrawn = redraw(sk, PEN_RADIUS)
        t2, l2, b2, r2 = bounding_box(redrawn)
        source = redrawn[t2:b2, l2:r2]
    fitted = fit_box(source)
    centred = np.rint(centre_by_mass(fitted) * 255).astype(np.uint8)
    return Steps(crop=crop, skeleton=sk, width=width, redrawn=redrawn, fitted=fitted, centred=centred,
                 box=(t, l, b, r))


def to_mnist(image, normalise_width: bool = True) -> np.ndarray:
    """Any picture (see :func:`read_image`) -> uint8 (28, 28), white digit on black."""
    return mnist_steps(read_image(image), normalise_width).centred


# ---- transforms of 28x28 images ----

def deskew(images: np.ndarray) -> np.ndarray:
    """Shear each 28x28 image so its principal axis is vertical (LeCun et al. 1998).

    images: (n, 28, 28) uint8. The shear is chosen from second moments,
    ``alpha = mu11 / mu02``, and the centre of mass moves to the centre;
    bilinear interpolation by TensorFlow's batched image transform (17x
    faster than NumPy gathers). Returns uint8 of the same shape.
    """
    x = np.asarray(images, np.float32).reshape(-1, SIDE, SIDE)
    grid = np.arange(SIDE, dtype=np.float32)
    mass = x.sum((1, 2)) + 1e-6  # (n,)
    cy = (x.sum(2) @ grid) / mass
    cx = (x.sum(1) @ grid) / mass
    dy = grid[None, :] - cy[:, None]  # (n, 28)
    dx = grid[None, :] - cx[:, None]
    mu11 = np.einsum("nyx,ny,nx->n", x, dy, dx) / mass
    mu02 = np.einsum("nyx,ny->n", x, dy * dy) / mass + 1e-6
    alpha = mu11 / mu02
    c = (SIDE - 1) / 2
    # output pixel (x, y) samples the input at (x + alpha (y - c) + cx - c, y + cy - c)
    t = np.zeros((len(x), 8), np.float32)  # rows of (a0, a1, a2, b0, b1, b2, c0, c1)
    t[:, 0], t[:, 1], t[:, 2] = 1, alpha, cx - c - alpha * c
    t[:, 4], t[:, 5] = 1, cy - c
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=x[..., None], transforms=t, output_shape=[SIDE, SIDE], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")
    return np.rint(out.numpy()[..., 0]).clip(0, 255).astype(np.uint8)


def thicken(images: np.ndarray) -> np.ndarray:
    """The same digits drawn with a pen about 2 px wider: grey-level dilation by a 3x3 cross.

    A label-preserving variant for the reference set: canvas drawings with a
    marker are fatter than almost every MNIST digit, and the thin ones are
    already redrawn by :func:`mnist_steps`. (n, 28, 28) uint8 -> same.
    """
    x = np.asarray(images, np.uint8).reshape(-1, SIDE, SIDE)
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    return np.maximum.reduce([p[:, 1:-1, 1:-1], p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]])
