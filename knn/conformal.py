"""How sure an answer is, as conformal prediction means it, and whether a drawing is a digit at all.

Conformal prediction (Vovk, Gammerman and Shafer, "Algorithmic Learning in
a Random World", 2005) turns any score of how strange an example looks
into p-values with a guarantee: if the calibration digits and a new digit
are exchangeable, the new digit's true label gets a p-value at most ``e``
with probability at most ``e``. So the **prediction set** at level 95%,
every digit whose p-value exceeds 0.05, holds the true digit 95% of the
time: one digit when the answer is clear, two or more when it is not, none
when no digit fits as well as real digits fit theirs.

* **The score of a label** (a k-NN nonconformity, after Papadopoulos,
  Vovk and Gammerman, 2011): the summed distance to the k nearest
  references of that digit over the summed distance to the k nearest of
  any other digit, among the ``REACH`` nearest. Small: that digit is near
  and the others far.
* **Credibility** is the largest p-value (how well the best digit fits);
  **confidence** is one minus the second largest (how clearly the rest are
  ruled out).
* **Digit-likeness** is a second conformal p-value, of how far the drawing
  is from every reference: the mean distance to its k nearest, times the
  smallest pixel distance (deskewed) to any of the ``REACH`` nearest
  pictures. Two views that fail differently: a character the features map
  near some digit still looks unlike that digit's pictures. A drawing
  whose digit-likeness is below ``DIGIT_LEVEL`` is answered "not a digit".

**Calibration** (:func:`calibrate`) is leave-one-out over the references:
a seeded sample of the index's own training digits (up to 10,000 for
learned features, 2,000 for pixels), each searched with itself and every
copy made from it left out. That needs no digits beyond the index, so
every setting (any space, metric or training subset) is calibrated the
same way, and the shipped app needs no other data. Digits a network
learned from look more typical to it than new ones, so the shipped
networks never learn from ``SET_ASIDE`` seeded training digits: they stay
in the index, and the learned space calibrates on them alone
(docs/certainty.md measures what this changes).
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from threading import Lock
from typing import Callable, Optional

import numpy as np

from knn import cache, progress as knn_progress
from knn.data import subset
from knn.engine import N_CLASSES
from knn.preprocess import deskew

REACH = 100  # neighbours every score looks at
LEVEL = 0.95  # the prediction set's level unless asked otherwise
LEVELS = (0.8, 0.9, 0.95, 0.99, 0.999)  # levels the page offers
DIGIT_LEVEL = 0.01  # digit-likeness below this: "not a digit" (stranger than 99% of the index's own digits)
SET_ASIDE = 5_000  # MNIST training digits `python -m knn train` keeps from the networks, to calibrate on
MIN_UNLEARNED = 1_000  # fewer set-aside digits in the index than this: calibrate on all its training digits
VERSION = 1  # of the scores: cached calibrations of another version are not read


def check_level(level: float) -> float:
    """A prediction set's level must lie strictly between 0 and 1."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1 (e.g. 0.95); got {level}")
    return float(level)


def in_set(p_values: np.ndarray, level: float) -> np.ndarray:
    """(n, 10) p-values -> (n, 10) bool: which digits the prediction set at ``level`` holds."""
    return np.asarray(p_values) > 1 - check_level(level)


def coverage(p_values: np.ndarray, labels: np.ndarray, levels) -> np.ndarray:
    """The share of pictures whose prediction set holds their label, at every level: (len(levels),)."""
    rows = np.arange(len(labels))
    return np.array([in_set(p_values, lv)[rows, labels].mean() for lv in levels])


def set_size(p_values: np.ndarray, levels) -> np.ndarray:
    """The mean size of the prediction sets at every level: (len(levels),)."""
    return np.array([in_set(p_values, lv).sum(1).mean() for lv in levels])


