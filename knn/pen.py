"""Real pen digits: UNIPEN trajectories by 30 writers, drawn the way the canvas draws.

``../shared/data/pendigits/pendigits-orig.tra.gz`` (UCI "Pen-Based
Recognition of Handwritten Digits", training part) holds 7,494 digits as pen
paths on a tablet, y growing upward. None of the writers is among MNIST's,
and many write European-style digits (flagged 1s, crossed 7s).

:func:`load_pendigits` parses the file; :func:`pen_drawings` renders every
digit on a 280x280 canvas (white, round caps, one pen width per digit, round
robin over the widths, random size and position) with :func:`knn.drawn.render`;
:func:`pen_number` writes several of one writer's digits as a number.
Results are also reported for two groups of writers (``WRITER_GROUPS``), to
show how much accuracy varies from hand to hand.

Pen digits may also be *references* (:func:`pen_pictures`, a
:class:`PenPictures` that :func:`knn.references.build` adds to an index),
but a figure about these writers then comes from writer-disjoint folds
(:func:`writer_folds`): the writers measured are never in the index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from knn import cache
from knn.data import SHARED, DataError, find_file, read_gzip_text
from knn.drawn import WIDTHS, pen, place

FILE = "pendigits-orig.tra.gz"
WRITER_GROUPS = {"writers 1-10": range(1, 11), "writers 11-30": range(11, 31)}


@dataclass(frozen=True)
class PenDigit:
    strokes: tuple  # of (m, 2) float arrays: (x, y) with y growing downward, as on a canvas
    label: int
    writer: int  # 1-30


def find_pendigits(directory: Optional[str] = None) -> Path:
    """The trajectory file: ``directory``, then $PENDIGITS_DIR, then ``pendigits`` beside $MNIST_DIR,
    then ``../shared/data/pendigits`` beside the project. Raises DataError saying where it looked."""
    beside = os.environ.get("MNIST_DIR") and str(Path(os.environ["MNIST_DIR"]).parent / "pendigits")
    return find_file(FILE, [os.environ.get("PENDIGITS_DIR"), beside, str(SHARED / "pendigits")], "Pen digits",
                     f"Pass --pen-data DIR (the folder holding {FILE}) or set PENDIGITS_DIR.", directory)


def parse(text: str) -> list:
    """UNIPEN text -> [PenDigit]. Raises DataError on a malformed file."""
    digits, strokes, points, label, writer = [], [], None, None, None

    def finish():
        if label is not None:
            if not strokes:
                raise DataError(f"Pen digit {len(digits)} (label {label}) has no strokes")
            digits.append(PenDigit(tuple(strokes), label, writer))

    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        try:
            if s.startswith(".SEGMENT"):
                finish()
                label, writer, strokes = int(s.split('"')[1]), 0, []
            elif s.startswith(".COMMENT") and label is not None:
                writer = int(s.split()[2])
            elif s == ".PEN_DOWN":
                points = []
            elif s == ".PEN_UP":
                if points:
                    xy = np.asarray(points, np.float64)
                    xy[:, 1] *= -1  # tablet y grows upward, the canvas's downward
                    strokes.append(xy)
                points = None
            elif points is not None and s:
                x, y = s.split()
                points.append((float(x), float(y)))
        except (ValueError, IndexError) as e:
            raise DataError(f"Pen digits: cannot read line {n} ({s[:40]!r}): {e}") from None
    finish()
    return digits


def load_pendigits(directory: Optional[str] = None) -> list:
    """All 7,494 pen digits, in file order."""
    return read_gzip_text(find_pendigits(directory), "Pen digits", parse)


def pen_drawings(digits: list, widths=WIDTHS, seed: int = 0, n: Optional[int] = None):
    """Yield (Drawing, writer) for a seeded sample of n digits (all if None), pen widths round robin.

    Each digit keeps its writer's own slant; its size (35-95% of the canvas)
    and position are random, the whole stroke on the canvas.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits))
    if n is not None:
        order = np.sort(order[:n])
    for j, i in enumerate(order):
        d = digits[int(i)]
        w = widths[j % len(widths)]
        yield place(rng, d.strokes, d.label, w, f"pen writer {d.writer}", slant_range=0.0), d.writer


