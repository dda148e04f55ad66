"""Accuracy: the references of a space (:mod:`knn.references`) measured on MNIST's test set and on drawings.

* :func:`evaluate_mnist`: a seeded subset (or all) of MNIST's 10,000 test
  digits, classified in batches: :class:`Evaluation`.
* :func:`evaluate_drawn`, :func:`evaluate_pen`: drawings made the way the
  page's canvas draws (MNIST test digits redrawn from their pen path,
  :mod:`knn.drawn`; real pen digits by 30 writers, :mod:`knn.pen`), read
  as the page reads a canvas: :class:`DrawnEvaluation`, overall and by pen
  width, size and group.

The command line (``python -m knn evaluate``) and the tests call these;
they print nothing and report progress through an optional callback.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import numpy as np

from knn.data import Mnist, subset
from knn.drawn import BROWSER_DIGITS, WIDTHS, drawings
from knn.references import References

TUTORIAL = {"n_train": 5000, "n_test": 200, "accuracy": 0.92}  # the TF1 tutorial's setting and figure
SIZE_BANDS = ((0.35, 0.55), (0.55, 0.75), (0.75, 0.95))  # a drawing's size, as a fraction of the canvas
Progress = Optional[Callable[[int, int], None]]  # called with (done, total)


@dataclass
class Evaluation:
    accuracy: float
    errors: int
    n_train: int
    index_size: int  # vectors searched: the training digits, plus the copies a space adds
    n_test: int
    k: int
    metric: str
    space: str
    voting: str
    seconds: float
    queries_per_second: float
    predictions: np.ndarray  # (n_test,) predicted labels
    test_rows: np.ndarray  # (n_test,) indices into the test set

    def summary(self) -> dict:
        """The JSON fields: everything but the per-query arrays."""
        d = asdict(self)
        del d["predictions"], d["test_rows"]
        return d


def evaluate_mnist(refs: References, mnist: Mnist, n_test: Optional[int] = None, seed: int = 0,
                   k: Optional[int] = None, voting: str = "uniform", progress: Progress = None,
                   chunk: int = 512) -> Evaluation:
    """Classify a seeded subset of n_test test digits (all by default) against the references.

    The test subset is drawn with ``seed + 1``, so a training subset built
    with ``seed`` and this one differ. ``seconds`` and
    ``queries_per_second`` time the queries' vectors (deskew or learned
    features), search and vote; not building the index.
    """
    k = refs.space.default_k if k is None else k
    rows = subset(len(mnist.test_labels), n_test, seed + 1)
    start = time.perf_counter()
    queries = refs.space.vectors(mnist.test_images[rows])
    predictions = np.empty(len(rows), np.int64)
    for s in range(0, len(rows), chunk):
        predictions[s:s + chunk], _ = refs.index.classify(queries[s:s + chunk], k, voting)
        if progress:
            progress(min(s + chunk, len(rows)), len(rows))
    seconds = time.perf_counter() - start
    errors = int((predictions != mnist.test_labels[rows]).sum())
    return Evaluation(
        accuracy=1 - errors / len(rows), errors=errors, n_train=refs.n_train, index_size=len(refs),
        n_test=len(rows), k=k, metric=refs.index.metric, space=refs.space.name, voting=voting, seconds=seconds,
        queries_per_second=len(rows) / seconds, predictions=predictions, test_rows=rows,
    )


@dataclass
class DrawnEvaluation:
    """Accuracy on drawings (:mod:`knn.drawn` or :mod:`knn.pen`), overall, per pen width, size and group."""

    set: str  # "drawn" (MNIST test digits redrawn) or "pen" (real pen digits)
    accuracy: float
    errors: int
    n: int
    k: int
    metric: str
    space: str
    voting: str
    seconds: float  # drawing, preprocessing, search and vote
    by_width: dict  # pen width (px) -> accuracy
    by_size: dict  # "35-55%" -> accuracy
    by_group: dict  # "browser" strokes, or writers -> accuracy
    confusion: list  # (10, 10) counts, rows true label
    predictions: np.ndarray
    labels: np.ndarray
    widths: np.ndarray
    sizes: np.ndarray
    images: np.ndarray  # (n, 28, 28) uint8: each drawing in MNIST format, as the space read it

    def summary(self) -> dict:
        d = asdict(self)
        for key in ("predictions", "labels", "widths", "sizes", "images"):
            del d[key]
        return d

    @property
    def browser(self) -> float:
        return self.by_group.get("browser", float("nan"))


def evaluate_drawings(refs: References, items, total: int, set_name: str, k: Optional[int] = None,
                      voting: str = "uniform", widths=WIDTHS, progress: Progress = None) -> DrawnEvaluation:
    """Classify (Drawing, group) pairs the way the page reads a canvas; see :class:`DrawnEvaluation`."""
    space = refs.space
    k = space.default_k if k is None else k
    start = time.perf_counter()
    images, labels, pens, sizes, groups = [], [], [], [], []
    for d, group in items:
        images.append(space.read(d.image).centred)
        labels.append(d.label), pens.append(d.width), sizes.append(d.size), groups.append(group)
        if progress and len(images) % 50 == 0:
            progress(len(images), total)
    images, labels, pens, sizes, groups = map(np.asarray, (images, labels, pens, sizes, groups))
    predictions, _ = refs.index.classify(space.vectors(images), k, voting)
    if progress:
        progress(total, total)
    ok = predictions == labels
    band = {f"{lo:.0%}-{hi:.0%}": ok[(sizes >= lo) & (sizes < hi)] for lo, hi in SIZE_BANDS}
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    return DrawnEvaluation(
        set=set_name, accuracy=float(ok.mean()), errors=int((~ok).sum()), n=len(ok), k=k, metric=refs.index.metric,
        space=space.name, voting=voting, seconds=time.perf_counter() - start,
        by_width={int(w): float(ok[pens == w].mean()) for w in widths},
        by_size={name: float(v.mean()) for name, v in band.items() if len(v)},
        by_group={str(g): float(ok[groups == g].mean()) for g in sorted(set(groups.tolist()))},
        confusion=confusion.tolist(), predictions=predictions, labels=labels, widths=pens, sizes=sizes,
        images=images,
    )


def evaluate_drawn(refs: References, mnist: Mnist, per_width: int = 300, seed: int = 0, k: Optional[int] = None,
                   voting: str = "uniform", widths=WIDTHS, progress: Progress = None) -> DrawnEvaluation:
    """Draw ``per_width`` MNIST test digits at every pen width (plus the browser digits) and classify them."""
    total = (per_width + len(BROWSER_DIGITS)) * len(widths)
    items = ((d, "browser" if d.source == "browser" else "MNIST test digits")
             for d in drawings(mnist.test_images, mnist.test_labels, per_width, seed, widths))
    return evaluate_drawings(refs, items, total, "drawn", k, voting, widths, progress)


def evaluate_pen(refs: References, digits: list, n: Optional[int] = None, seed: int = 0, k: Optional[int] = None,
                 voting: str = "uniform", widths=WIDTHS, progress: Progress = None) -> DrawnEvaluation:
    """Render real pen digits (:mod:`knn.pen`; all, or a seeded n) as canvas drawings and classify them.

    Groups: ``knn.pen.WRITER_GROUPS``.
    """
    from knn.pen import WRITER_GROUPS, pen_drawings

    group = {w: name for name, writers in WRITER_GROUPS.items() for w in writers}
    items = ((d, group[w]) for d, w in pen_drawings(digits, widths, seed, n))
    total = len(digits) if n is None else n
    return evaluate_drawings(refs, items, total, "pen", k, voting, widths, progress)
