"""Accuracy: the references of a space (:mod:`knn.references`) measured on MNIST's test set and on drawings.

* :func:`evaluate_mnist`: a seeded subset (or all) of MNIST's 10,000 test
  digits, classified in batches: :class:`Evaluation`.
* :func:`evaluate_drawn`, :func:`evaluate_pen`: drawings made the way the
  page's canvas draws (MNIST test digits redrawn from their pen path,
  :mod:`knn.drawn`; real pen digits by 30 writers, :mod:`knn.pen`), read
  as the page reads a canvas: :class:`DrawnEvaluation`, overall and by pen
  width, size and group.
* :func:`evaluate_scans`: scanned digits (:mod:`knn.scans`) made into the
  uploads a visitor would make: :class:`ScanEvaluation`.
* :func:`evaluate_numbers`: strings of digits in one picture (:mod:`knn.number`),
  read exactly or not: :class:`NumberEvaluation`.
* :func:`evaluate_folds`: pen digits or numbers on writer-disjoint folds,
  the other folds' pen digits as references: :class:`FoldEvaluation`.
* :func:`evaluate_nested`: pen digits on nested writer folds, k and the
  copies chosen on other writers than the ones measured:
  :class:`NestedEvaluation`.
* :func:`evaluate_omniglot`: characters of other alphabets
  (:mod:`knn.omniglot`), counted as answered "not a digit" or not:
  :class:`NonDigitEvaluation`.

Every evaluation also reports the certainty (:mod:`knn.conformal`): how
often the prediction sets hold the true digit, their mean size, and how
many pictures are answered "not a digit".

The command line (``python -m knn evaluate``) and the tests call these;
they print nothing and report progress through an optional callback.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable, Optional

import numpy as np

from knn.conformal import DIGIT_LEVEL, LEVEL, REACH, calibrate, check_level, coverage, in_set, set_size
from knn.data import Mnist, subset
from knn.drawn import BROWSER_DIGITS, WIDTHS, drawings
from knn.engine import vote
from knn.references import References

NUMBERS = 1400  # strings composed per source (or per fold) when measuring numbers: lengths 1-4 in turn
TUTORIAL = {"n_train": 5000, "n_test": 200, "accuracy": 0.92}  # the TF1 tutorial's setting and figure
SIZE_BANDS = ((0.35, 0.55), (0.55, 0.75), (0.75, 0.95))  # a drawing's size, as a fraction of the canvas
Progress = Optional[Callable[[int, int], None]]  # called with (done, total)


class Report:
    """A measurement: its figures, plus per-picture arrays for the pages and the tests."""

    def summary(self) -> dict:
        """The JSON fields: every figure, none of the per-picture arrays."""
        return {k: v for k, v in asdict(self).items() if not isinstance(v, np.ndarray)}


@dataclass
class Evaluation(Report):
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
    level: float  # of the prediction sets
    coverage: float  # share of test digits whose prediction set at ``level`` holds their label
    set_size: float  # mean size of the prediction sets
    flagged: float  # share answered "not a digit"
    predictions: np.ndarray  # (n_test,) predicted labels
    test_rows: np.ndarray  # (n_test,) indices into the test set
    p_values: np.ndarray  # (n_test, 10) conformal p-values (knn.conformal)
    likeness: np.ndarray  # (n_test,) digit-likeness



def classify_with_certainty(refs: References, queries: np.ndarray, pictures: np.ndarray, k: int, voting: str,
                            chunk: int = 512, progress: Progress = None, certainty: bool = True):
    """Vote among the k nearest and assess every query (:mod:`knn.conformal`) in chunks.

    ``queries``: (n, d) vectors; ``pictures``: (n, 28, 28) as read. Returns
    (predictions (n,), p_values (n, 10), digit-likeness (n,)); without
    ``certainty`` only the predictions are made (the other two are NaN).
    """
    calibration = calibrate(refs) if certainty else None
    n = max(k, min(REACH, len(refs))) if certainty else k
    predictions = np.empty(len(queries), np.int64)
    p_values = np.empty((len(queries), 10))
    likeness = np.empty(len(queries))
    for s in range(0, len(queries), chunk):
        dist, pos, lab = refs.index.neighbours(queries[s:s + chunk], n)
        predictions[s:s + chunk], _ = vote(lab[:, :k], dist[:, :k], voting)
        if calibration is None:
            p_values[s:s + chunk], likeness[s:s + chunk] = np.nan, np.nan
            continue
        for j, c in enumerate(calibration.assess(dist, lab, pictures[s:s + chunk], refs.deskewed(pos))):
            p_values[s + j], likeness[s + j] = c.p_values, c.digit_likeness
        if progress:
            progress(min(s + chunk, len(queries)), len(queries))
    return predictions, p_values, likeness


def set_figures(p_values: np.ndarray, likeness: np.ndarray, labels: np.ndarray, level: float) -> dict:
    """Coverage and mean size of the prediction sets at ``level``, and the share flagged "not a digit"."""
    if not len(labels) or np.isnan(likeness).any():
        return {"coverage": float("nan"), "set_size": float("nan"), "flagged": float("nan")}
    return {"coverage": float(coverage(p_values, labels, [level])[0]),
            "set_size": float(set_size(p_values, [level])[0]), "flagged": float((likeness < DIGIT_LEVEL).mean())}


def evaluate_mnist(refs: References, mnist: Mnist, n_test: Optional[int] = None, seed: int = 0,
                   k: Optional[int] = None, voting: str = "uniform", progress: Progress = None,
                   chunk: int = 512, level: float = LEVEL, certainty: bool = True) -> Evaluation:
    """Classify a seeded subset of n_test test digits (all by default) against the references.

    The test subset is drawn with ``seed + 1``, so a training subset built
    with ``seed`` and this one differ. ``seconds`` and
    ``queries_per_second`` time the queries' vectors (deskew or learned
    features), search, vote and certainty; not building the index or its
    calibration. The prediction sets are at ``level``; ``certainty=False``
    skips them (coverage, set size and flagged are then NaN).
    """
    k = refs.space.default_k if k is None else k
    check_level(level)
    rows = subset(len(mnist.test_labels), n_test, seed + 1)
    if certainty:
        calibrate(refs)
    start = time.perf_counter()
    images = mnist.test_images[rows]
    predictions, p_values, likeness = classify_with_certainty(
        refs, refs.space.vectors(images), images, k, voting, chunk, progress, certainty)
    seconds = time.perf_counter() - start
    labels = mnist.test_labels[rows]
    errors = int((predictions != labels).sum())
    return Evaluation(
        accuracy=1 - errors / len(rows), errors=errors, n_train=refs.n_train, index_size=len(refs),
        n_test=len(rows), k=k, metric=refs.index.metric, space=refs.space.name, voting=voting, seconds=seconds,
        queries_per_second=len(rows) / seconds, level=level, **set_figures(p_values, likeness, labels, level),
        predictions=predictions, test_rows=rows, p_values=p_values, likeness=likeness,
    )


@dataclass
class Reading(Report):
    """How a set of pictures of digits was read: the figures every such measurement has."""

    set: str  # "drawn" (MNIST test digits redrawn), "pen" (real pen digits) or "scans"
    accuracy: float
    errors: int
    n: int
    k: int
    metric: str
    space: str
    voting: str


@dataclass
class DrawnEvaluation(Reading):
    """Accuracy on drawings (:mod:`knn.drawn` or :mod:`knn.pen`), overall, per pen width, size and group."""

    seconds: float  # drawing, preprocessing, search and vote
    by_width: dict  # pen width (px) -> accuracy
    by_size: dict  # "35-55%" -> accuracy
    by_group: dict  # "browser" strokes, or writers -> accuracy
    confusion: list  # (10, 10) counts, rows true label
    level: float  # of the prediction sets
    coverage: float  # share whose prediction set at ``level`` holds the label
    set_size: float  # mean size of the prediction sets
    flagged: float  # share answered "not a digit"
    flagged_by_width: dict  # pen width (px) -> share answered "not a digit"
    predictions: np.ndarray
    labels: np.ndarray
    widths: np.ndarray
    sizes: np.ndarray
    images: np.ndarray  # (n, 28, 28) uint8: each drawing in MNIST format, as the space read it
    p_values: np.ndarray  # (n, 10) conformal p-values
    likeness: np.ndarray  # (n,) digit-likeness


    @property
    def browser(self) -> float:
        return self.by_group.get("browser", float("nan"))


def read_drawings(space, items, total: int, progress: Progress = None):
    """(Drawing, group) pairs -> arrays: MNIST-format pictures as the space reads a canvas, labels, pen
    widths, sizes and groups."""
    images, labels, pens, sizes, groups = [], [], [], [], []
    for d, group in items:
        images.append(space.read(d.image).centred)
        labels.append(d.label), pens.append(d.width), sizes.append(d.size), groups.append(group)
        if progress and len(images) % 50 == 0:
            progress(len(images), total)
    return tuple(map(np.asarray, (images, labels, pens, sizes, groups)))


def evaluate_drawings(refs: References, items, total: int, set_name: str, k: Optional[int] = None,
                      voting: str = "uniform", widths=WIDTHS, progress: Progress = None,
                      level: float = LEVEL) -> DrawnEvaluation:
    """Classify (Drawing, group) pairs the way the page reads a canvas; see :class:`DrawnEvaluation`."""
    space = refs.space
    k = space.default_k if k is None else k
    check_level(level)
    calibrate(refs)
    start = time.perf_counter()
    images, labels, pens, sizes, groups = read_drawings(space, items, total, progress)
    predictions, p_values, likeness = classify_with_certainty(refs, space.vectors(images), images, k, voting)
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
        confusion=confusion.tolist(), level=level, **set_figures(p_values, likeness, labels, level),
        flagged_by_width={int(w): float((likeness[pens == w] < DIGIT_LEVEL).mean()) for w in widths},
        predictions=predictions, labels=labels, widths=pens, sizes=sizes, images=images,
        p_values=p_values, likeness=likeness,
    )


def evaluate_drawn(refs: References, mnist: Mnist, per_width: int = 300, seed: int = 0, k: Optional[int] = None,
                   voting: str = "uniform", widths=WIDTHS, progress: Progress = None,
                   level: float = LEVEL) -> DrawnEvaluation:
    """Draw ``per_width`` MNIST test digits at every pen width (plus the browser digits) and classify them."""
    total = (per_width + len(BROWSER_DIGITS)) * len(widths)
    items = ((d, "browser" if d.source == "browser" else "MNIST test digits")
             for d in drawings(mnist.test_images, mnist.test_labels, per_width, seed, widths))
    return evaluate_drawings(refs, items, total, "drawn", k, voting, widths, progress, level)


def evaluate_pen(refs: References, digits: list, n: Optional[int] = None, seed: int = 0, k: Optional[int] = None,
                 voting: str = "uniform", widths=WIDTHS, progress: Progress = None,
                 level: float = LEVEL) -> DrawnEvaluation:
    """Render real pen digits (:mod:`knn.pen`; all, or a seeded n) as canvas drawings and classify them.

    Groups: ``knn.pen.WRITER_GROUPS``.
    """
    from knn.pen import WRITER_GROUPS, pen_drawings

    group = {w: name for name, writers in WRITER_GROUPS.items() for w in writers}
    items = ((d, group[w]) for d, w in pen_drawings(digits, widths, seed, n))
    total = len(digits) if n is None else n
    return evaluate_drawings(refs, items, total, "pen", k, voting, widths, progress, level)


@dataclass
class NonDigitEvaluation(Report):
    """How many drawings that are not digits (:mod:`knn.omniglot`) are answered "not a digit"."""

    set: str
    flagged: float  # over every alphabet but the look-alike one
    lookalike: str  # the alphabet reported apart
    lookalike_flagged: float
    by_alphabet: dict  # alphabet -> share flagged
    by_width: dict  # pen width (px) -> share flagged, every alphabet but the look-alike one
    empty_sets: float  # share whose prediction set at ``level`` is empty (no digit fits)
    level: float
    n: int
    space: str
    seconds: float
    likeness: np.ndarray  # (n,) digit-likeness
    p_values: np.ndarray  # (n, 10)
    alphabets: np.ndarray  # (n,) str
    images: np.ndarray  # (n, 28, 28) uint8
    predictions: np.ndarray  # (n,) the vote's digit all the same



def evaluate_omniglot(refs: References, characters: list, k: Optional[int] = None, voting: str = "uniform",
                      widths=WIDTHS, progress: Progress = None, level: float = LEVEL) -> NonDigitEvaluation:
    """Render characters of other alphabets as canvas drawings and count those answered "not a digit"."""
    from knn.omniglot import LOOKALIKE, omniglot_drawings

    space = refs.space
    k = space.default_k if k is None else k
    check_level(level)
    calibrate(refs)
    start = time.perf_counter()
    images, _, pens, _, alphabets = read_drawings(space, omniglot_drawings(characters, widths), len(characters),
                                                  progress)
    predictions, p_values, likeness = classify_with_certainty(refs, space.vectors(images), images, k, voting)
    flagged = likeness < DIGIT_LEVEL
    others = alphabets != LOOKALIKE
    return NonDigitEvaluation(
        set="omniglot", flagged=float(flagged[others].mean()) if others.any() else float("nan"),
        lookalike=LOOKALIKE, lookalike_flagged=float(flagged[~others].mean()) if (~others).any() else float("nan"),
        by_alphabet={str(a): float(flagged[alphabets == a].mean()) for a in sorted(set(alphabets.tolist()))},
        by_width={int(w): float(flagged[others & (pens == w)].mean()) for w in widths if (others & (pens == w)).any()},
        empty_sets=float((~in_set(p_values, level).any(1)).mean()), level=level, n=len(images),
        space=space.name, seconds=time.perf_counter() - start, likeness=likeness, p_values=p_values,
        alphabets=alphabets, images=images, predictions=predictions,
    )


@dataclass
class ScanEvaluation(Reading):
    """Accuracy and certainty on scanned digits (:mod:`knn.scans`) read as uploads."""

    seconds: float  # making the uploads, reading them, search, vote and certainty
    by_digit: dict  # true digit -> accuracy
    confusion: list  # (10, 10) counts, rows true label
    level: float
    coverage: float
    set_size: float
    flagged: float
    predictions: np.ndarray
    labels: np.ndarray
    images: np.ndarray  # (n, 28, 28) uint8: each upload as the space read it
    p_values: np.ndarray
    likeness: np.ndarray



def evaluate_scans(refs: References, scans: list, k: Optional[int] = None, voting: str = "uniform",
                   progress: Progress = None, level: float = LEVEL) -> ScanEvaluation:
    """Make every scan an upload (enlarged, dark on light, JPEG), read it as the page reads an upload, classify."""
    from knn.scans import as_upload

    space = refs.space
    k = space.default_k if k is None else k
    check_level(level)
    calibrate(refs)
    start = time.perf_counter()
    images = []
    for i, s in enumerate(scans):
        images.append(space.read(as_upload(s)).centred)
        if progress and i % 50 == 0:
            progress(i, len(scans))
    images = np.stack(images)
    labels = np.array([s.label for s in scans], np.int64)
    predictions, p_values, likeness = classify_with_certainty(refs, space.vectors(images), images, k, voting)
    if progress:
        progress(len(scans), len(scans))
    ok = predictions == labels
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    return ScanEvaluation(
        set="scans", accuracy=float(ok.mean()), errors=int((~ok).sum()), n=len(ok), k=k, metric=refs.index.metric,
        space=space.name, voting=voting, seconds=time.perf_counter() - start,
        by_digit={int(c): float(ok[labels == c].mean()) for c in range(10) if (labels == c).any()},
        confusion=confusion.tolist(), level=level, **set_figures(p_values, likeness, labels, level),
        predictions=predictions, labels=labels, images=images, p_values=p_values, likeness=likeness,
    )


@dataclass
class NumberEvaluation(Report):
    """How strings of digits (one picture each) were read: exactly, by length, and split into the right count."""

    set: str  # "pen numbers" or "scan numbers"
    n: int  # strings of two or more digits
    exact: float  # share of them read exactly
    by_length: dict  # digits in the string -> share read exactly
    split_right: float  # share split into as many digits as they have
    digit_accuracy: float  # digits read right, among the strings split right
    single: float  # single digits read through the number path
    single_whole: float  # the same single digits read as one digit
    n_single: int
    k: int
    space: str
    seconds: float  # composing, splitting, reading, search, vote and certainty
    truths: list
    readings: list


def evaluate_numbers(refs: References, items, set_name: str, k: Optional[int] = None, voting: str = "uniform",
                     progress: Progress = None, total: Optional[int] = None) -> NumberEvaluation:
    """Read (picture, true string) pairs as the page's Number mode does, every digit of every string in one batch.

    Strings of one digit are also read whole, as the digit path does, to show
    that splitting costs single digits nothing.
    """
    from knn.number import pieces

    space = refs.space
    k = space.default_k if k is None else k
    start = time.perf_counter()
    truths, counts, images, whole = [], [], [], []
    for j, (picture, truth) in enumerate(items):
        _, inks = pieces(picture)
        images += [space.read(p).centred for p in inks]
        counts.append(len(inks))
        truths.append(truth)
        if len(truth) == 1:
            whole.append(space.read(picture).centred)
        if progress and j % 50 == 0:
            progress(j, total or j + 1)
    images = np.stack(images)
    predictions, _, _ = classify_with_certainty(refs, space.vectors(images), images, k, voting, certainty=False)
    symbols = predictions.astype(str)
    ends = np.cumsum(counts)
    readings = ["".join(symbols[e - c:e]) for e, c in zip(ends, counts)]
    many = [(t, r) for t, r in zip(truths, readings) if len(t) > 1]
    singles = [(t, r) for t, r in zip(truths, readings) if len(t) == 1]
    lengths = sorted({len(t) for t, _ in many})
    split = [(t, r) for t, r in many if len(r) == len(t)]
    if whole:
        w = np.stack(whole)
        wp, _, _ = classify_with_certainty(refs, space.vectors(w), w, k, voting, certainty=False)
        single_whole = float(np.mean([t == str(p) for (t, _), p in zip(singles, wp)]))
    else:
        single_whole = float("nan")
    return NumberEvaluation(
        set=set_name, n=len(many), exact=float(np.mean([t == r for t, r in many])) if many else float("nan"),
        by_length={n: float(np.mean([t == r for t, r in many if len(t) == n])) for n in lengths},
        split_right=len(split) / max(1, len(many)),
        digit_accuracy=float(np.mean([a == b for t, r in split for a, b in zip(t, r)])) if split else float("nan"),
        single=float(np.mean([t == r for t, r in singles])) if singles else float("nan"),
        single_whole=single_whole, n_single=len(singles), k=k, space=space.name,
        seconds=time.perf_counter() - start, truths=truths, readings=readings)


def pen_numbers(digits: list, n: int, seed: int = 0, widths=WIDTHS, lengths=(1, 2, 3, 4)):
    """Yield n (picture, true string) pairs: one writer's pen digits written as a number, lengths and pen
    widths round robin (:func:`knn.pen.pen_number`)."""
    from knn.pen import pen_number

    rng = np.random.default_rng(seed)
    by_writer = {}
    for d in digits:
        by_writer.setdefault(d.writer, []).append(d)
    writers = sorted(by_writer)
    for j in range(n):
        mine = by_writer[writers[int(rng.integers(len(writers)))]]
        chosen = [mine[int(i)] for i in rng.choice(len(mine), lengths[j % len(lengths)], replace=False)]
        yield pen_number(chosen, rng, widths[(j // len(lengths)) % len(widths)]), "".join(str(d.label) for d in chosen)


def scan_numbers(scans: list, n: int, seed: int = 0, lengths=(1, 2, 3, 4)):
    """Yield n (upload bytes, true string) pairs: scans side by side (:func:`knn.scans.scan_number`)."""
    from knn.scans import scan_number

    rng = np.random.default_rng(seed)
    for j in range(n):
        chosen = [scans[int(i)] for i in rng.choice(len(scans), lengths[j % len(lengths)], replace=False)]
        yield scan_number(chosen, rng), "".join(str(s.label) for s in chosen)


def _spread(values) -> tuple:
    """Figures over folds -> (mean, lowest, highest)."""
    return float(np.mean(values)), float(min(values)), float(max(values))


@dataclass
class FoldEvaluation(Report):
    """A measurement repeated over writer-disjoint folds: each fold's writers are measured with every
    other fold's pen digits as references, and none of their own."""

    set: str  # "pen" or "pen numbers"
    folds: list  # [sorted writers of the fold]
    accuracy: list  # per fold: accuracy (pen) or strings read exactly (pen numbers)
    mean: float
    low: float
    high: float
    by_width: dict  # pen width -> (mean, low, high) over the folds; pen only
    n: int  # pictures (pen) or strings of 2-4 digits (pen numbers) measured, all folds together
    references: list  # per fold: the pen drawings in its index
    k: int
    space: str
    seconds: float
    flagged: Optional[float] = None  # pen: the share answered "not a digit", all folds together


