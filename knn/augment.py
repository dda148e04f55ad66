"""Label-preserving variants of digits, for training the learned features and for the index.

* :func:`augment` draws random variants of a batch in TensorFlow: pen width
  (thinner or up to three pixels thicker), an elastic distortion
  (:func:`elastic`), then rotation, scale, aspect, shear and shift.
  :func:`augmented` is the same for NumPy arrays, seeded.
* :func:`stylise` adds the European styles MNIST's writers rarely used (a
  flag on 1s, a crossbar on 7s, a curled tail on 9s), drawn with the digit's
  own pen width.
* :func:`style_copies` makes the styled copies that the learned space adds
  to the training digits in its index (see its docstring for which, and why).
* :func:`vary_strokes` varies a digit's pen path the way one writer differs
  from another: slant and proportions, each stroke moved, turned and resized
  on its own, a pen lift part-way along a stroke, ends that stop short or run
  on, and a slow wobble along the path. The pen digits the networks learn
  from are drawn from these (:func:`knn.pen.pen_pictures`).

Images are (n, 28, 28) uint8 or (B, 28, 28, 1) float 0-1 tensors, pen paths
lists of (m, 2) point arrays; this module knows nothing about the network or
the engine.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from knn.tf import tf

from knn.preprocess import SIDE, bounding_box, centre_by_mass, fit_box


def _gaussian(sigma: float) -> np.ndarray:
    r = int(2 * sigma)
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return (g / g.sum()).astype(np.float32)


def elastic(x: tf.Tensor, seed: tf.Tensor, amplitude: tf.Tensor, sigma: float = 4.0) -> tf.Tensor:
    """Elastic distortion (Simard et al. 2003): every pixel moves along a smooth random field.

    The field is uniform noise blurred by a Gaussian of ``sigma`` px, scaled
    so its largest displacement is ``amplitude`` (B,) px; pixels are
    resampled bilinearly, black outside the frame. (B, 28, 28, 1) -> same.
    """
    b = tf.shape(x)[0]
    g = tf.constant(_gaussian(sigma))
    field = tf.random.stateless_uniform((b, SIDE, SIDE, 2), seed, -1.0, 1.0)
    field = tf.nn.depthwise_conv2d(field, tf.tile(g[:, None, None, None], (1, 1, 2, 1)), (1, 1, 1, 1), "SAME")
    field = tf.nn.depthwise_conv2d(field, tf.tile(g[None, :, None, None], (1, 1, 2, 1)), (1, 1, 1, 1), "SAME")
    field *= amplitude[:, None, None, None] / (tf.reduce_max(tf.abs(field), (1, 2, 3), keepdims=True) + 1e-6)
    grid = tf.cast(tf.range(SIDE), tf.float32)
    ys = grid[None, :, None] + field[..., 0]  # (B, 28, 28): where each output pixel samples
    xs = grid[None, None, :] + field[..., 1]
    padded = tf.pad(x[..., 0], ((0, 0), (1, 1), (1, 1)))  # a black border to sample outside the frame
    y0, x0 = tf.floor(ys), tf.floor(xs)
    wy, wx = ys - y0, xs - x0
    bidx = tf.broadcast_to(tf.range(b)[:, None, None], tf.shape(ys))

    def at(yy, xx):
        yy = tf.cast(tf.clip_by_value(yy + 1, 0, SIDE + 1), tf.int32)
        xx = tf.cast(tf.clip_by_value(xx + 1, 0, SIDE + 1), tf.int32)
        return tf.gather_nd(padded, tf.stack([bidx, yy, xx], -1))

    out = ((1 - wy) * (1 - wx) * at(y0, x0) + (1 - wy) * wx * at(y0, x0 + 1)
           + wy * (1 - wx) * at(y0 + 1, x0) + wy * wx * at(y0 + 1, x0 + 1))
    return out[..., None]


THICKNESS = {"thinner": 0.15, "as is": 0.35, "+1": 0.25, "+2": 0.15, "+3": 0.10}  # pen-width variants and their odds


def augment(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Random label-preserving variants of a batch (B, 28, 28, 1) float 0-1.

    Per image: pen width (thinner by one light grey erosion, as is, or
    thicker by one to three 3x3 dilations: canvas pens run from hairline to
    marker, see THICKNESS), an elastic distortion for half the images (up to
    2.5 px), then one affine map: rotation +-15 degrees, scale 0.8-1.15,
    aspect +-15%, shear +-0.3 and a shift of +-2.5 px. ``seed``: shape (2,)
    int for the stateless random ops.
    """
    b = tf.shape(x)[0]
    seeds = tf.random.experimental.stateless_split(seed, 10)
    u = lambda i, lo, hi: tf.random.stateless_uniform((b,), seeds[i], lo, hi)  # noqa: E731
    dil = tf.nn.max_pool2d(x, 3, 1, "SAME")
    dil2 = tf.nn.max_pool2d(dil, 3, 1, "SAME")
    dil3 = tf.nn.max_pool2d(dil2, 3, 1, "SAME")
    ero = -tf.nn.max_pool2d(-x, 3, 1, "SAME")
    ero = tf.maximum(ero, 0.6 * x)  # a light erosion: hairlines fade rather than vanish
    pick = tf.random.stateless_categorical(tf.math.log([list(THICKNESS.values())]), b, seeds[0])[0]
    w = tf.one_hot(pick, len(THICKNESS))[:, :, None, None, None]  # (B, 5, 1, 1, 1)
    x = tf.reduce_sum(w * tf.stack([ero, x, dil, dil2, dil3], 1), 1)
    amp = tf.where(u(7, 0.0, 1.0) < 0.5, u(8, 0.0, 2.5), 0.0)
    x = elastic(x, seeds[9], amp)

    angle, scale = u(1, -math.pi / 12, math.pi / 12), u(2, 0.8, 1.15)
    aspect, shear = tf.exp(u(3, -0.15, 0.15)), u(4, -0.3, 0.3)
    tx, ty = u(5, -2.5, 2.5), u(6, -2.5, 2.5)
    cos, sin = tf.cos(angle), tf.sin(angle)
    sx, sy = scale * aspect, scale / aspect
    # forward map (output = M input): rotate . shear . scale; the transform op wants the inverse
    m00, m01 = cos * sx, (cos * shear - sin) * sy
    m10, m11 = sin * sx, (sin * shear + cos) * sy
    det = m00 * m11 - m01 * m10
    i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
    c = (SIDE - 1) / 2
    a2 = c - i00 * (c + tx) - i01 * (c + ty)
    b2 = c - i10 * (c + tx) - i11 * (c + ty)
    zeros = tf.zeros_like(a2)
    t = tf.stack([i00, i01, a2, i10, i11, b2, zeros, zeros], 1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=t, output_shape=[SIDE, SIDE], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")


STYLES = {1: "flag", 7: "crossbar", 9: "curled tail"}


def _pen_line(draw, points, width: float) -> None:
    draw.line([tuple(p) for p in points], fill=255, width=max(1, round(width)), joint="curve")
    r = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)


