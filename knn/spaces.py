"""What the engine compares: one object per comparison space, and their registry.

A space answers every question that depends on what is compared, so no
caller branches on a space's name:

* :meth:`Space.read`: any picture -> its steps to MNIST's format, with
  hairlines redrawn at MNIST's pen width or not;
* :meth:`Space.pixels`: the 28x28 picture as the space sees it (deskewed,
  or as centred);
* :meth:`Space.vectors`: what the engine compares, (n, d) uint8: 784 pixels
  or 128 learned features (:meth:`Space.encode` of what it sees);
  :meth:`Space.index_vectors` the same for a whole index, kept on disk where
  that is slow;
* :meth:`Space.copies`: the references it adds to the training digits
  (thickened or styled copies), or None;
* :meth:`Space.identity`: what results cached under it depend on;
* how many of its training digits calibrate its certainty (:mod:`knn.conformal`);
* its name, title, summary, family and description (how the pages and the
  command line name it), its default k, and how its vectors are shown
  (:meth:`Space.grid`, :meth:`Space.display`, :meth:`Space.last_step`).

The pixel spaces each add one step to the one before: "none" (MNIST's own
recipe), "deskew", "redraw" (hairlines redrawn), "thicken" (a thickened copy
of every training digit in the index). "learned" compares the 128 features of
:mod:`knn.learned`' two networks, with real pen digits in the index (styled copies where
those cannot be had). ``get("default")`` is
DEFAULT, the best measured.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np

from knn import cache, learned
from knn.augment import COPIES_RECIPE, style_copies
from knn.origins import KINDS, STYLED, STYLED_REDRAWN, THICKENED
from knn.preprocess import SIDE, Steps, deskew, mnist_steps, read_image, thicken


@dataclass(frozen=True)
class Copies:
    """References a space adds to a training subset, and where and how each was made."""

    pictures: np.ndarray  # (c, 28, 28) uint8
    sources: np.ndarray  # (c,) int64: the position in the training subset each copy was made from
    kinds: np.ndarray  # (c,) int8: its kind, as a position in knn.origins.KINDS


@dataclass(frozen=True)
class Space:
    """A comparison space; see the module docstring. Subclasses say how vectors are made."""

    name: str  # as the command line and caches know it
    title: str  # as the pages name it
    summary: str  # one line: what is compared
    family: str  # the page's first choice: "learned features" or "pixels"
    description: str  # one line for a visitor: what the family compares
    default_k: int  # neighbours that vote, measured best in this space
    redraws_hairlines: bool  # strokes thinner than MNIST's are redrawn from their skeleton
    values: str  # what one number of a vector is, plural: "pixels", "learned features"
    gallery_note: str  # what the gallery's pictures and distances are
    grid_note: str = ""  # where value i sits in :meth:`grid`, where that is not plain to see
    calibration: int = 10_000  # at most this many training digits left out one at a time to calibrate certainty
    # (knn.conformal; the shipped networks: the 5,000 they never learned)
    pen_references: bool = False  # its index holds real pen digits by default (knn.pen.references)
    copies_stand_in_for_pen: bool = False  # its copies join only an index without real pen digits

    def read(self, picture) -> Steps:
        """Any picture (see :func:`knn.preprocess.read_image`) -> its steps to MNIST's format. Raises ImageError."""
        return mnist_steps(read_image(picture), normalise_width=self.redraws_hairlines)

    def pixels(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28) uint8 MNIST-format images -> the same as this space sees their pixels."""
        return np.asarray(images, np.uint8).reshape(-1, SIDE, SIDE)

    def vectors(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28) uint8 MNIST-format images -> (n, d) uint8: what the engine compares."""
        return self.encode(self.pixels(images))

    def encode(self, seen: np.ndarray) -> np.ndarray:
        """(n, 28, 28) pictures as :meth:`pixels` gave them -> (n, d) uint8 vectors."""
        raise NotImplementedError

    def index_vectors(self, images: np.ndarray) -> np.ndarray:
        """:meth:`vectors` of every picture an index holds (a space may keep them on disk)."""
        return self.vectors(images)

    def copies(self, images: np.ndarray, labels: np.ndarray) -> Optional[Copies]:
        """The references this space adds next to training digits (n, 28, 28), or None."""
        return None

    def identity(self) -> dict:
        """Everything results computed in this space depend on, for cache keys."""
        return self.reading()

    def reading(self) -> dict:
        """What reading a picture in this space (:meth:`read`, :meth:`pixels`) depends on, for cache keys."""
        return {"space": self.name}

    def trained_without(self, writers) -> "Space":
        """This space as it reads the given pen writers (None: every writer there is) for a figure about them:
        with nothing learned from their digits. A pixel space learns nothing, so it is itself."""
        return self

    def never_saw(self) -> Optional[frozenset]:
        """The pen writers this space learned nothing from: None for every one (a pixel space learns nothing)."""
        return None

    def unlearned(self) -> Optional[np.ndarray]:
        """MNIST training rows this space's reading set aside and never learned from, to calibrate certainty
        on (:func:`knn.conformal.calibrate`); None when it learned from every training digit or from none."""
        return None

    def grid(self, vector: np.ndarray) -> np.ndarray:
        """A vector as a rectangle to look at: 784 pixels as 28x28 (learned features: see LearnedSpace)."""
        v = np.asarray(vector).reshape(-1)
        side = math.isqrt(v.size)
        return v.reshape(side, side)

    def display(self, vector: np.ndarray, picture: np.ndarray) -> np.ndarray:
        """What the gallery shows of a reference: (28, 28) uint8, from its vector as compared or its picture."""
        raise NotImplementedError

    def last_step(self, image: np.ndarray, query: np.ndarray) -> Optional[tuple]:
        """(picture, caption) of the step after centring that the engine compares, or None if there is none."""
        return None


