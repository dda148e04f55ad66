"""A benchmark of canvas-like drawings that never touches the training pixels.

MNIST's test digits are thinned to their skeleton (the path of the pen) and
redrawn the way the browser canvas draws: white strokes with round caps and
joins on a black 280x280 canvas, anti-aliased, at a chosen pen width, size,
position and slant. Everything is seeded and generated on the fly; nothing is
stored. BROWSER_DIGITS, a 1, a 0 and a 7 as a person draws them with a
mouse, are drawn at every width too.

Only the *test* digits are used, so a drawing can never be its own nearest
training neighbour. Knows nothing about the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from knn.strokes import thin

CANVAS = 280  # the page's drawing canvas: its side, px
WIDTHS = (8, 12, 16, 20, 24, 32, 40)  # pen widths measured, px on the canvas
SIZES = (0.35, 0.95)  # the digit's height (or width if wider) as a fraction of the canvas
SLANT = 0.3  # horizontal shear range, +- (x shifts by slant * dy)
SUPERSAMPLE = 3  # drawn at 3x and averaged down: the canvas's anti-aliasing

# A 1, a 0 and a 7 drawn with a mouse on the page's canvas: strokes in canvas pixels.
BROWSER_DIGITS = {
    1: [[(150, 45), (145, 140), (138, 235)]],
    0: [[(140 + 62 * math.sin(t / 24 * 2 * math.pi), 140 - 92 * math.cos(t / 24 * 2 * math.pi)) for t in range(26)]],
    7: [[(65, 55), (140, 52), (215, 55), (170, 140), (125, 240)]],
}


def skeleton_segments(image: np.ndarray, scale: int = 4) -> np.ndarray:
    """A 28x28 uint8 digit -> its skeleton as line segments (m, 2, 2) of (x, y) in 28-px units.

    The image is enlarged ``scale`` times (bilinear), cut at half its peak
    and thinned; each skeleton pixel is joined to its 8-connected neighbours.
    """
    img = Image.fromarray(np.asarray(image, np.uint8)).resize((28 * scale,) * 2, Image.Resampling.BILINEAR)
    a = np.asarray(img, np.float32)
    sk = thin(a >= 0.5 * a.max())
    ys, xs = np.nonzero(sk)
    segs = []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ny, nx = ys + dy, xs + dx
        ok = (ny < sk.shape[0]) & (nx >= 0) & (nx < sk.shape[1])
        ok[ok] = sk[ny[ok], nx[ok]]
        segs.append(np.stack([np.stack([xs[ok], ys[ok]], 1), np.stack([nx[ok], ny[ok]], 1)], 1))
    dots = np.stack([np.stack([xs, ys], 1)] * 2, 1)  # isolated pixels still leave a dot
    return (np.concatenate(segs + [dots]).astype(np.float64) + 0.5) / scale


def to_canvas(segments, size: float, centre: tuple, slant: float = 0.0) -> list:
    """Segments (m, 2, 2) or polylines -> polylines in canvas px: the longer side spans ``size``
    of the canvas, sheared by ``slant``, centred at ``centre``."""
    lines = [np.asarray(s, np.float64) for s in segments]
    pts = np.concatenate(lines)
    lo, hi = pts.min(0), pts.max(0)
    s = size * CANVAS / max(float(max(hi - lo)), 1e-9)
    mid = (lo + hi) / 2
    out = []
    for line in lines:
        xy = (line - mid) * s
        xy[:, 0] += slant * xy[:, 1]
        out.append(xy + np.asarray(centre))
    return out


def render(segments, width: float, size: float, centre: tuple, slant: float = 0.0) -> np.ndarray:
    """Draw segments (m, 2, 2) or polylines [[(x, y), ...], ...] on a black 280x280 canvas.

    The drawing is scaled so that its longer side spans ``size`` of the
    canvas, sheared by ``slant`` and centred at ``centre`` (canvas px), then
    drawn white with a round pen ``width`` px wide. Returns uint8 (280, 280).
    """
    lines = to_canvas(segments, size, centre, slant)
    return pen(lines, [width] * len(lines), (CANVAS, CANVAS))


def pen(lines, widths, shape: tuple) -> np.ndarray:
    """Polylines in canvas px, each with its pen width, drawn as the canvas draws them.

    White on a black (height, width) = ``shape`` canvas, with round caps and
    joins, anti-aliased by drawing at SUPERSAMPLE times the size and
    averaging down. A one-point line is a dot. Returns uint8 ``shape``.
    """
    f = SUPERSAMPLE
    img = Image.new("L", (shape[1] * f, shape[0] * f), 0)
    draw = ImageDraw.Draw(img)
    for line, width in zip(lines, widths):
        xy = np.asarray(line, np.float64).reshape(-1, 2) * f
        r = width * f / 2
        if len(xy) > 1:
            draw.line([tuple(p) for p in xy], fill=255, width=max(1, round(width * f)), joint="curve")
        for x, y in (xy[0], xy[-1]) if len(xy) > 1 else xy:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img.reduce(f))


@dataclass(frozen=True)
class Drawing:
    image: np.ndarray  # uint8 (280, 280), white on black
    label: int
    width: int  # pen width, canvas px
    size: float  # fraction of the canvas
    source: str  # "mnist-test #i" or "browser"


def drawings(test_images: np.ndarray, test_labels: np.ndarray, per_width: int = 300, seed: int = 0,
             widths=WIDTHS):
    """Yield seeded Drawings: ``per_width`` test digits at every pen width, plus the browser digits.

    The same test digits are drawn at every width, each at a random size,
    slant and position that keeps the whole stroke on the canvas.
    """
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(test_labels), per_width, replace=False))
    skeletons = {int(i): skeleton_segments(test_images[i]) for i in rows}
    for w in widths:
        for i in rows:
            yield place(rng, skeletons[int(i)], int(test_labels[i]), w, f"mnist-test #{int(i)}")
        for label, strokes in BROWSER_DIGITS.items():
            yield place(rng, strokes, label, w, "browser")


def place(rng, segments, label: int, width: int, source: str, slant_range: float = SLANT) -> Drawing:
    """Draw segments or strokes at a random size, slant (+-slant_range) and position, all on the canvas."""
    slant = float(rng.uniform(-slant_range, slant_range))
    fits = (CANVAS - width - 4) / CANVAS / (1 + abs(slant))  # the largest size whose strokes stay on the canvas
    size = min(float(rng.uniform(*SIZES)), fits)
    half = size * CANVAS / 2 * (1 + abs(slant)) + width / 2  # generous half extent
    free = max(0.0, CANVAS / 2 - half)
    centre = (CANVAS / 2 + rng.uniform(-free, free), CANVAS / 2 + rng.uniform(-free, free))
    return Drawing(render(segments, width, size, centre, slant), label, width, size, source)