def stylise(images: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Copies of the digits with a European stroke added, in MNIST's format; others unchanged.

    1: a flag from the top of the stem down to the left. 7: a crossbar
    through the stem half-way down. 9: the stem's end curled to the left.
    Each stroke is drawn at 4x with the digit's own pen width (ink area over
    height), then the digit is cropped, fitted into 20x20 and centred by
    mass again, as MNIST was made. (n, 28, 28) uint8 -> same.
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    out = np.array(images, np.uint8).reshape(-1, SIDE, SIDE)
    f = 4
    for i in np.nonzero(np.isin(labels, list(STYLES)))[0]:
        img = Image.fromarray(out[i]).resize((SIDE * f, SIDE * f), Image.Resampling.BILINEAR)
        ink = np.asarray(img) >= 100
        ys, xs = np.nonzero(ink)
        if len(ys) < 20:
            continue
        top, bottom = ys.min(), ys.max()
        h = bottom - top + 1
        width = float(np.clip(ink.sum() / h if labels[i] == 1 else ink.sum() / (2.5 * h), 1.5 * f, 4.0 * f))
        draw = ImageDraw.Draw(img)
        if labels[i] == 1:  # flag: from the top of the stem, down and to the left
            x0 = xs[ys <= top + 0.03 * h].mean()
            length, angle = rng.uniform(0.2, 0.6) * h, np.deg2rad(rng.uniform(15, 60))
            _pen_line(draw, [(x0, top + width / 2), (x0 - length * np.cos(angle), top + width / 2 + length * np.sin(angle))], width)
        elif labels[i] == 7:  # crossbar: through the stem, about half-way down
            y = top + rng.uniform(0.45, 0.62) * h
            row = xs[np.abs(ys - y) < f]
            if not len(row):
                continue
            x0, half, tilt = row.mean(), rng.uniform(0.18, 0.3) * h, rng.uniform(-0.08, 0.08) * h
            _pen_line(draw, [(x0 - half, y + tilt), (x0 + half, y - tilt)], width)
        else:  # 9: the stem's end curls to the left
            x0 = xs[ys >= bottom - 0.03 * h].mean()
            y0, length = bottom - width / 2, rng.uniform(0.2, 0.35) * h
            _pen_line(draw, [(x0, y0), (x0 - 0.5 * length, y0 + 0.04 * h), (x0 - length, y0 - rng.uniform(0.0, 0.15) * h)], width)
        big = np.asarray(img, np.float32) / 255
        t, l, b, r = bounding_box(big)
        out[i] = np.rint(centre_by_mass(fit_box(big[t:b, l:r])) * 255).astype(np.uint8)
    return out


