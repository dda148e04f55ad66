"""Replicas started together on one machine: N processes build the shipped references at once on one empty cache.

Each process does what a fresh replica's first visit starts (``ui.resources.build_references`` of the
shipped setting: MNIST, the pen drawings, their learned features, the calibration), with ``$KNN_CACHE``
one empty folder they share, as replicas on one machine do. The cache (``knn.cache``) computes each
file once: a process that needs a file another is computing waits for it and then reads it. For scale,
the same build by one process alone on its own empty folder is timed in the same run. Prints seconds
and the ratio of the slowest of the N to the one alone:

    MNIST_DIR=../shared/data/mnist python benchmarks/replicas_start.py [--replicas 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ("import time; t = time.perf_counter(); from ui import resources; "
         "resources.build_references(*resources.DEFAULT); print(time.perf_counter() - t)")


def build_at_once(n: int) -> list:
    """Seconds each of ``n`` processes took to build the shipped references, started together on one
    empty cache folder."""
    cache = tempfile.mkdtemp(prefix="replicas-start-")
    try:
        env = dict(os.environ, KNN_CACHE=cache, PYTHONPATH=str(ROOT))
        jobs = [subprocess.Popen([sys.executable, "-c", BUILD], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(n)]
        outs = [job.communicate() for job in jobs]
        for job, (_, err) in zip(jobs, outs):
            if job.returncode != 0:
                raise SystemExit(f"a build failed:\n{err[-2000:]}")
        return [float(out.strip().splitlines()[-1]) for out, _ in outs]
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=2, help="processes started together (default 2)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    a = ap.parse_args(argv)
    if a.replicas < 1:
        ap.error(f"--replicas must be at least 1; got {a.replicas}")
    t = time.perf_counter()
    (alone,) = build_at_once(1)
    together = build_at_once(a.replicas)
    out = {"replicas": a.replicas, "alone_s": round(alone, 1), "together_s": [round(s, 1) for s in together],
           "slowest_over_alone": round(max(together) / alone, 2), "cores": os.cpu_count(),
           "wall_s": round(time.perf_counter() - t, 1)}
    if a.json:
        print(json.dumps(out))
        return
    print(f"one process alone: {alone:.1f} s to build the shipped references on an empty cache")
    print(f"{a.replicas} started together on one empty cache: " + ", ".join(f"{s:.1f}" for s in together)
          + f" s (the slowest / alone: {out['slowest_over_alone']:.2f}; {out['cores']} cores)")


if __name__ == "__main__":
    main()
