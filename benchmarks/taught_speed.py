"""What a visitor's taught digits cost each drawing: the page's answer with 0, 10, 50 and 100 of them.

Answers the same N MNIST test digits, enlarged to the canvas's size, with
:func:`knn.answer.answer` over the shipped references, once per number of
taught digits (each run in turn, rounds interleaved, so a slow moment of
the machine falls on every peer alike). The taught digits are test digits
not among those answered, read as the page reads a drawing. Prints the p50
and p95 of the whole answer (read, features, search, vote, certainty) and
of the part after the read (``Answer.seconds``), and each p50's ratio to
the run with none taught.

    MNIST_DIR=../shared/data/mnist python benchmarks/taught_speed.py [--n 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES = (0, 10, 50, 100)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="test digits answered per run")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    from knn.answer import answer
    from knn.bench import machine
    from knn.conformal import calibrate
    from knn.data import load_mnist
    from knn.references import build, taught

    mnist = load_mnist()
    refs = build(mnist, pen="default")
    space, cal = refs.space, calibrate(refs)
    rows = np.random.default_rng(0).permutation(len(mnist.test_labels))
    asked, teach = rows[:a.n], rows[a.n:a.n + max(SIZES)]
    pictures = [np.kron(mnist.test_images[r], np.ones((10, 10), np.uint8)) for r in asked]
    images = space.pixels(np.stack([space.read(np.kron(mnist.test_images[r], np.ones((10, 10), np.uint8))).centred
                                    for r in teach]))
    vectors = space.encode(images)
    own = {m: taught(space.name, "l1", vectors[:m], mnist.test_labels[teach[:m]], images[:m]) if m else None
           for m in SIZES}
    for p in pictures[:20]:  # warm: compiled kernels, deskewed references
        for m in SIZES:
            answer(refs, p, taught=own[m], calibration=cal)
    whole = {m: [] for m in SIZES}
    after = {m: [] for m in SIZES}
    for _ in range(a.rounds):
        for m in SIZES:
            for p in pictures:
                start = time.perf_counter()
                ans = answer(refs, p, taught=own[m], calibration=cal)
                whole[m].append(time.perf_counter() - start)
                after[m].append(ans.seconds)
    base = np.median(whole[0])
    print(json.dumps({"machine": machine(), "answers_per_size": a.n * a.rounds, "references": len(refs)}))
    for m in SIZES:
        print(json.dumps({"taught": m, "p50_ms": round(1000 * float(np.median(whole[m])), 2),
                          "p95_ms": round(1000 * float(np.percentile(whole[m], 95)), 2),
                          "after_read_p50_ms": round(1000 * float(np.median(after[m])), 2),
                          "ratio_to_none": round(float(np.median(whole[m]) / base), 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
