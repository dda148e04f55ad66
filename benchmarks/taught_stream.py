"""Strangers correcting the reader as they go: how far one tap could carry, on writer-disjoint folds.

Each fold's writers are held out: the index holds MNIST and the other
folds' pen digits (as ``evaluate --set pen --folds 3`` builds it). Every
held-out writer then draws all their digits in a seeded random order (each
drawn once, pen widths round robin, as :func:`knn.pen.pen_drawings` draws
them); a digit read wrong is taught at once with its true label, and the
writer's taught digits are searched beside the shared index from then on.
A *rule* says how the writer's own digits weigh against the shared ones:

* ``none``: never taught (the reader as it is);
* ``merge``: the page's Teach it today, taught digits merged with the shared
  references by distance, k of them voting, one vote each;
* ``weight W``: the same, a taught digit among the k worth W votes;
* ``radius R``: the nearest taught digit decides when it is within R times
  the distance of the nearest shared reference, else ``merge``.

For each rule: the stream's accuracy (every digit counted as first read),
corrections per writer and per 50 digits, the lowest per-width accuracy,
and how many digits it reads right that ``none`` reads wrong, and the
reverse. Also the ceiling no rule passes: every writer's first miss of each
digit counted, every later one of that digit read right.

The rules are compared here on the reported folds themselves, so these are
an exploration, not a chosen setting's result: a rule picked from this
table must be measured again on nested folds before a figure is published.

    python benchmarks/taught_stream.py [--folds 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RULES = [("none", 0), ("merge", 0)] + [("weight", w) for w in (2, 3, 5, 7)] + \
        [("radius", r) for r in (1.0, 1.2, 1.5, 2.0, 3.0)]


def prepare(folds: int, seed: int) -> list:
    """Per fold: the held-out writers' digits and their shared neighbours (:class:`knn.stream.Writers`)."""
    from knn import spaces
    from knn.conformal import REACH
    from knn.data import load_mnist
    from knn.pen import load_pendigits, pen_drawings, pen_pictures, writer_folds
    from knn.references import build
    from knn.stream import Writers

    space = spaces.DEFAULT
    mnist, digits = load_mnist(), load_pendigits()
    pen = pen_pictures(space, digits)
    out = []
    for fold in writer_folds(digits, folds):
        unseen = space.trained_without(fold)  # networks that never saw the fold's writers
        refs = build(mnist, unseen, "l1", pen=pen.without(fold))
        items = list(pen_drawings([d for d in digits if d.writer in fold], seed=seed))
        vectors = unseen.vectors(np.stack([space.read(d.image).centred for d, _ in items]))
        dist, pos = refs.index.search(vectors, REACH)
        out.append(Writers(vectors=vectors, distances=dist.astype(float), labels=refs.index.labels[pos],
                           truth=np.array([d.label for d, _ in items]), writer=np.array([w for _, w in items]),
                           width=np.array([d.width for d, _ in items]), metric="l1"))
    return out


def radius_stream(radius: float, w, k: int, seed: int) -> np.ndarray:
    """The radius rule's stream (every other rule is :func:`knn.stream.stream`): what each digit is read as."""
    from knn.engine import vote
    from knn.stream import own_distances

    rng = np.random.default_rng(seed)
    said = np.zeros(len(w.truth), np.int64)
    for writer in np.unique(w.writer):
        mine = np.flatnonzero(w.writer == writer)
        vectors, labels = [], []
        for i in mine[rng.permutation(len(mine))]:
            d = own_distances(np.array(vectors), w.vectors[i], w.metric) if vectors else np.zeros(0)
            if len(d) and d.min() <= radius * w.distances[i, 0]:
                said[i] = labels[int(np.argmin(d))]
            else:  # as merge: the writer's own digits and the shared ones by distance, one vote each
                order = np.lexsort((np.r_[np.zeros(w.distances.shape[1]), np.ones(len(d))], np.r_[w.distances[i], d]))
                said[i] = vote(np.r_[w.labels[i], labels].astype(np.int64)[order][None, :k],
                               np.r_[w.distances[i], d][order][None, :k])[0][0]
            if said[i] != w.truth[i]:
                vectors.append(w.vectors[i])
                labels.append(int(w.truth[i]))
    return said


def run(rule, w, k: int, seed: int):
    """(read right, taught) per digit under a rule."""
    from knn.stream import stream

    kind, value = rule
    if kind == "radius":
        said = radius_stream(value, w, k, seed)
        return said == w.truth, said != w.truth
    r = stream(w, k, None if kind == "none" else 1 if kind == "merge" else value, seed=seed)
    return r["said"] == w.truth, r["taught"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    from knn import spaces

    k = spaces.DEFAULT.default_k
    data = prepare(a.folds, a.seed)
    plain = [run(("none", 0), f, k, a.seed)[0] for f in data]
    n = sum(len(f.truth) for f in data)
    writers = sum(len(np.unique(f.writer)) for f in data)
    first_misses = sum(len({(w, t) for w, t, ok in zip(f.writer, f.truth, p) if not ok})
                       for f, p in zip(data, plain))
    print(json.dumps({"digits": n, "writers": writers, "k": k,
                      "ceiling_first_miss_per_writer_and_digit": round(1 - first_misses / n, 4)}))
    for rule in RULES:
        runs = [run(rule, f, k, a.seed) for f in data]
        right = np.concatenate([r for r, _ in runs])
        corrected = sum(int(c.sum()) for _, c in runs)
        before = np.concatenate(plain)
        widths = np.concatenate([f.width for f in data])
        print(json.dumps({
            "rule": f"{rule[0]} {rule[1]:g}" if rule[1] else rule[0],
            "stream": round(float(right.mean()), 4),
            "by_fold": [round(float(r.mean()), 4) for r, _ in runs],
            "corrections_per_writer": round(corrected / writers, 2),
            "corrections_per_50": round(50 * corrected / n, 2),
            "lowest_width": round(min(float(right[widths == w].mean()) for w in np.unique(widths)), 4),
            "fixed": int((right & ~before).sum()), "broke": int((~right & before).sum())}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
