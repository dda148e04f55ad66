"""Accuracy of the k-NN engine on MNIST, and predictions for image files.

This is where data, preprocessing and the engine meet: it builds an index
from (a subset of) the training set under a preprocessing pipeline, measures
it on (a subset of) the test set, and classifies picture files. The command
line (``python -m knn``) and the pages call these functions; they print
nothing and report progress through an optional callback.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import numpy as np

from knn.data import Mnist
from knn.engine import Index, vote
from knn.drawn import BROWSER_DIGITS, WIDTHS, drawings
from knn.preprocess import DEFAULT_K, ImageError, mnist_steps, pipeline_name, read_image, thicken, transform

TUTORIAL = {"n_train": 5000, "n_test": 200, "accuracy": 0.92}  # the TF1 tutorial's setting and figure
Progress = Optional[Callable[[int, int], None]]  # called with (done, total)


def subset(n_total: int, n: Optional[int], seed: int) -> np.ndarray:
    """Indices of a random subset of n of n_total items (all of them, in order, if n is None or n_total)."""
    if n is None or n == n_total:
        return np.arange(n_total)
    if not 1 <= n <= n_total:
        raise ValueError(f"subset size must be between 1 and {n_total}; got {n}")
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


def vectors(images: np.ndarray, preprocess: str = "default") -> np.ndarray:
    """(n, 28, 28) uint8 MNIST-format images -> (n, d) uint8: what the engine compares under a pipeline.

    Pixel pipelines: the 784 pixels after :func:`knn.preprocess.transform`.
    "learned": the 64 learned features (:mod:`knn.learned`).
    """
    preprocess = pipeline_name(preprocess)
    images = np.asarray(images, np.uint8).reshape(-1, 28, 28)
    if preprocess == "learned":
        from knn.learned import embedder
        return embedder()(images)
    return transform(images, preprocess).reshape(len(images), 784)


VARIANTS = ("", "thickened", "styled", "styled, augmented")  # what a vector of the index is, beyond the digit itself
MARKS = ("", "ᵗ", "ˢ", "ˢᵃ")  # the same, as a gallery caption's superscript
MARK_NOTES = ("", "the thickened copy of that training digit",
              "a copy of that training digit with a stroke added (a crossbar on 7, a curled tail on 9)",
              "a styled copy (a flag on 1, a crossbar on 7, a curled tail on 9) redrawn with another pen, "
              "slightly distorted")


@dataclass(frozen=True)
class References:
    """Where each vector of an index came from; the index's ids are positions in these arrays."""

    rows: np.ndarray  # (m,) index into MNIST's training set
    labels: np.ndarray  # (m,) its label
    variant: np.ndarray  # (m,) int8 index into VARIANTS: 0 for the training digit itself
    copies: Optional[np.ndarray] = None  # (c, 28, 28) uint8 pictures of the styled copies: the last c positions

    @property
    def n_train(self) -> int:
        """Distinct training digits."""
        return len(np.unique(self.rows))

    def describe(self, i: int) -> str:
        v = int(self.variant[i])
        return f"training #{self.rows[i]}" + (f", {VARIANTS[v]}" if v else "")

    def mark(self, i: int) -> str:
        return MARKS[int(self.variant[i])]

    def mark_notes(self, positions) -> list:
        """One line per kind of copy among these positions: what its mark means."""
        return [f"{MARKS[v]}: {MARK_NOTES[v]}." for v in np.unique(self.variant[np.asarray(positions)]) if v]

    def picture(self, i: int, mnist: Mnist) -> np.ndarray:
        """(28, 28) uint8: the digit as drawn; a styled copy's own picture, else the training digit's."""
        first = len(self.rows) - (0 if self.copies is None else len(self.copies))
        return self.copies[i - first] if i >= first else mnist.train_images[self.rows[i]]


def references(mnist: Mnist, n_train: Optional[int] = None, seed: int = 0, preprocess: str = "default"):
    """(References, the pictures behind them (m, 28, 28)) of an index over a training subset.

    "thicken" adds a thickened copy of each digit (originals first, so exact
    ties go to the original); "learned" adds the styled copies of
    :func:`knn.learned.style_copies`, made once and kept on disk.
    """
    preprocess = pipeline_name(preprocess)
    rows = subset(len(mnist.train_labels), n_train, seed)
    images = mnist.train_images[rows]
    variant = np.zeros(len(rows), np.int8)
    copies = None
    if preprocess == "thicken":
        images = np.concatenate([images, thicken(images)])
        rows, variant = np.concatenate([rows, rows]), np.concatenate([variant, variant + 1])
    elif preprocess == "learned":
        from knn import cache
        from knn.learned import COPIES_RECIPE, style_copies

        settings = dict(images=cache.checksum(images, mnist.train_labels[rows]), recipe=COPIES_RECIPE)
        made = cache.cached("copies", settings, lambda: dict(zip(
            ("pictures", "sources", "kinds"), style_copies(images, mnist.train_labels[rows]))))
        copies = made["pictures"]
        images = np.concatenate([images, copies])
        rows = np.concatenate([rows, rows[made["sources"]]])
        variant = np.concatenate([variant, made["kinds"].astype(np.int8) + 2])
    return References(rows=rows, labels=mnist.train_labels[rows], variant=variant, copies=copies), images


