"""Speed, memory and exactness of this engine next to its peers, measured in one run.

Peers, all exact L1 k-NN over the same (60,000, 784) training digits:

* NumPy brute force (int32 |a - b| summed per query): also the exact reference;
* scikit-learn ``NearestNeighbors(metric="manhattan", algorithm="brute", n_jobs=-1)``;
* faiss ``IndexFlat(784, METRIC_L1)`` on float32 (streams the whole index per query).

A peer whose package is not installed is skipped with a note. For each:
batch throughput (queries/s, all queries in one call, or in chunks until a
time budget is spent for slow peers), single-query latency (p50, p95: one
query per call, as the page calls it), the memory its index holds, and
whether its neighbours and distances equal NumPy's on the queries NumPy
answered. Ties are compared as sets of distances: peers may order equal
distances differently. Prints nothing itself; ``python -m knn bench`` does.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import numpy as np

from knn.data import Mnist
from knn.engine import Index


@dataclass
class Result:
    name: str
    batch_qps: Optional[float] = None  # queries per second, batched
    batch_queries: int = 0  # how many the batch figure is based on
    single_p50_ms: Optional[float] = None
    single_p95_ms: Optional[float] = None
    index_mb: Optional[float] = None
    exact: Optional[bool] = None  # same distances as the NumPy reference (and same neighbours up to ties)
    same_neighbours: Optional[bool] = None  # identical indices too, ties in index order
    note: str = ""


def machine() -> str:
    """One line naming the CPU and core count."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def numpy_search(x: np.ndarray, q: np.ndarray, k: int):
    """Exact L1 brute force, one query at a time: (distances, indices), ties by lower index."""
    xi = x.astype(np.int32)
    dist, idx = [], []
    for row in q.astype(np.int32):
        d = np.abs(xi - row).sum(1)
        part = np.argpartition(d, k)[:k + 1] if k < len(d) else np.arange(len(d))
        kth = np.sort(d[part])[min(k, len(d)) - 1]
        cand = np.nonzero(d <= kth)[0]  # every vector that can tie for the last place, in index order
        order = cand[np.lexsort((cand, d[cand]))][:k]
        dist.append(d[order])
        idx.append(order)
    return np.array(dist, np.float64), np.array(idx)


def _time_batch(search: Callable, q: np.ndarray, k: int, budget_s: float, chunk: int):
    """Run search over q in chunks until done or over budget; (queries/s, n done, (dist, idx))."""
    dists, idxs, done = [], [], 0
    start = time.perf_counter()
    while done < len(q):
        d, i = search(q[done:done + chunk], k)
        dists.append(np.asarray(d, np.float64))
        idxs.append(np.asarray(i))
        done += len(d)
        if time.perf_counter() - start > budget_s:
            break
    seconds = time.perf_counter() - start
    return done / seconds, done, (np.concatenate(dists), np.concatenate(idxs))


def _time_single(search: Callable, q: np.ndarray, k: int, budget_s: float):
    times = []
    search(q[:1], k)  # warm-up: compile, allocate
    start = time.perf_counter()
    for row in q:
        t = time.perf_counter()
        search(row[None], k)
        times.append(time.perf_counter() - t)
        if time.perf_counter() - start > budget_s:
            break
    ms = np.array(times) * 1000
    return float(np.median(ms)), float(np.percentile(ms, 95))


def _measure_index(name: str, index: Index, q: np.ndarray, n_single: int, k: int, budget_s: float, note: str):
    """Batch and single-query figures of one of this engine's indexes; (Result, its batch answers)."""
    index.search(q[:1], k)
    index.search(q[:256], k)  # warm-up: compile the single and batch tiers
    r = Result(name, index_mb=index.nbytes / 1e6, note=note)
    r.batch_qps, r.batch_queries, got = _time_batch(index.search, q, k, 10 * budget_s, len(q))
    r.single_p50_ms, r.single_p95_ms = _time_single(index.search, q[:n_single], k, budget_s)
    return r, got