def fold_references(mnist: Mnist, digits: list, folds: int = 3, space="default", metric: str = "l1"):
    """For each of the pen writers' writer-disjoint folds (:func:`knn.pen.writer_folds`), in turn:
    ``(its writers, the references to measure it with)``. The references are MNIST and the other folds'
    pen digits (:func:`knn.pen.pen_pictures`), read with networks that never saw the fold's writers
    (:meth:`knn.spaces.Space.trained_without`): the fold's writers are nowhere in the index or the networks."""
    from knn import spaces as _spaces
    from knn.pen import pen_pictures, writer_folds
    from knn.references import build

    space = _spaces.get(space)
    pen = pen_pictures(space, digits)
    for fold in writer_folds(digits, folds):
        refs = build(mnist, space.trained_without(fold), metric, pen=pen.without(fold))
        assert not set(refs.writers.tolist()) & fold  # the measured writers are nowhere in the index
        yield fold, refs


def evaluate_folds(mnist: Mnist, digits: list, folds: int = 3, space="default", metric: str = "l1",
                   what: str = "pen", n: Optional[int] = None, seed: int = 0, k: Optional[int] = None,
                   voting: str = "uniform", level: float = LEVEL, progress: Progress = None) -> FoldEvaluation:
    """Pen digits (``what="pen"``) or numbers written with them (``"pen numbers"``, n strings a fold)
    measured on writer-disjoint folds, each with the references :func:`fold_references` gives it: the
    fold's writers are in neither the index nor the networks that read them."""
    from knn import spaces as _spaces

    start = time.perf_counter()
    space = _spaces.get(space)
    results, sizes, by_width, count, flagged, splits = [], [], {}, 0, 0.0, []
    for fold, refs in fold_references(mnist, digits, folds, space, metric):
        splits.append(fold)
        mine = [d for d in digits if d.writer in fold]
        if what == "pen":
            e = evaluate_pen(refs, mine, seed=seed, k=k, voting=voting, progress=progress, level=level)
            results.append(e.accuracy)
            count += e.n
            flagged += e.flagged * e.n
            for w, v in e.by_width.items():
                by_width.setdefault(w, []).append(v)
        else:
            strings = n or NUMBERS
            e = evaluate_numbers(refs, pen_numbers(mine, strings, seed), "pen numbers", k, voting, progress, strings)
            results.append(e.exact)
            count += e.n
        sizes.append(int((refs.writers > 0).sum()))
        k = e.k
    mean, low, high = _spread(results)
    return FoldEvaluation(
        set=what, folds=[sorted(f) for f in splits], accuracy=results, mean=mean, low=low, high=high,
        by_width={w: _spread(v) for w, v in by_width.items()},
        n=count, references=sizes, k=k, space=space.name, seconds=time.perf_counter() - start,
        flagged=flagged / count if what == "pen" else None)


