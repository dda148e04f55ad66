"""Strangers correcting the reader as they go: how far a writer's own digits carry, on writer-disjoint folds.

Each fold's writers are held out: the index holds MNIST and the other
folds' pen digits (as ``evaluate --set pen --folds 3`` builds it), read by
networks that never saw the fold's writers. Every held-out writer then
draws all their digits in a seeded random order (each drawn once, pen
widths round robin, as :func:`knn.pen.pen_drawings` draws them); a digit
read wrong is corrected at once with its true label, and the writer's own
digits are searched beside the shared index from then on
(:func:`knn.stream.stream`, the page's rule: the nearest own digit decides
within R times the distance of the k-th nearest shared reference). A
*rule* says which digits become the writer's own:

* ``none``: never taught (the reader as it is);
* ``corrected R``: only the corrected digits;
* ``every R``: every digit, corrected or kept as read (the page keeps a
  drawing cleared without a correction).

For each rule: the stream's accuracy (every digit counted as first read),
corrections per writer and per 50 digits, the lowest per-width accuracy,
and how many digits it reads right that ``none`` reads wrong, and the
reverse. Also the ceiling that corrections alone cannot pass: every
writer's first miss of each digit counted, every later one of that digit
read right.

The rules are compared here on the reported folds themselves, so these are
an exploration, not a chosen setting's result: the radius the page ships is
chosen on nested folds (``python -m knn evaluate --set pen --folds 3 --stream``).

    python benchmarks/taught_stream.py [--folds 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RULES = [("none", 0)] + [("corrected", r) for r in (1.0, 1.5, 2.0, 3.0)] + \
        [("every", r) for r in (1.0, 1.25, 1.5, 2.0, 3.0)]


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


def run(rule, w, k: int, seed: int):
    """(read right, corrected) per digit under a rule."""
    from knn.stream import stream

    kind, radius = rule
    r = stream(w, k, None if kind == "none" else radius, seed=seed, keep=kind == "every")
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
            "rule": f"{rule[0]} {rule[1]:g}" if rule[0] != "none" else rule[0],
            "stream": round(float(right.mean()), 4),
            "by_fold": [round(float(r.mean()), 4) for r, _ in runs],
            "corrections_per_writer": round(corrected / writers, 2),
            "corrections_per_50": round(50 * corrected / n, 2),
            "lowest_width": round(min(float(right[widths == w].mean()) for w in np.unique(widths)), 4),
            "fixed": int((right & ~before).sum()), "broke": int((~right & before).sum())}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