def augmented(images: np.ndarray, seed: int = 0, batch: int = 2000) -> np.ndarray:
    """:func:`augment` for NumPy: (n, 28, 28) uint8 -> (n, 28, 28) uint8, seeded per batch."""
    x = np.asarray(images, np.uint8).reshape(-1, SIDE, SIDE)
    out = [np.zeros((0, SIDE, SIDE), np.uint8)]
    for s in range(0, len(x), batch):
        xb = tf.constant(x[s:s + batch, ..., None].astype(np.float32) / 255.0)
        y = _augment_fn()(xb, tf.constant([seed, s], tf.int64)).numpy()[..., 0]
        out.append(np.rint(np.clip(y, 0, 1) * 255).astype(np.uint8))
    return np.concatenate(out)


@functools.cache
def _augment_fn():
    """:func:`augment` as one TensorFlow graph for every batch size, traced when first needed.

    One graph, not one per batch shape: a graph traced for a fixed batch size
    is optimised differently from one for any size, and its pictures can
    differ by a grey level, so the copies would depend on which batches the
    process happened to see first.
    """
    spec = (tf.TensorSpec((None, SIDE, SIDE, 1), tf.float32), tf.TensorSpec((2,), tf.int64))
    return tf.function(augment, input_signature=spec)

# Which styled copies join the index, as measured over the full MNIST test set and all 7,494 pen digits
# (docs/results.md, "Styled copies"): flagged 1s only after augmentation, because plain flagged 1s are
# the nearest look-alikes of MNIST's own 7s and pulled ten of them to 1; 7s and 9s both plain and augmented.
PLAIN_COPIES = (7, 9)
COPIES_RECIPE = "v2"  # bump when style_copies changes: cached copies and their features are rebuilt


def style_copies(images: np.ndarray, labels: np.ndarray, seed: int = 0):
    """Styled copies of the 1s, 7s and 9s for the k-NN index: (pictures, sources, kinds).

    ``pictures`` (c, 28, 28) uint8; ``sources`` (c,) the position in
    ``images`` each copy was made from; ``kinds`` (c,) int8, 0 for a styled
    copy, 1 for one redrawn. Plain :func:`stylise` copies of the
    PLAIN_COPIES digits come first, then every styled copy redrawn once more
    through :func:`augment` (pen width, elastic distortion, rotation, scale,
    shear, shift). A digit that
    ``stylise`` leaves unchanged (too little ink to place a stroke) gets no
    copy. Seeded: the same digits and seed give the same copies.
    """
    images = np.asarray(images, np.uint8).reshape(-1, SIDE, SIDE)
    labels = np.asarray(labels)
    styled = stylise(images, labels, seed)
    changed = np.nonzero(np.any(styled != images, axis=(1, 2)))[0]
    plain = changed[np.isin(labels[changed], PLAIN_COPIES)]
    varied = augmented(styled[changed], seed + 7)
    pictures = np.concatenate([styled[plain], varied])
    sources = np.concatenate([plain, changed]).astype(np.int64)
    kinds = np.concatenate([np.zeros(len(plain), np.int8), np.ones(len(changed), np.int8)])
    return pictures, sources, kinds