PIXEL_DESCRIPTION = "the 784 pixels themselves: every distance is the sum of their differences, as the difference map shows."


@dataclass(frozen=True)
class PixelSpace(Space):
    """Pixels compared as they are, after an optional deskew; optionally a thickened copy of every reference."""

    deskews: bool = False
    thickens: bool = False

    def pixels(self, images):
        images = super().pixels(images)
        return deskew(images) if self.deskews else images

    def encode(self, seen):
        return np.asarray(seen, np.uint8).reshape(-1, SIDE * SIDE)

    def copies(self, images, labels):
        if not self.thickens:
            return None
        n = len(images)
        return Copies(thicken(images), np.arange(n, dtype=np.int64), np.full(n, KINDS.index(THICKENED), np.int8))

    def display(self, vector, picture):
        return np.asarray(vector, np.uint8).reshape(SIDE, SIDE)

    def last_step(self, image, query):
        return (image, "deskewed (as the index)") if self.deskews else None


@dataclass(frozen=True)
class LearnedSpace(Space):
    """The 128 features of :mod:`knn.learned` (64 from each of two networks); the index adds real pen digits,
    or styled copies of the 1s, 7s and 9s in their stead."""

    weights: Optional[str] = None  # the networks' file; None: the shipped ones, or where $PENDIGITS_HOLD_OUT
    # keeps writers out of the index, the networks that never saw them (learned.weights_without)

    @property
    def weights_file(self) -> Path:
        if self.weights is not None:
            return Path(self.weights)
        from knn.pen import HOLD_OUT, writers_of

        try:
            held = writers_of(os.environ.get(HOLD_OUT, ""))
        except ValueError:  # pen.references says so and holds no pen digits
            held = set()
        return learned.weights_without(frozenset(held))

    def trained_without(self, writers):
        """The space read with :func:`knn.learned.weights_without` these writers (None: every writer; itself
        when there are none)."""
        if writers is not None and not writers:
            return self
        return replace(self, weights=str(learned.weights_without(writers)))

    def never_saw(self):
        return learned.never_saw(self.weights_file)

    def unlearned(self):
        return learned.set_aside(self.weights_file)

    def encode(self, seen):
        return learned.embedder(self.weights_file)(seen)

    def index_vectors(self, images):
        """A CNN pass over every reference (about a minute for 91,170 on 2 cores): computed once, kept on disk."""
        settings = dict(images=cache.checksum(images), weights=learned.fingerprint(self.weights_file))
        return cache.cached("features", settings, lambda: {"vectors": self.vectors(images)})["vectors"]

    def copies(self, images, labels):
        """:func:`knn.augment.style_copies` of the training digits, made once and kept on disk."""
        settings = dict(images=cache.checksum(images, labels), recipe=COPIES_RECIPE)
        made = cache.cached("copies", settings, lambda: dict(zip(
            ("pictures", "sources", "kinds"), style_copies(images, labels))))
        kinds = np.where(made["kinds"] == 0, KINDS.index(STYLED), KINDS.index(STYLED_REDRAWN)).astype(np.int8)
        return Copies(made["pictures"], made["sources"].astype(np.int64), kinds)

    def identity(self):
        return {**super().identity(), "features": learned.fingerprint(self.weights_file), "copies": COPIES_RECIPE}

    def grid(self, vector):
        """Each network's 64 features as an 8x8 square, the squares side by side: (8, 8 * networks)."""
        v = np.asarray(vector).reshape(-1, learned.FEATURES)
        side = math.isqrt(learned.FEATURES)
        return v.reshape(len(v), side, side).transpose(1, 0, 2).reshape(side, -1)

    def display(self, vector, picture):
        return np.asarray(picture, np.uint8).reshape(SIDE, SIDE)

    def last_step(self, image, query):
        grid = self.grid(query)
        return grid, f"its {len(query)} learned features ({grid.shape[0]}×{grid.shape[1]})"