def peers(x: np.ndarray) -> list:
    """(name, search(q, k) -> (dist, idx), index MB, note) for every installed peer."""
    out = []
    try:
        import faiss

        fi = faiss.IndexFlat(x.shape[1], faiss.METRIC_L1)
        fi.add(x.astype(np.float32))
        out.append(("faiss IndexFlat L1", lambda q, k: fi.search(q.astype(np.float32), k),
                    fi.ntotal * fi.d * 4 / 1e6, f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads"))
    except ImportError:
        out.append(("faiss IndexFlat L1", None, None, "skipped: faiss-cpu is not installed"))
    try:
        import sklearn
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(metric="manhattan", algorithm="brute", n_jobs=-1).fit(x)

        def sk_search(q, k):
            d, i = nn.kneighbors(q, k)
            return d, i

        out.append(("scikit-learn brute", sk_search, nn._fit_X.nbytes / 1e6, f"scikit-learn {sklearn.__version__}, n_jobs=-1"))
    except ImportError:
        out.append(("scikit-learn brute", None, None, "skipped: scikit-learn is not installed"))
    return out


def _compare(res: Result, got, ref, n: int) -> None:
    d, i = (np.asarray(a)[:n] for a in got)
    rd, ri = ref[0][:n], ref[1][:n]
    res.exact = bool(np.array_equal(np.rint(d), rd) and np.allclose(d, rd, rtol=0, atol=1e-3))
    res.same_neighbours = bool(np.array_equal(i, ri))


def run(mnist: Mnist, n_batch: int = 2000, n_single: int = 200, k: int = 10, budget_s: float = 20.0,
        extra: Optional[Callable[[], tuple]] = None, progress: Optional[Callable[[str], None]] = None) -> dict:
    """Measure ours and the peers on raw MNIST pixels; returns a dict for printing or JSON.

    ``extra`` may return (name, index, queries) for one more engine-only line
    (e.g. the default pipeline's larger index).
    """
    say = progress or (lambda s: None)
    x = mnist.train_images.reshape(-1, 784)
    q = mnist.test_images[:n_batch].reshape(-1, 784)
    results = []

    say("NumPy brute force (the reference)")
    r = Result("NumPy brute force", index_mb=x.nbytes / 1e6, exact=True, same_neighbours=True, note="int32, one query at a time")
    def brute(qq, kk):
        return numpy_search(x, qq, kk)

    r.batch_qps, r.batch_queries, ref = _time_batch(brute, q, k, budget_s, 25)
    r.single_p50_ms, r.single_p95_ms = _time_single(brute, q[:n_single], k, budget_s / 2)
    results.append(r)
    n_ref = r.batch_queries

    say("this engine (TensorFlow)")
    ours, got = _measure_index("this engine (TensorFlow)", Index(x, mnist.train_labels), q, n_single, k, budget_s,
                               "exact cascade, tf.function + XLA")
    _compare(ours, got, ref, n_ref)
    results.insert(0, ours)

    for name, search, mb, note in peers(x):
        if search is None:
            results.append(Result(name, note=note))
            continue
        say(name)
        p = Result(name, index_mb=mb, note=note)
        p.batch_qps, p.batch_queries, got = _time_batch(search, q, k, budget_s, 250)
        p.single_p50_ms, p.single_p95_ms = _time_single(search, q[:n_single], k, budget_s / 2)
        _compare(p, got, ref, min(n_ref, p.batch_queries))
        results.append(p)

    extra_result = None
    if extra is not None:
        name, idx2, q2 = extra()
        say(name)
        e, _ = _measure_index(name, idx2, q2, n_single, k, budget_s, f"{idx2.ntotal} vectors")
        extra_result = asdict(e)

    ratios = {}
    for p in results[1:]:
        if p.batch_qps:
            ratios[p.name] = {"batch": ours.batch_qps / p.batch_qps,
                              "single_p50": p.single_p50_ms / ours.single_p50_ms}
    return {"machine": machine(), "k": k, "n_train": len(x), "queries": len(q),
            "results": [asdict(r) for r in results], "ratios": ratios, "extra": extra_result}