def pen_number(digits: list, rng, width: float) -> np.ndarray:
    """Pen digits (one writer's, in order) written left to right as one number on a black canvas.

    Every digit is scaled to one height (120-190 px, each within 10%), with a
    gap of 15-40% of the height plus the pen's width between neighbours and
    a little vertical wander, and drawn with a round pen ``width`` px wide.
    Returns uint8 (height, width), white on black, as the page's wide canvas gives it.
    """
    height = float(rng.uniform(120, 190))
    margin = width + 12
    lines, x = [], margin
    for d in digits:
        pts = np.concatenate(d.strokes)
        lo, hi = pts.min(0), pts.max(0)
        h = height * float(rng.uniform(0.9, 1.1))
        s = h / max(hi[1] - lo[1], 0.5 * (hi[0] - lo[0]), 1e-9)
        dy = float(rng.uniform(-0.06, 0.06)) * height
        for stroke in d.strokes:
            lines.append((stroke - lo) * s + [x, margin + dy + (height - h) / 2 + 0.06 * height])
        x += (hi[0] - lo[0]) * s + width + float(rng.uniform(0.15, 0.4)) * height
    x += margin - float(rng.uniform(0.15, 0.4)) * height
    shape = (int(np.ceil(height * 1.25 + 2 * margin)), int(np.ceil(x)))
    return pen(lines, [width] * len(lines), shape)


PEN_RENDERS = 2  # each pen digit joins an index drawn this many times: pen widths, sizes and places at random


@dataclass(frozen=True)
class PenPictures:
    """Pen digits as references: each drawn on the canvas and read the way a space reads a drawing."""

    pictures: np.ndarray  # (m, 28, 28) uint8, as the space reads them
    labels: np.ndarray  # (m,)
    writers: np.ndarray  # (m,)
    positions: np.ndarray  # (m,) int64: the digit's place in the file (its number)

    def without(self, writers) -> "PenPictures":
        """These references less every drawing by the given writers (the ones being measured)."""
        keep = ~np.isin(self.writers, list(writers))
        return PenPictures(self.pictures[keep], self.labels[keep], self.writers[keep], self.positions[keep])


def pen_pictures(space, digits: list, seed: int = 0, renders: int = PEN_RENDERS) -> PenPictures:
    """Every pen digit drawn ``renders`` times (a random pen width of WIDTHS, size and place each, the
    writer's own slant) and read as the space reads a canvas; kept on disk per file and space."""
    def compute():
        rng = np.random.default_rng(seed)
        pictures = []
        for d in digits:
            for _ in range(renders):
                width = WIDTHS[int(rng.integers(len(WIDTHS)))]
                pictures.append(space.read(place(rng, d.strokes, d.label, width, "", slant_range=0.0).image).centred)
        return {"pictures": np.stack(pictures)}

    labels = np.repeat([d.label for d in digits], renders)
    writers = np.repeat([d.writer for d in digits], renders)
    settings = dict(digits=cache.checksum(labels, writers, np.concatenate([np.concatenate(d.strokes) for d in digits])),
                    read=space.identity(), seed=seed, renders=renders)
    made = cache.cached("pen-pictures", settings, compute)
    return PenPictures(made["pictures"], labels, writers, np.repeat(np.arange(len(digits)), renders))


def writer_folds(digits: list, folds: int) -> list:
    """The writers split into ``folds`` sets, every ``folds``-th writer in turn: [set of writers, ...]."""
    writers = sorted({d.writer for d in digits})
    if not 2 <= folds <= len(writers):
        raise ValueError(f"folds must be between 2 and the number of writers ({len(writers)}); got {folds}")
    return [set(writers[f::folds]) for f in range(folds)]