def build_index(mnist: Mnist, n_train: Optional[int] = None, seed: int = 0,
                metric: str = "l1", preprocess: str = "default"):
    """An Index over a training subset (and the copies :func:`references` adds) and its References.

    "none": the raw training digits. "deskew", "redraw": deskewed.
    "thicken": each training digit and a thickened copy, all deskewed like
    the queries. "learned": the learned features of the digits and of their
    styled copies.
    """
    preprocess = pipeline_name(preprocess)
    refs, images = references(mnist, n_train, seed, preprocess)
    if preprocess == "learned":  # a CNN pass over every training digit: computed once, kept on disk
        from knn import cache
        from knn.learned import fingerprint

        settings = dict(images=cache.checksum(images), weights=fingerprint())
        x = cache.cached("features", settings, lambda: {"vectors": vectors(images, preprocess)})["vectors"]
    else:
        x = vectors(images, preprocess)
    return Index(x, refs.labels, metric=metric), refs


@dataclass
class Evaluation:
    accuracy: float
    errors: int
    n_train: int
    index_size: int  # vectors searched: the training digits, plus copies under "thicken" and "learned"
    n_test: int
    k: int
    metric: str
    preprocess: str
    weights: str
    seconds: float
    queries_per_second: float
    predictions: np.ndarray  # (n_test,) predicted labels
    test_rows: np.ndarray  # (n_test,) indices into the test set

    def summary(self) -> dict:
        """The JSON fields: everything but the per-query arrays."""
        d = asdict(self)
        del d["predictions"], d["test_rows"]
        return d


def evaluate(mnist: Mnist, n_train: Optional[int] = None, n_test: Optional[int] = None, seed: int = 0,
             k: int = 1, metric: str = "l1", preprocess: str = "default", weights: str = "uniform",
             progress: Progress = None, index: Optional[Index] = None, chunk: int = 512) -> Evaluation:
    """Classify the test subset with a k-NN index over the training subset.

    ``seconds`` and ``queries_per_second`` time the queries' transform
    (deskew or learned features), search and vote; not loading or building the index.
    """
    preprocess = pipeline_name(preprocess)
    if index is None:
        index, refs = build_index(mnist, n_train, seed, metric, preprocess)
        n_train = refs.n_train
    rows = subset(len(mnist.test_labels), n_test, seed + 1)
    start = time.perf_counter()
    queries = vectors(mnist.test_images[rows], preprocess)
    predictions = np.empty(len(rows), np.int64)
    for s in range(0, len(rows), chunk):
        predictions[s:s + chunk], _ = index.classify(queries[s:s + chunk], k, weights)
        if progress:
            progress(min(s + chunk, len(rows)), len(rows))
    seconds = time.perf_counter() - start
    errors = int((predictions != mnist.test_labels[rows]).sum())
    return Evaluation(
        accuracy=1 - errors / len(rows), errors=errors, n_train=n_train or len(mnist.train_labels),
        index_size=index.ntotal, n_test=len(rows), k=k,
        metric=index.metric, preprocess=preprocess, weights=weights, seconds=seconds,
        queries_per_second=len(rows) / seconds, predictions=predictions, test_rows=rows,
    )


def steps_for(image, preprocess: str = "default"):
    """Any picture -> preprocess.Steps under a pipeline (hairlines redrawn from "redraw" on)."""
    return mnist_steps(read_image(image), normalise_width=pipeline_name(preprocess) in ("redraw", "thicken", "learned"))


SIZE_BANDS = ((0.35, 0.55), (0.55, 0.75), (0.75, 0.95))


