"""Strangers teaching the reader as they go: the stream, measured on nested writer-disjoint folds.

A *stream* is one writer's digits, each drawn once on the canvas in a
seeded random order (pen widths round robin, as :func:`knn.pen.pen_drawings`
draws them). Every digit is read as the page reads it, with the writer's
own digits so far searched beside the shared references
(:func:`knn.answer.decide`: the nearest own digit decides within ``radius``
times the distance of the k-th nearest shared reference). A digit read
wrong is corrected at once with its true label, as one tap on the page
does; a digit read right is kept as read, as the page's Clear keeps it.
Either way it joins the writer's own digits.

:func:`evaluate_stream` measures it the way every pen figure is measured:
each outer fold's writers are in neither the index nor the choice. The
radius is chosen per outer fold on streams of the other writers alone (split
again into inner folds, each streamed with MNIST and the remaining inner
folds' pen digits as references), then the outer fold is streamed once with
the chosen radius and every other writer's digits in the index. Each stream
is read with networks trained without the outer fold and the writers it
measures (for an inner fold, those trained on MNIST alone).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from knn.answer import decide
from knn.conformal import LEVEL, REACH, calibrate
from knn.evaluate import Report, choose_on_inner_folds, read_drawings, reader
from knn.pen import WIDTHS

RADII = (1.0, 1.25, 1.5, 2.0, 3.0)  # the radii a nested evaluation chooses from; a tie goes to the smallest


@dataclass
class Writers:
    """Some writers' digits as drawn, and each one's nearest shared references (nearest first)."""

    vectors: np.ndarray  # (n, d) what the engine compares
    distances: np.ndarray  # (n, R) to the nearest shared references
    labels: np.ndarray  # (n, R) their labels
    truth: np.ndarray  # (n,) what each digit is
    writer: np.ndarray  # (n,)
    width: np.ndarray  # (n,) pen width, px
    metric: str


def own_distances(vectors: np.ndarray, query: np.ndarray, metric: str) -> np.ndarray:
    """Distances (m,) from a query to a writer's own m taught vectors, as the engine measures them."""
    diff = np.asarray(vectors, np.float64) - np.asarray(query, np.float64)
    return np.abs(diff).sum(1) if metric == "l1" else np.sqrt((diff * diff).sum(1))


def merged(distances, labels, own_dist, own_labels) -> tuple:
    """One query's shared and own neighbours merged by distance, a shared one first on equal distance:
    (distances, labels, own?) as :func:`knn.answer.search` gives them."""
    d = np.concatenate([distances, own_dist])
    y = np.concatenate([labels, own_labels]).astype(np.int64)
    own = np.concatenate([np.zeros(len(distances), bool), np.ones(len(own_dist), bool)])
    order = np.lexsort((own, d))
    return d[order], y[order], own[order]


def stream(w: Writers, k: int, radius: Optional[float], voting: str = "uniform", seed: int = 0,
           calibration=None, level: float = LEVEL, keep: bool = True) -> dict:
    """Every writer's stream, each miss corrected at once and, with ``keep``, each digit read right kept as
    read (with ``radius`` None, nothing is taught: the reader alone).

    Returns per-digit arrays: ``said`` (the answer read), ``taught`` (corrected
    after being read), ``taught_before`` (its own class already corrected by its
    writer when it was read), and with a ``calibration``, ``held`` (whether
    the prediction set at ``level`` held the truth, the writer's own digits
    counting as references at their distance, as on the page)."""
    rng = np.random.default_rng(seed)
    n = len(w.truth)
    said = np.zeros(n, np.int64)
    taught, before, held = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    reach = w.distances.shape[1]
    for writer in np.unique(w.writer):
        mine = np.flatnonzero(w.writer == writer)
        vectors, labels, corrected = [], [], set()
        for i in mine[rng.permutation(len(mine))]:
            own_d = own_distances(np.array(vectors), w.vectors[i], w.metric) if vectors else np.zeros(0)
            d, y, own = merged(w.distances[i], w.labels[i], own_d, np.array(labels, np.int64))
            said[i] = decide(d, y, own, k, voting, 0.0 if radius is None else radius)[0]
            before[i] = int(w.truth[i]) in corrected
            if calibration is not None:
                p = calibration.p_values(d[None, :reach], y[None, :reach])[0]
                held[i] = p[w.truth[i]] > 1 - level
            if radius is None:
                continue
            if said[i] != w.truth[i]:
                taught[i] = True
                corrected.add(int(w.truth[i]))
            if taught[i] or keep:
                vectors.append(w.vectors[i])
                labels.append(int(w.truth[i]))
    out = {"said": said, "taught": taught, "taught_before": before}
    if calibration is not None:
        out["held"] = held
    return out


