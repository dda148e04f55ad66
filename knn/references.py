"""The reference digits an index searches, and where each one came from.

:func:`build` makes the engine's index for a comparison space
(:mod:`knn.spaces`) over a training subset plus the copies the space adds;
:func:`taught` makes one over a visitor's own digits. Either way the result
is a :class:`References`: the :class:`knn.engine.Index`, and for every
vector in it an origin (its kind and number, :mod:`knn.origins`) and a
picture. Searches return positions into it; :meth:`References.neighbours`
turns them into :class:`knn.origins.Neighbour` records.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from threading import Lock
from typing import Optional

import numpy as np

from knn import spaces
from knn.data import Mnist, subset
from knn.engine import Index
from knn.origins import KINDS, PEN, SHARED, TAUGHT, Neighbour, Origin
from knn.preprocess import SIDE, deskew
from knn.spaces import Space


@dataclass(frozen=True, eq=False)
class References:
    """An index and, for each of its vectors (its positions), where the vector came from."""

    space: Space
    index: Index
    numbers: np.ndarray  # (m,) int64: the MNIST training index it comes from; a taught digit's place; PEN_BASE + a pen digit's place in its file
    kinds: np.ndarray  # (m,) int8: its kind, as a position in knn.origins.KINDS
    base: np.ndarray  # (N, 28, 28) uint8: pictures by number for the references before the last len(extra)
    extra: np.ndarray  # (c, 28, 28) uint8: the pictures of the last c references (the copies, the pen digits)
    n_train: int  # distinct training digits
    writers: Optional[np.ndarray] = None  # (m,) int16: a pen digit's writer, 0 for the others; None if no pen digits
    note: str = ""  # why the real pen digits the space would hold are missing ("" when they are not)
    _lock: Lock = field(default_factory=Lock, repr=False)

    @property
    def labels(self) -> np.ndarray:
        return self.index.labels

    def __len__(self) -> int:
        return self.index.ntotal

    def picture(self, i: int) -> np.ndarray:
        """(28, 28) uint8: reference i as drawn (the training digit, or the copy's own picture)."""
        first = len(self) - len(self.extra)
        return self.extra[i - first] if i >= first else self.base[self.numbers[i]]

    def pictures(self, positions) -> np.ndarray:
        """(..., 28, 28) uint8: :meth:`picture` of every position in an array of any shape."""
        pos = np.asarray(positions, np.int64)
        first = len(self) - len(self.extra)
        flat = pos.reshape(-1)
        out = np.empty((flat.size, SIDE, SIDE), np.uint8)
        copy = flat >= first
        out[~copy] = self.base[self.numbers[flat[~copy]]]
        out[copy] = self.extra[flat[copy] - first]
        return out.reshape(pos.shape + (SIDE, SIDE))

    def deskewed(self, positions) -> np.ndarray:
        """(..., 28, 28) uint8: :meth:`pictures` deskewed (:func:`knn.preprocess.deskew`), for the
        certainty's pixel distance. Each reference is deskewed the first time it is asked for and kept
        (784 bytes each), so a calibration deskews every reference at most once instead of its
        neighbours' pictures for every digit."""
        pos = np.asarray(positions, np.int64)
        flat = pos.reshape(-1)
        with self._lock:
            store, done = self._straight
            todo = np.unique(flat[~done[flat]])
            if len(todo):
                store[todo] = deskew(self.pictures(todo))
                done[todo] = True
            return store[flat].reshape(pos.shape + (SIDE, SIDE))

    @functools.cached_property
    def _straight(self) -> tuple:
        """(the deskewed pictures by position, which of them are made); pages are committed as written."""
        return np.zeros((len(self), SIDE, SIDE), np.uint8), np.zeros(len(self), bool)

    def origin(self, i: int) -> Origin:
        kind = KINDS[int(self.kinds[i])]
        if kind is PEN:
            return Origin(kind, int(self.numbers[i]) - PEN_BASE, int(self.writers[i]))
        return Origin(kind, int(self.numbers[i]))

    @property
    def sets(self) -> list:
        """The reference sets in use, in words, for the page: "60,000 MNIST training digits", ..."""
        out = [f"{self.n_train:,} MNIST training digits"]
        if self.writers is not None:
            pen = self.writers > 0
            out.append(f"{int(pen.sum()):,} drawings of real pen digits by {len(np.unique(self.writers[pen]))} writers")
        return out

    def neighbours(self, distances, positions) -> list:
        """Search results for one query, (k,) distances and positions -> [Neighbour], in the same order."""
        positions = np.asarray(positions, np.int64).reshape(-1)
        vectors = self.index.reconstruct(positions) if len(positions) else []
        return [Neighbour(label=int(self.labels[p]), distance=float(d), vector=v,
                          picture=self.space.display(v, self.picture(int(p))), origin=self.origin(int(p)))
                for d, p, v in zip(np.asarray(distances).reshape(-1), positions, vectors)]


def build(mnist: Mnist, space="default", metric: str = "l1", n_train: Optional[int] = None,
          seed: int = 0, pen=None, pen_data: Optional[str] = None) -> References:
    """The References of a space over a seeded subset of n_train training digits (all by default).

    The training digits come first, in training order, then the copies the
    space adds (:meth:`knn.spaces.Space.copies`), so exact ties go to the
    training digit itself, then ``pen``, real pen digits as the canvas draws
    them: None (MNIST alone), a :class:`knn.pen.PenPictures` (for instance
    every writer but the ones measured), or "default", the shipped setting:
    every writer's (:func:`knn.pen.references`, from ``pen_data`` or the
    usual places) in a space that holds them, none in the others; when they
    cannot be had, :attr:`References.note` says why. A space whose copies
    stand in for real pen digits (the learned space's styled copies) adds
    them only to an index without pen digits.
    """
    space = spaces.get(space)
    note = ""
    if isinstance(pen, str):
        if pen != "default":
            raise ValueError(f"pen must be 'default', None or a PenPictures; got {pen!r}")
        pen = None
        if space.pen_references:
            from knn.pen import references

            pen, note = references(space, pen_data)
    rows = subset(len(mnist.train_labels), n_train, seed)
    images = mnist.train_images[rows]
    with_pen = pen is not None and len(pen.labels) > 0
    copies = None if with_pen and space.copies_stand_in_for_pen else space.copies(images, mnist.train_labels[rows])
    numbers, kinds = rows, np.zeros(len(rows), np.int8)
    extra = np.zeros((0, SIDE, SIDE), np.uint8)
    vectors = space.index_vectors(images)  # each part on its own: indexes that share the digits share their pass
    if copies is not None:
        extra = copies.pictures
        vectors = np.concatenate([vectors, space.index_vectors(extra)])
        numbers = np.concatenate([rows, rows[copies.sources]])
        kinds = np.concatenate([kinds, copies.kinds])
    labels = mnist.train_labels[numbers].astype(np.int64)
    writers = None
    if pen is not None and len(pen.labels):
        vectors = np.concatenate([vectors, space.index_vectors(pen.pictures)])
        extra = np.concatenate([extra, pen.pictures])
        numbers = np.concatenate([numbers, PEN_BASE + pen.positions])
        kinds = np.concatenate([kinds, np.full(len(pen.labels), KINDS.index(PEN), np.int8)])
        labels = np.concatenate([labels, pen.labels.astype(np.int64)])
        writers = np.concatenate([np.zeros(len(vectors) - len(pen.labels), np.int16), pen.writers.astype(np.int16)])
    index = Index(vectors, labels, metric=metric)
    return References(space=space, index=index, numbers=numbers, kinds=kinds, base=mnist.train_images,
                      extra=extra, n_train=len(rows), writers=writers, note=note)


PEN_BASE = 10 ** 6  # a pen digit's number: this plus its place in the file, apart from every MNIST index


def taught(space, metric: str, vectors, labels, pictures, shared: int = 0) -> References:
    """References over a visitor's own digits: their vectors as compared (m, d), labels (m,) and pictures.

    The first ``shared`` of them were taught to the visitor's whole group
    (a room's, marked ☆), the rest by the visitor (★); each kind is
    numbered from 0. A small index of its own, searched by the same engine
    as the shared one (:func:`knn.answer.answer` merges the two by distance).
    """
    labels = np.asarray(labels, np.int64).reshape(-1)
    pictures = np.asarray(pictures, np.uint8).reshape(-1, SIDE, SIDE)
    n = len(labels)
    if not 0 <= shared <= n:
        raise ValueError(f"shared must be between 0 and {n}; got {shared}")
    kinds = np.where(np.arange(n) < shared, KINDS.index(SHARED), KINDS.index(TAUGHT)).astype(np.int8)
    numbers = np.concatenate([np.arange(shared), np.arange(n - shared)]).astype(np.int64)
    return References(space=spaces.get(space), index=Index(vectors, labels, metric=metric),
                      numbers=numbers, kinds=kinds, base=pictures[:0], extra=pictures, n_train=0)