@dataclass
class DrawnEvaluation:
    """Accuracy on drawings (:mod:`knn.drawn` or :mod:`knn.pen`), overall, per pen width, size and group."""

    set: str  # "drawn" (MNIST test digits redrawn) or "pen" (real pen digits)
    accuracy: float
    errors: int
    n: int
    k: int
    metric: str
    preprocess: str
    weights: str
    seconds: float  # drawing, preprocessing, search and vote
    by_width: dict  # pen width (px) -> accuracy
    by_size: dict  # "35-55%" -> accuracy
    by_group: dict  # "browser" strokes, or writers -> accuracy
    confusion: list  # (10, 10) counts, rows true label
    predictions: np.ndarray
    labels: np.ndarray
    widths: np.ndarray
    sizes: np.ndarray
    images: np.ndarray  # (n, 28, 28) uint8: each drawing in MNIST format, as the pipeline made it

    def summary(self) -> dict:
        d = asdict(self)
        for key in ("predictions", "labels", "widths", "sizes", "images"):
            del d[key]
        return d

    @property
    def browser(self) -> float:
        return self.by_group.get("browser", float("nan"))


def evaluate_drawings(index: Index, items, total: int, set_name: str, k: int = DEFAULT_K, preprocess: str = "default",
                      weights: str = "uniform", widths=WIDTHS, progress: Progress = None) -> DrawnEvaluation:
    """Classify (Drawing, group) pairs the way the page reads a canvas; see :class:`DrawnEvaluation`."""
    preprocess = pipeline_name(preprocess)
    start = time.perf_counter()
    images, labels, pens, sizes, groups = [], [], [], [], []
    for d, group in items:
        images.append(steps_for(d.image, preprocess).centred)
        labels.append(d.label), pens.append(d.width), sizes.append(d.size), groups.append(group)
        if progress and len(images) % 50 == 0:
            progress(len(images), total)
    images, labels, pens, sizes, groups = map(np.asarray, (images, labels, pens, sizes, groups))
    predictions, _ = index.classify(vectors(images, preprocess), k, weights)
    if progress:
        progress(total, total)
    ok = predictions == labels
    band = {f"{lo:.0%}-{hi:.0%}": ok[(sizes >= lo) & (sizes < hi)] for lo, hi in SIZE_BANDS}
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    return DrawnEvaluation(
        set=set_name, accuracy=float(ok.mean()), errors=int((~ok).sum()), n=len(ok), k=k, metric=index.metric,
        preprocess=preprocess, weights=weights, seconds=time.perf_counter() - start,
        by_width={int(w): float(ok[pens == w].mean()) for w in widths},
        by_size={name: float(v.mean()) for name, v in band.items() if len(v)},
        by_group={str(g): float(ok[groups == g].mean()) for g in sorted(set(groups.tolist()))},
        confusion=confusion.tolist(), predictions=predictions, labels=labels, widths=pens, sizes=sizes,
        images=images,
    )


def evaluate_drawn(index: Index, mnist: Mnist, per_width: int = 300, seed: int = 0, k: int = DEFAULT_K,
                   preprocess: str = "default", weights: str = "uniform", widths=WIDTHS,
                   progress: Progress = None) -> DrawnEvaluation:
    """Draw ``per_width`` MNIST test digits at every pen width (plus the browser digits) and classify them."""
    total = (per_width + len(BROWSER_DIGITS)) * len(widths)
    items = ((d, "browser" if d.source == "browser" else "MNIST test digits")
             for d in drawings(mnist.test_images, mnist.test_labels, per_width, seed, widths))
    return evaluate_drawings(index, items, total, "drawn", k, preprocess, weights, widths, progress)


def evaluate_pen(index: Index, digits: list, n: Optional[int] = None, seed: int = 0, k: int = DEFAULT_K,
                 preprocess: str = "default", weights: str = "uniform", widths=WIDTHS,
                 progress: Progress = None) -> DrawnEvaluation:
    """Render real pen digits (:mod:`knn.pen`; all, or a seeded n) as canvas drawings and classify them.

    Groups: ``knn.pen.WRITER_GROUPS``.
    """
    from knn.pen import WRITER_GROUPS, pen_drawings

    group = {w: name for name, writers in WRITER_GROUPS.items() for w in writers}
    items = ((d, group[w]) for d, w in pen_drawings(digits, widths, seed, n))
    total = len(digits) if n is None else n
    return evaluate_drawings(index, items, total, "pen", k, preprocess, weights, widths, progress)