def label_scores(distances: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(n, R) distances (ascending) and labels -> (n, 10) nonconformity of every digit as the label.

    A digit with fewer than k references among the R counts the missing
    ones at the R-th distance (a lower bound of their true distance).
    """
    d = np.asarray(distances, np.float64)
    y = np.asarray(labels)
    far = d[:, -1:]
    out = np.empty((len(d), N_CLASSES))
    for c in range(N_CLASSES):
        own = np.sort(np.where(y == c, d, np.inf), 1)[:, :k]
        rest = np.sort(np.where(y != c, d, np.inf), 1)[:, :k]
        own = np.where(np.isinf(own), far, own).sum(1)
        rest = np.where(np.isinf(rest), far, rest).sum(1)
        out[:, c] = own / np.maximum(rest, 1e-9)
    return out


def picture_gaps(queries: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """(n, 28, 28) pictures and (n, R, 28, 28) their neighbours' pictures, already deskewed
    (:meth:`knn.references.References.deskewed`) -> (n,) the smallest L1 between the deskewed query
    and its neighbours."""
    n, r = neighbours.shape[:2]
    q = deskew(queries).reshape(n, 1, -1)
    p = np.asarray(neighbours, np.uint8).reshape(n, r, -1)
    gap = np.maximum(p, q)
    gap -= np.minimum(p, q)  # |p - q|, exact in uint8: no copy of the neighbours twice as wide
    return gap.sum(2, dtype=np.int32).min(1).astype(np.float64)


def strangeness(distances: np.ndarray, gaps: np.ndarray, k: int) -> np.ndarray:
    """(n, R) distances and (n,) picture gaps -> (n,) how far from every reference (log scale)."""
    d = np.asarray(distances, np.float64)[:, :k]
    return np.log1p(d.mean(1)) + np.log1p(np.asarray(gaps, np.float64))


def _p_values(calibration: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Conformal p-values: (1 + how many calibration scores are at least as large) / (n + 1)."""
    n = len(calibration)
    return (n - np.searchsorted(calibration, scores, side="left") + 1) / (n + 1)


@dataclass(frozen=True)
class Certainty:
    """One picture's conformal p-values and digit-likeness; every figure the page and the CLI show."""

    p_values: np.ndarray  # (10,): how well each digit fits as the label, 1/(n+1) to 1
    digit_likeness: float  # p-value of its distance from every reference

    @property
    def best(self) -> int:
        return int(np.argmax(self.p_values))

    @property
    def credibility(self) -> float:
        return float(self.p_values.max())

    @property
    def confidence(self) -> float:
        return float(1 - np.sort(self.p_values)[-2])

    @property
    def not_a_digit(self) -> bool:
        return self.digit_likeness < DIGIT_LEVEL

    def prediction_set(self, level: float = LEVEL) -> tuple:
        """The digits whose p-value exceeds 1 - level, the best fitting first."""
        check_level(level)
        order = np.argsort(-self.p_values, kind="stable")
        return tuple(int(c) for c in order if self.p_values[c] > 1 - level)

    def to_json(self, level: float = LEVEL) -> dict:
        return {"credibility": round(self.credibility, 4), "confidence": round(self.confidence, 4),
                "prediction_set": list(self.prediction_set(level)), "level": level,
                "digit_likeness": round(self.digit_likeness, 4), "not_a_digit": self.not_a_digit}


@dataclass(frozen=True)
class Calibration:
    """The sorted scores of digits left out of the index: what a new picture's scores are compared with."""

    k: int  # neighbours each label's score sums
    reach: int
    label: np.ndarray  # (n,) sorted: each calibration digit's score for its true label
    strange: np.ndarray  # (n,) sorted: each one's strangeness
    seconds: float = 0.0  # to compute it (0 when read from disk)

    def __len__(self) -> int:
        return len(self.label)

    def p_values(self, distances, labels) -> np.ndarray:
        """(n, R) distances and labels of each picture's nearest references, ascending -> (n, 10) how well
        each digit fits as its label (the prediction set keeps those above 1 - level)."""
        return _p_values(self.label, label_scores(np.asarray(distances), labels, self.k))

    def assess(self, distances, labels, queries, neighbours) -> list:
        """(n, R) distances and labels of each picture's nearest references, ascending, (n, 28, 28)
        pictures as read and (n, R, 28, 28) their neighbours' deskewed pictures
        (:meth:`knn.references.References.deskewed`) -> [Certainty]."""
        distances = np.asarray(distances)
        strange = strangeness(distances, picture_gaps(np.asarray(queries), np.asarray(neighbours)), self.k)
        p = self.p_values(distances, labels)
        likeness = _p_values(self.strange, strange)
        return [Certainty(p_values=p[i], digit_likeness=float(likeness[i])) for i in range(len(p))]


_made: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_lock = Lock()


def calibrate(refs, n: Optional[int] = None, seed: int = 0, reach: int = REACH,
              progress: Optional[Callable[[int, int], None]] = None) -> Calibration:
    """Leave-one-out calibration over a seeded sample of n of the references' training digits
    (by default the space's own number, :attr:`knn.spaces.Space.calibration`).

    The sample is drawn from the training digits the space never learned
    from (:meth:`knn.spaces.Space.unlearned`) when the index holds at least
    ``MIN_UNLEARNED`` of them, else from all. Each sampled digit is searched
    among the references with itself and every copy made from it left out,
    and scored as a new picture would be.
    Kept on disk per setting, and in memory per References object.
    """
    space = refs.space
    n = space.calibration if n is None else n
    with _lock:
        known = _made.setdefault(refs, {}).get((n, seed, reach))
    if known is not None:
        return known
    plain = np.nonzero(refs.kinds == 0)[0]  # the training digits themselves
    unseen = space.unlearned()
    if unseen is not None:
        fresh = plain[np.isin(refs.numbers[plain], unseen)]
        plain = fresh if len(fresh) >= MIN_UNLEARNED else plain
    settings = dict(space=space.identity(), metric=refs.index.metric, n=n, seed=seed, reach=reach,
                    sample=cache.checksum(refs.numbers[plain]),
                    k=space.default_k, refs=cache.checksum(refs.numbers, refs.kinds, refs.labels), version=VERSION)

    def compute():
        start = time.perf_counter()
        rows = plain[subset(len(plain), min(n, len(plain)), seed)]
        twins = int(np.bincount(refs.numbers).max())  # references that share one training digit
        want = min(reach + twins, len(refs))
        labels, strange = [], []
        for s in range(0, len(rows), 500):
            part = rows[s:s + 500]
            dist, pos, lab = refs.index.neighbours(refs.index.reconstruct(part), want)
            same = refs.numbers[pos] == refs.numbers[part][:, None]
            keep = np.argsort(same, 1, kind="stable")[:, :want - twins]  # the others, still nearest first
            dist, pos, lab = (np.take_along_axis(a, keep, 1) for a in (dist, pos, lab))
            cert_scores = label_scores(dist, lab, space.default_k)
            labels.append(cert_scores[np.arange(len(part)), refs.labels[part]])
            strange.append(strangeness(dist, picture_gaps(refs.pictures(part), refs.deskewed(pos)), space.default_k))
            if progress:
                progress(s + len(part), len(rows))
            knn_progress.report("digits calibrating the certainty", s + len(part), len(rows))
        return {"label": np.sort(np.concatenate(labels)), "strange": np.sort(np.concatenate(strange)),
                "seconds": np.float64(time.perf_counter() - start)}

    made = cache.cached("calibration", settings, compute)
    cal = Calibration(k=space.default_k, reach=reach, label=made["label"], strange=made["strange"],
                      seconds=float(made["seconds"]))
    with _lock:
        _made[refs][(n, seed, reach)] = cal
    return cal