def _pixels(name: str, title: str, summary: str, redraws: bool = False, **steps) -> PixelSpace:
    return PixelSpace(name=name, title=title, summary=summary, family="pixels", description=PIXEL_DESCRIPTION,
                      default_k=3, redraws_hairlines=redraws, values="pixels",
                      gallery_note="digits shown as compared",
                      calibration=2000,  # 100 neighbours among pixels cost ~20x the learned scan: ~40 s, not 4 min
                      **steps)


NONE = _pixels("none", "raw pixels", "raw pixels, MNIST's own recipe (crop, fit 20x20, centre by mass)")
DESKEW = _pixels("deskew", "deskewed pixels", "+ training digits and queries deskewed alike", deskews=True)
REDRAW = _pixels("redraw", "redrawn pixels", "+ hairline strokes redrawn from their skeleton at MNIST's pen width",
                 redraws=True, deskews=True)
THICKEN = _pixels("thicken", "thickened pixels",
                  "+ a thickened copy of every training digit in the index (the best on pixels)",
                  redraws=True, deskews=True, thickens=True)
LEARNED = LearnedSpace(
    name="learned", title="learned features",
    summary="the redraw recipe's picture, compared as 128 features two small CNNs learned (knn.learned), "
            "not as pixels; "
            "the index adds real pen digits by 30 writers (knn.pen), or where that data set cannot be had, "
            "styled copies of the 1s, 7s and 9s (a flag, a crossbar, a curled tail)",
    family="learned features",
    description="128 features two small CNNs learned from MNIST and from digits 30 people wrote with a pen "
                "(thickness, slant and size matter little there); "
                "the neighbours are real training digits and digits 30 other people wrote with a pen (marked ᵖ), "
                "in the styles MNIST lacks (or, without those, copies of its 1s, 7s and 9s with a flag, "
                "a crossbar or a curled tail added, marked ˢ).",
    default_k=7, redraws_hairlines=True, values="learned features", pen_references=True, copies_stand_in_for_pen=True,
    gallery_note="distance in the learned features", grid_note="the first network's feature 8r + c in row r, column c; the second's in column 8 + c")

SPACES = {s.name: s for s in (NONE, DESKEW, REDRAW, THICKEN, LEARNED)}  # each pixel space adds a step to the last
DEFAULT = LEARNED  # the best measured, on MNIST and on pen digits
NAMES = tuple(SPACES) + ("default",)


def get(space) -> Space:
    """A Space by name ("default" is DEFAULT), or the Space itself."""
    if isinstance(space, Space):
        return space
    if space == "default":
        return DEFAULT
    if space not in SPACES:
        raise ValueError(f"space must be one of {NAMES}; got {space!r}")
    return SPACES[space]


def families() -> dict:
    """Family -> its spaces, the best first (the default's family first): the page's two choices."""
    out = {DEFAULT.family: []}
    for s in reversed(SPACES.values()):  # each pixel space improves on the one before it
        out.setdefault(s.family, []).append(s)
    return out