@dataclass
class NestedEvaluation(Report):
    """Pen writers measured on folds whose settings were chosen on other writers (nested folds).

    For every outer fold, k and whether the styled copies join the index are
    chosen on the other writers alone: those are split again into inner
    folds, each measured with MNIST and the remaining inner folds' pen
    digits as references. The outer fold is then measured once, with the
    chosen setting and every other writer's pen digits in the index. Every
    measurement reads with networks trained without the outer fold and the
    writers it measures (:meth:`knn.spaces.Space.trained_without`: for an
    inner fold, those trained on MNIST alone). So the outer figures are held
    out from that choice as well as from the index and the networks.
    """

    set: str  # "pen, nested folds"
    folds: list  # [sorted writers of the outer fold]
    chosen: list  # per outer fold: {"k": k, "copies": bool}
    inner: list  # per outer fold: {"k=7, no copies": inner accuracy, ...}
    accuracy: list  # per outer fold, with its chosen setting
    mean: float
    low: float
    high: float
    by_width: dict  # pen width -> (mean, low, high) over the outer folds
    shipped: list  # per outer fold, with the shipped setting (the space's k, no copies), for comparison
    steps: list  # every measurement made: {"outer", "measured", "index", "networks_never_saw" (None: every
    # writer)} writer sets, for checking disjointness
    n: int
    space: str
    seconds: float

    def summary(self) -> dict:
        out = super().summary()
        out["steps"] = [{key: sorted(v) if isinstance(v, (set, frozenset)) else v for key, v in s.items()}
                        for s in self.steps]
        return out