@dataclass
class StreamEvaluation(Report):
    """Pen writers streaming their digits, every miss corrected at once, on nested writer-disjoint folds."""

    folds: list  # [sorted writers of the outer fold]
    chosen: list  # per outer fold: the radius chosen on the other writers' streams
    inner: list  # per outer fold: {radius: the inner streams' accuracy}
    accuracy: list  # per outer fold: the stream read right, with its chosen radius
    mean: float  # all digits of every fold together
    untaught: float  # the stream without any teaching, all digits
    by_width: dict  # pen width -> (stream, untaught) over every fold's digits
    corrections_per_writer: float
    corrections_per_50: float  # corrected digits per 50 drawn
    most_corrections: int  # the most one writer corrected
    not_yet_taught: tuple  # digits of a class their writer had not corrected when drawn: (read right, untaught, how many)
    keep: bool  # digits read right joined their writer's own digits
    fixed: int  # digits the stream reads right that the untaught reader reads wrong
    broke: int  # and the reverse
    coverage: tuple  # prediction sets at ``level`` holding the truth: (in the stream, untaught)
    level: float
    steps: list  # every stream run: {"outer", "measured", "index", "networks_never_saw" (None: every writer)}
    # writer sets, for checking disjointness
    n: int
    writers: int
    k: int
    space: str
    seconds: float

    def summary(self) -> dict:
        out = super().summary()
        out["steps"] = [{key: None if v is None else sorted(v) for key, v in s.items()} for s in self.steps]
        out["inner"] = [{str(w): v for w, v in s.items()} for s in self.inner]
        return out


def evaluate_stream(mnist, digits: list, folds: int = 3, space="default", metric: str = "l1",
                    radii=RADII, k: Optional[int] = None, seed: int = 0, voting: str = "uniform",
                    level: float = LEVEL, keep: bool = True, progress=None) -> StreamEvaluation:
    """Streams of pen writers on nested writer-disjoint folds: see the module's docstring.

    Every digit is drawn once (:func:`knn.pen.pen_drawings`, seed ``seed``)
    and read as the page reads a canvas. ``k`` defaults to the space's own.
    ``keep`` False: only corrected digits join the writer's own.
    """
    from knn import spaces
    from knn.pen import pen_drawings, pen_pictures, writer_folds
    from knn.references import build

    start = time.perf_counter()
    space = spaces.get(space)
    k = space.default_k if k is None else k
    pen = pen_pictures(space, digits)
    pairs = list(pen_drawings(digits, WIDTHS, seed))
    images, truth, widths, _, writers = read_drawings(space, pairs, len(pairs), progress)
    queries = reader(images)
    everyone = set(writers.tolist())
    steps = []

    def measured_writers(outer, measured, allowed):
        assert not measured & allowed and not outer & allowed  # the measured writers are not in the index,
        assert measured == outer or not outer & measured  # nor the outer fold anywhere in the choosing
        seen_by = space.trained_without(outer | measured)  # nor in the networks
        steps.append({"outer": set(outer), "measured": set(measured), "index": set(allowed),
                      "networks_never_saw": seen_by.never_saw()})
        refs = build(mnist, seen_by, metric, pen=pen.without(everyone - allowed))
        assert set(refs.writers[refs.writers > 0].tolist()) <= allowed
        rows = np.flatnonzero(np.isin(writers, list(measured)))
        vectors = queries(seen_by)[rows]
        d, i = refs.index.search(vectors, max(REACH, k))
        return refs, rows, Writers(vectors=vectors, distances=d.astype(np.float64),
                                   labels=refs.index.labels[i], truth=truth[rows], writer=writers[rows],
                                   width=widths[rows], metric=metric)

    outer_folds = writer_folds(digits, folds)
    chosen, inner_scores, accuracy = [], [], []
    runs, plains, rows_all = [], [], []
    for fold in outer_folds:
        rest = everyone - fold

        def score(group, allowed):
            _, rows, w = measured_writers(fold, group, allowed)
            return {x: int((stream(w, k, x, voting, seed, keep=keep)["said"] == w.truth).sum()) for x in radii}, len(rows)

        best, scores = choose_on_inner_folds(rest, folds, radii, score)  # a tie: the smallest radius
        chosen.append(best)
        inner_scores.append(scores)
        refs, rows, w = measured_writers(fold, fold, rest)
        cal = calibrate(refs)
        run = stream(w, k, best, voting, seed, cal, level, keep)
        plain = stream(w, k, None, voting, seed, cal, level)
        accuracy.append(float((run["said"] == w.truth).mean()))
        runs.append(run), plains.append(plain), rows_all.append(rows)
    rows = np.concatenate(rows_all)
    right = np.concatenate([r["said"] for r in runs]) == truth[rows]
    right_plain = np.concatenate([p["said"] for p in plains]) == truth[rows]
    taught = np.concatenate([r["taught"] for r in runs])
    not_yet = ~np.concatenate([r["taught_before"] for r in runs])
    who = writers[rows]
    per_writer = [int(taught[who == x].sum()) for x in np.unique(who)]
    width = widths[rows]
    return StreamEvaluation(
        folds=[sorted(f) for f in outer_folds], chosen=chosen, inner=inner_scores, accuracy=accuracy,
        mean=float(right.mean()), untaught=float(right_plain.mean()),
        by_width={int(x): (float(right[width == x].mean()), float(right_plain[width == x].mean()))
                  for x in WIDTHS},
        corrections_per_writer=float(np.mean(per_writer)), corrections_per_50=50 * float(taught.mean()),
        most_corrections=max(per_writer),
        not_yet_taught=(float(right[not_yet].mean()), float(right_plain[not_yet].mean()), int(not_yet.sum())),
        fixed=int((right & ~right_plain).sum()), broke=int((~right & right_plain).sum()),
        coverage=(float(np.concatenate([r["held"] for r in runs]).mean()),
                  float(np.concatenate([p["held"] for p in plains]).mean())),
        keep=keep, level=level, steps=steps, n=len(rows), writers=len(per_writer), k=k, space=space.name,
        seconds=time.perf_counter() - start)