def _resample(line: np.ndarray, step: float) -> np.ndarray:
    """A polyline (m, 2) as points every ``step`` along its length (its ends kept)."""
    seg = np.hypot(*np.diff(line, axis=0).T)
    t = np.concatenate([[0.0], np.cumsum(seg)])
    if t[-1] <= step:
        return line.copy()
    at = np.linspace(0.0, t[-1], int(np.ceil(t[-1] / step)) + 1)
    return np.stack([np.interp(at, t, line[:, 0]), np.interp(at, t, line[:, 1])], 1)


def _ends(line: np.ndarray, rng, most: float) -> np.ndarray:
    """Each end of an evenly resampled stroke cut short or run on (straight ahead) by up to ``most`` of its points."""
    n = len(line)
    cut = [int(round(rng.uniform(-most, most) * n)) for _ in range(2)]
    head, tail = max(cut[0], 0), max(cut[1], 0)
    if n - head - tail < 2:
        return line
    line = line[head:n - tail]
    for end, more in ((0, -cut[0]), (-1, -cut[1])):
        if more > 0 and len(line) > 1:
            step = line[end] - line[1 if end == 0 else -2]
            extra = line[end] + step * np.arange(1, more + 1)[:, None]
            line = np.concatenate([extra[::-1], line]) if end == 0 else np.concatenate([line, extra])
    return line


def vary_strokes(strokes, rng, amount: float = 1.0) -> list:
    """A pen path (strokes of (m, 2) points, y down) as another writer might draw the same digit.

    All sizes are fractions of the digit's longer side, at ``amount`` 1:
    a slant of +-0.25 and a width-to-height change of +-15% for the whole
    digit; a pen lift part-way along a stroke for one stroke in six (the two
    halves then move apart a little); every stroke of several moved by up to
    6%, turned by up to 10 degrees and resized by up to 10% about its own
    middle; each end of a stroke cut short or run on by up to 8% of its
    length (a loop left open or closed, a tail longer or shorter); and a
    slow wobble along every stroke, up to 2.5%. Returns a new list of
    strokes; the label is unchanged by construction, as every change is small.
    """
    pts = np.concatenate(strokes)
    lo, hi = pts.min(0), pts.max(0)
    size = max(float(max(hi - lo)), 1e-9)
    mid = (lo + hi) / 2
    a = amount
    lines = [_resample((np.asarray(s, np.float64) - mid) / size, 0.01) for s in strokes]
    split = []
    for line in lines:
        if len(line) >= 12 and rng.random() < a / 6:
            at = int(rng.integers(4, len(line) - 4))
            split += [line[:at + 1], line[at:]]
        else:
            split.append(line)
    out = []
    for line in split:
        line = _ends(line, rng, 0.08 * a)
        if len(split) > 1:
            c = line.mean(0)
            turn = np.deg2rad(rng.uniform(-10, 10) * a)
            rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
            line = (line - c) @ rot.T * (1 + rng.uniform(-0.1, 0.1) * a) + c + rng.uniform(-0.06, 0.06, 2) * a
        t = np.linspace(0.0, 1.0, len(line))[:, None] * len(line) * 0.01  # about the length along the stroke
        waves = rng.uniform(0.4, 1.2, (2, 2))  # wavelengths, digit sizes
        phase = rng.uniform(0, 2 * np.pi, (2, 2))
        line = line + 0.0125 * a * np.sum(
            [np.sin(2 * np.pi * t / waves[j] + phase[j]) for j in range(2)], axis=0)
        out.append(line)
    slant, aspect = rng.uniform(-0.25, 0.25) * a, np.exp(rng.uniform(-0.15, 0.15) * a)
    shear = np.array([[aspect, slant], [0.0, 1.0]])
    return [line @ shear.T * size + mid for line in out]