def reader(images: np.ndarray):
    """A function: space -> ``space.vectors(images)``, each space's networks run over the images once."""
    made = {}

    def vectors(space):
        key = json.dumps(space.identity(), sort_keys=True)
        if key not in made:
            made[key] = space.vectors(images)
        return made[key]

    return vectors


def choose_on_inner_folds(rest: set, folds: int, settings, score) -> tuple:
    """The setting that reads the writers outside an outer fold best, each inner fold (:func:`knn.pen.inner_folds`)
    measured with the remaining ones in the index: ``score(measured, allowed)`` gives ({setting: digits read
    right}, digits measured). Returns (best, {setting: accuracy}); a tie goes to the first in ``settings``."""
    from knn.pen import inner_folds

    right, total = dict.fromkeys(settings, 0), 0
    for group in inner_folds(rest, folds):
        got, n = score(group, rest - group)
        for s in settings:
            right[s] += got[s]
        total += n
    return max(settings, key=lambda s: right[s]), {s: right[s] / total for s in settings}


def setting_name(k: int, copies: bool) -> str:
    """How a nested evaluation names a setting: "k=7, no copies"."""
    return f"k={k}, {'with' if copies else 'no'} copies"


def evaluate_nested(mnist: Mnist, digits: list, folds: int = 3, space="default", metric: str = "l1",
                    ks=(5, 7, 9), copies=(False, True), seed: int = 0, voting: str = "uniform",
                    progress: Progress = None) -> NestedEvaluation:
    """Pen digits on nested writer-disjoint folds: see :class:`NestedEvaluation`.

    Every digit is drawn once (:func:`knn.pen.pen_drawings`, seed ``seed``)
    and read as the page reads a canvas; each measurement searches the
    queries of the writers it measures among MNIST (with the space's styled
    copies where a setting says so) and the pen drawings of the writers it
    is allowed. Ties between settings go to the first in ``ks`` x ``copies``
    order. ``copies`` is chosen only in a space whose copies stand in for pen digits (the learned
    space's styled copies); in the others only k is.
    """
    from knn import spaces as _spaces
    from knn.pen import pen_drawings, pen_pictures, writer_folds
    from knn.references import build

    start = time.perf_counter()
    space = _spaces.get(space)
    with_copies = replace(space, copies_stand_in_for_pen=False)
    pen = pen_pictures(space, digits)
    pairs = list(pen_drawings(digits, WIDTHS, seed))
    images, labels, widths, _, writers = read_drawings(space, pairs, len(pairs), progress)  # grouped by writer
    queries = reader(images)
    everyone = set(writers.tolist())
    reach = max(ks)
    steps = []

    def neighbours(outer, measured, allowed, copy):
        assert not measured & allowed and not outer & allowed  # the measured writers are not in the index,
        assert measured == outer or not outer & measured  # nor the outer fold anywhere in the choosing
        seen_by = (with_copies if copy else space).trained_without(outer | measured)  # nor in the networks
        steps.append({"outer": set(outer), "measured": set(measured), "index": set(allowed), "copies": copy,
                      "networks_never_saw": seen_by.never_saw()})
        refs = build(mnist, seen_by, metric, pen=pen.without(everyone - allowed))
        assert set(refs.writers[refs.writers > 0].tolist()) <= allowed
        rows = np.flatnonzero(np.isin(writers, list(measured)))
        d, i = refs.index.search(queries(seen_by)[rows], reach)
        return rows, d, refs.index.labels[i]

    def read(labels_found, distances, k):
        return vote(labels_found[:, :k], distances[:, :k], voting)[0]

    # a space whose copies always join its index (thicken) has only k to choose
    settings = [(k, c) for k in ks for c in (copies if space.copies_stand_in_for_pen else (False,))]
    outer_folds = writer_folds(digits, folds)
    chosen, inner_scores, results, shipped, width_scores = [], [], [], [], {}
    for fold in outer_folds:
        rest = everyone - fold

        def score(group, allowed):
            right = dict.fromkeys(settings, 0)
            for copy in sorted({c for _, c in settings}):
                rows, d, found = neighbours(fold, group, allowed, copy)
                for k, c in settings:
                    if c == copy:
                        right[(k, c)] += int((read(found, d, k) == labels[rows]).sum())
            return right, len(rows)

        best, scores = choose_on_inner_folds(rest, folds, settings, score)
        chosen.append({"k": best[0], "copies": best[1]})
        inner_scores.append({setting_name(*s): v for s, v in scores.items()})
        rows, d, found = neighbours(fold, fold, rest, best[1])
        ok = read(found, d, best[0]) == labels[rows]
        results.append(float(ok.mean()))
        for w in WIDTHS:
            width_scores.setdefault(w, []).append(float(ok[widths[rows] == w].mean()))
        if best[1]:
            rows, d, found = neighbours(fold, fold, rest, False)
        shipped.append(float((read(found, d, space.default_k) == labels[rows]).mean()))
    mean, low, high = _spread(results)
    return NestedEvaluation(
        set="pen, nested folds", folds=[sorted(f) for f in outer_folds], chosen=chosen, inner=inner_scores,
        accuracy=results, mean=mean, low=low, high=high, by_width={w: _spread(v) for w, v in width_scores.items()},
        shipped=shipped, steps=steps, n=len(labels), space=space.name, seconds=time.perf_counter() - start)
