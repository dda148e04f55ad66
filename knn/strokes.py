"""Strokes as lines: thinning to a skeleton and redrawing at a chosen pen width.

A digit's identity lives in the path of the pen, not in how wide the pen
was. This module turns ink into a one-pixel skeleton (Zhang-Suen thinning,
vectorised over a whole stack of images with a 256-entry lookup table) and
redraws a skeleton with a round pen of any radius, anti-aliased, the way a
browser canvas draws a line with round caps. :mod:`knn.preprocess` uses it to
give every digit, drawn with a hairline or a marker, MNIST's typical stroke
width; :mod:`knn.drawn` uses it to turn MNIST test digits into pen paths.

Pure NumPy; knows nothing about the engine, files or MNIST.
"""

from __future__ import annotations

import numpy as np

# the eight neighbours P2..P9 of Zhang & Suen (1984), clockwise from north: (dy, dx)
_RING = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _tables() -> tuple:
    """Which 8-neighbourhood codes (bit i = neighbour P(i+2)) may be deleted in each sub-iteration."""
    first = np.zeros(256, bool)
    second = np.zeros(256, bool)
    for code in range(256):
        p = [(code >> i) & 1 for i in range(8)]  # p[0] = P2 (north) ... p[7] = P9 (north-west)
        b = sum(p)  # neighbours with ink
        a = sum(p[i] == 0 and p[(i + 1) % 8] == 1 for i in range(8))  # 0 -> 1 transitions around the ring
        if not (2 <= b <= 6 and a == 1):
            continue
        n, e, s, w = p[0], p[2], p[4], p[6]
        first[code] = n * e * s == 0 and e * s * w == 0
        second[code] = n * e * w == 0 and n * s * w == 0
    return first, second


_FIRST, _SECOND = _tables()


def _codes(x: np.ndarray) -> np.ndarray:
    """(n, H, W) bool -> (n, H, W) uint8 code of each pixel's eight neighbours (outside = no ink)."""
    n, h, w = x.shape
    pad = np.zeros((n, h + 2, w + 2), np.uint8)
    pad[:, 1:-1, 1:-1] = x
    code = np.zeros((n, h, w), np.uint8)
    for bit, (dy, dx) in enumerate(_RING):
        code |= pad[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] << np.uint8(bit)
    return code


def thin(masks: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Zhang-Suen thinning of (n, H, W) or (H, W) boolean masks to one-pixel-wide skeletons.

    Connected strokes stay connected and their end points stay put; a blob
    shrinks to a point or a short line. Deterministic.
    """
    x = np.asarray(masks, bool).copy()
    single = x.ndim == 2
    x = x.reshape((1,) + x.shape) if single else x
    for _ in range(max_iter):
        changed = False
        for table in (_FIRST, _SECOND):
            delete = x & table[_codes(x)]
            if delete.any():
                x &= ~delete
                changed = True
        if not changed:
            break
    return x[0] if single else x


def _offsets(radius: float) -> tuple:
    """Integer offsets within radius + 1 of the origin and their lengths."""
    r = int(np.ceil(radius + 1))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    keep = np.hypot(dy, dx) <= radius + 1
    return dy[keep], dx[keep], np.hypot(dy, dx)[keep]


def redraw(skeletons: np.ndarray, radius: float) -> np.ndarray:
    """Draw (n, H, W) or (H, W) skeletons with a round pen of the given radius.

    Returns float32 ink in [0, 1] of the same shape: a pixel is inked by how
    far its centre lies inside the pen's reach of the nearest skeleton pixel
    (a one-pixel anti-aliased edge), so a line comes out ``2 * radius`` wide. Ink reaching past the frame is cut off,
    so leave a margin of ``radius + 1``.
    """
    s = np.asarray(skeletons, bool)
    single = s.ndim == 2
    s = s.reshape((1,) + s.shape) if single else s
    n, h, w = s.shape
    r = int(np.ceil(radius + 1))
    pad = np.zeros((n, h + 2 * r, w + 2 * r), bool)
    pad[:, r:r + h, r:r + w] = s
    nearest = np.full((n, h, w), np.inf, np.float32)
    for dy, dx, d in zip(*_offsets(radius)):
        hit = pad[:, r + dy:r + dy + h, r + dx:r + dx + w]
        np.minimum(nearest, np.where(hit, np.float32(d), np.float32(np.inf)), out=nearest)
    ink = np.clip(radius + 0.5 - nearest, 0, 1).astype(np.float32)
    return ink[0] if single else ink