def predict_files(index: Index, refs: References, paths, k: int = DEFAULT_K, preprocess: str = "default",
                  weights: str = "uniform") -> list:
    """Classify picture files in one batch; one dict per file, in order.

    A file that cannot be read gets ``{"file", "error"}``; the others
    ``{"file", "prediction", "votes", "neighbours": [{"index", "label", "distance", "variant"}]}``
    where "index" is the neighbour's MNIST training index and "variant" says
    whether it is that digit ("") or a copy of it (see VARIANTS).
    """
    results, queries, ok = [], [], []
    for p in paths:
        try:
            with open(p, "rb") as f:
                queries.append(steps_for(f.read(), preprocess).centred)
            ok.append(len(results))
            results.append({"file": str(p)})
        except (OSError, ImageError) as e:
            msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            results.append({"file": str(p), "error": msg})
    if queries:
        dist, idx, nlabels = index.neighbours(vectors(np.stack(queries), preprocess), k)
        labels, shares = vote(nlabels, dist, weights)
        for j, r in enumerate(ok):
            results[r].update(
                prediction=int(labels[j]),
                votes=[round(float(v), 4) for v in shares[j]],
                neighbours=[{"index": int(refs.rows[i]), "label": int(y), "distance": float(d),
                             "variant": VARIANTS[int(refs.variant[i])]}
                            for d, i, y in zip(dist[j], idx[j], nlabels[j])],
            )
    return results


@dataclass
class Answer:
    """Everything the page shows about one picture."""

    steps: object  # preprocess.Steps: crop, skeleton, redrawn, fitted, centred
    image: np.ndarray  # (28, 28) uint8: the picture after the pipeline's transform (deskewed or as centred)
    query: np.ndarray  # (d,) uint8: what the engine compares (the image's pixels, or its learned features)
    prediction: int
    shares: np.ndarray  # (10,) vote shares
    distances: np.ndarray  # (k,) nearest first
    indices: np.ndarray  # (k,) positions in the index (see References), or in the taught set
    labels: np.ndarray  # (k,) their labels
    taught: np.ndarray  # (k,) bool: the neighbour is one of the visitor's own taught digits
    runner_up: Optional[int]  # the nearest class other than the prediction, if within reach
    gap: Optional[float]  # distance of runner_up's nearest minus the prediction's nearest
    seconds: float  # features (learned or deskewed), search and vote


def distances_to(points: np.ndarray, query: np.ndarray, metric: str = "l1") -> np.ndarray:
    """Exact distances (m,) from a query (d,) to a few vectors (m, d), as the engine defines them."""
    q = np.asarray(query, np.int32).reshape(-1)
    d = np.asarray(points, np.int32).reshape(-1, len(q)) - q
    return np.abs(d).sum(1).astype(np.float64) if metric == "l1" else np.sqrt((d * d).sum(1).astype(np.float64))


def explain(index: Index, image, k: int = 1, weights: str = "uniform", preprocess: str = "default",
            reach: int = 100, taught: Optional[tuple] = None) -> Answer:
    """Preprocess one picture, search, vote, and measure how clear-cut the answer is.

    ``gap`` compares the nearest neighbour of the predicted class with the
    nearest of any other class among the ``reach`` nearest: a large gap means
    no other digit comes close. ``taught`` = (vectors (m, d) as compared,
    labels (m,)) are a visitor's own digits, searched exactly next to the
    index; on equal distance the index's digit comes first. Raises
    ImageError for pictures with no digit.
    """
    steps = steps_for(image, preprocess)
    picture = transform(steps.centred, preprocess).reshape(28, 28)
    start = time.perf_counter()
    query = vectors(steps.centred, preprocess)[0]
    dist, idx, lab = (a[0] for a in index.neighbours(query, max(k, min(reach, index.ntotal))))
    mine = np.zeros(len(dist), bool)
    if taught is not None and len(taught[1]):
        td = distances_to(taught[0], query, index.metric)
        dist, idx, lab = np.concatenate([dist, td]), np.concatenate([idx, np.arange(len(td))]), \
            np.concatenate([lab, np.asarray(taught[1], np.int64)])
        mine = np.concatenate([mine, np.ones(len(td), bool)])
        order = np.lexsort((idx, mine, dist))[:len(dist) - len(td)]  # by distance, index before taught
        dist, idx, lab, mine = dist[order], idx[order], lab[order], mine[order]
    k = min(k, len(dist))
    labels, shares = vote(lab[None, :k], dist[None, :k], weights)
    seconds = time.perf_counter() - start
    pred = int(labels[0])
    other = np.nonzero(lab != pred)[0]
    own = np.nonzero(lab == pred)[0]
    runner_up = int(lab[other[0]]) if len(other) else None
    gap = float(dist[other[0]] - dist[own[0]]) if len(other) else None
    return Answer(steps=steps, image=picture, query=query, prediction=pred, shares=shares[0], distances=dist[:k],
                  indices=idx[:k], labels=lab[:k], taught=mine[:k], runner_up=runner_up, gap=gap, seconds=seconds)
