"""Exact k-nearest-neighbour search and voting in TensorFlow 2, L1 or L2.

The engine knows nothing about images or files: it gets (n, d) uint8
vectors (0-255) and labels, and answers like faiss and scikit-learn:

    index = Index(train_images, train_labels, metric="l1")
    distances, indices = index.search(queries, k)      # both (n_queries, k)
    labels, shares = index.classify(queries, k)        # (n,), (n, 10)

Exact, not approximate. A brute-force scan would compare every query with
every training vector (60,000 x 784 per query). Instead each query goes
through a bound-and-verify cascade that returns exactly the brute-force
answer:

1. A cheap lower bound of the distance to every training vector:
   - 4x4 block sums (49 numbers per image): by the triangle inequality the L1
     distance of two images is at least the L1 distance of their block sums,
     and the squared L2 distance at least 1/16 of their blocks' squared L2;
   - for batches (and single L2 queries), ``|a-b|^2 / 255`` under L1 (a pixel
     difference never exceeds 255) or ``|a-b|^2`` itself under L2: one matrix
     product, ``|a|^2 + |b|^2 - 2 a.b``.
2. Optionally, the ``shortlist`` vectors with the smallest bound get a tighter
   one from 2x2 block sums (196 numbers per image).
3. The ``candidates`` vectors with the smallest bound get their exact
   distance (integers: L1 is the sum of |a-b| over 784 pixels on the 0-255
   scale; L2 is the square root of the integer sum of squares).
4. Verification: if the k-th smallest exact distance is below the smallest
   bound of everything left out, nothing left out can enter the top k.
   Queries that fail the check try the next, wider pass (see ``tiers``);
   the last resort is the exact distance to every vector (rare).

That cascade is for 28x28 images (d = 784). Vectors of any other length
(e.g. 128 learned features) are short enough to scan exactly: the distance
to every vector in one compiled function (under L1 the differences stay
uint8 and are summed in int16 and int32); under L2, for d up to 129, by one
matrix product per batch of queries, whose float32 sums stay exact integers.

A tiny index (a visitor's few taught digits) runs the same kernels
eagerly, without compiling them. Ties in distance are ordered by lower
training index, so results are deterministic. The index holds the training vectors as uint8 (47 MB for
60,000) plus their 4x4 and 2x2 block sums as uint16 (6 and 24 MB).
"""

from __future__ import annotations

import numpy as np
from knn.tf import tf

METRICS = ("l1", "l2")
VOTING = ("uniform", "distance")  # one vote per neighbour, or 1 / (distance + 1)
IMAGE_DIM = 784  # 28x28 images: the length the bound-and-verify cascade is for
N_CLASSES = 10
EAGER_MAX = 256  # indexes this small run their kernels eagerly: no XLA compile per index
CHUNK = 64  # numbers an L1 scan takes in one piece (docs/speed.md)


def _blocks(x: np.ndarray, side: int = 4) -> np.ndarray:
    """(n, 784) uint8 -> (n, (28/side)^2) uint16 sums over side x side pixel blocks."""
    m = 28 // side
    return x.reshape(-1, m, side, m, side).sum((2, 4), dtype=np.uint16).reshape(-1, m * m)


def as_vectors(queries, name: str = "queries", dim: int = IMAGE_DIM) -> np.ndarray:
    """Validate queries and return them as (n, dim) uint8 on the 0-255 scale.

    Accepts uint8 0-255 or float 0-1, shaped (dim,) or (n, dim), and for
    images (dim 784) also (28, 28) or (n, 28, 28). Floats are rounded to the
    nearest of the 256 levels.
    """
    a = np.asarray(queries)
    image = dim == IMAGE_DIM
    if a.shape == (dim,) or (image and a.shape == (28, 28)):
        a = a.reshape(1, dim)
    elif image and a.ndim == 3 and a.shape[1:] == (28, 28):
        a = a.reshape(len(a), IMAGE_DIM)
    elif not (a.ndim == 2 and a.shape[1] == dim):
        shapes = "(28, 28), (784,), (n, 28, 28) or (n, 784)" if image else f"({dim},) or (n, {dim})"
        raise ValueError(f"{name} must have shape {shapes}; got {a.shape}")
    if len(a) == 0:
        raise ValueError(f"{name} must hold at least one image; got shape {a.shape}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite; got NaN or infinity")
        if a.min() < 0 or a.max() > 1:
            raise ValueError(f"float {name} must lie in [0, 1]; got values from {a.min():g} to {a.max():g}")
        return np.rint(a * 255).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        if a.size and (a.min() < 0 or a.max() > 255):
            raise ValueError(f"integer {name} must lie in 0-255; got values from {a.min()} to {a.max()}")
        return a.astype(np.uint8)
    raise ValueError(f"{name} must be uint8 0-255 or float 0-1; got dtype {a.dtype}")


def _dim_of(vectors) -> int:
    """The vector length of an index's data: (n, 28, 28) images are 784."""
    a = np.asarray(vectors)
    if a.ndim == 3 and a.shape[1:] == (28, 28):
        return IMAGE_DIM
    if a.ndim == 2 and a.shape[1] >= 1:
        return int(a.shape[1])
    raise ValueError(f"vectors must have shape (n, d) or (n, 28, 28); got {a.shape}")


class Index:
    """An exact k-NN index over (n, d) uint8 vectors with labels 0-9 (d = 784: 28x28 images).

    ``metric`` is "l1" (sum of absolute pixel differences on the 0-255 scale,
    the default) or "l2" (Euclidean distance on the same scale). ``ids``
    (optional, (n,) integers, ascending) are returned by ``search`` in place
    of positions, like faiss's IndexIDMap: e.g. MNIST training indices when
    the index holds a subset. The index is read-only once built and safe to
    share between threads.

    ``jit``: run the kernels as XLA-compiled functions (the default for more
    than EAGER_MAX vectors) or eagerly, the same operations without a compile
    (the default for a handful of vectors, such as one visitor's taught
    digits, where compiling would cost more than every search).
    """

    def __init__(self, vectors, labels, metric: str = "l1", ids=None, jit=None):
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}; got {metric!r}")
        self.dim = _dim_of(vectors)
        x = as_vectors(vectors, "vectors", self.dim)
        y = np.asarray(labels)
        if y.shape != (len(x),):
            raise ValueError(f"labels must have shape ({len(x)},), one per vector; got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= N_CLASSES):
            raise ValueError(f"labels must lie in 0-9; got values from {y.min()} to {y.max()}")
        self.metric = metric
        self.labels = y.astype(np.int64)
        self.ntotal = len(x)
        self.ids = np.arange(self.ntotal) if ids is None else np.asarray(ids, np.int64)
        if self.ids.shape != (self.ntotal,) or np.any(np.diff(self.ids) <= 0):
            raise ValueError(f"ids must be {self.ntotal} ascending integers, one per vector; got shape {self.ids.shape}")
        self._x = tf.constant(x)  # (n, d) uint8
        self._image = self.dim == IMAGE_DIM  # the bound-and-verify cascade is for 28x28 images
        self._b = tf.constant(_blocks(x) if self._image else np.zeros((0, 0), np.uint16))  # (n, 49) uint16
        self._b2 = tf.constant(_blocks(x, 2) if self._image else np.zeros((0, 0), np.uint16))  # (n, 196) uint16
        # Short vectors under L2: |a-b|^2 = |a|^2 + |b|^2 - 2 a.b by one matrix product, exact in float32
        # while every term stays an integer below 2^24 (d * 255^2 * 2 < 2^24: d up to 129).
        self._gram = not self._image and metric == "l2" and self.dim * 255 ** 2 * 2 < 2 ** 24
        sq = (x.astype(np.float32) ** 2).sum(1) if self._image or self._gram else np.zeros(0, np.float32)
        self._sq = tf.constant(sq)  # (n,) squared norms, exact in float32
        self.jit = self.ntotal > EAGER_MAX if jit is None else bool(jit)
        kernel = (lambda f, **kw: tf.function(f, jit_compile=True, **kw)) if self.jit else (lambda f, **kw: f)
        self._exact_kernel = kernel(self._exact, reduce_retracing=True)
        self._scan_kernel = kernel(self._scan)
        self._per_label_kernel = kernel(self._per_label)
        self._y = tf.constant(self.labels.astype(np.int32))
        self._bound_kernel = kernel(lambda q: self._bound(q, False))
        self._tight_kernel = kernel(self._tight, reduce_retracing=True)
        self._members = [np.nonzero(self.labels == c)[0] for c in range(N_CLASSES)]  # positions by label
        self._candidates_kernel = kernel(self._candidates)
        self._rerank_kernel = kernel(self._rerank)
        self._select_kernel = kernel(self._select)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays."""
        return sum(int(t.shape.num_elements()) * t.dtype.size for t in (self._x, self._b, self._b2, self._sq)) + self.labels.nbytes

    def __len__(self) -> int:
        return self.ntotal

    def reconstruct(self, ids) -> np.ndarray:
        """The stored vectors (m, d) uint8 for ids as returned by ``search`` (like faiss's reconstruct)."""
        ids = np.atleast_1d(np.asarray(ids, np.int64))
        pos = np.searchsorted(self.ids, ids)
        if np.any(pos >= self.ntotal) or np.any(self.ids[np.minimum(pos, self.ntotal - 1)] != ids):
            raise ValueError(f"ids must be ids held by the index; got {ids[:5].tolist()}")
        return tf.gather(self._x, pos).numpy()

    # ---- kernels (TensorFlow inside, NumPy outside) ----

    def _exact(self, q, idx):
        """Exact distances of queries q (B, 784) uint8 to the vectors idx (B, C)."""
        cand = tf.cast(tf.gather(self._x, idx), tf.int32)  # (B, C, 784)
        diff = cand - tf.cast(q, tf.int32)[:, None, :]
        if self.metric == "l1":
            return tf.reduce_sum(tf.abs(diff), -1)  # (B, C) exact integer L1
        return tf.reduce_sum(diff * diff, -1)  # (B, C) exact squared L2

    def _distances(self, q):
        """Exact distances (B, n) of queries q (B, d) to every vector: L1, or squared L2."""
        if self._gram:
            qf = tf.cast(q, tf.float32)
            dot = tf.matmul(qf, tf.cast(self._x, tf.float32), transpose_b=True)  # (B, n) exact integers
            return self._sq[None] + tf.reduce_sum(qf * qf, 1, keepdims=True) - 2 * dot
        if self.metric == "l1":
            # |a-b| in uint8 (max - min never wraps), two halves added in int16, then the sum in int32:
            # measured 3-4x faster than widening every difference to int32 first (XLA vectorises the narrow ops).
            # Taken CHUNK numbers at a time and the chunks' sums added: 128 numbers in one piece ran 5x slower.
            dist = None
            for c in range(0, self.dim, CHUNK):
                a, b = self._x[None, :, c:c + CHUNK], q[:, None, c:c + CHUNK]
                d8 = tf.cast(tf.maximum(a, b) - tf.minimum(a, b), tf.int16)  # (B, n, <= CHUNK)
                m = d8.shape[-1] // 2
                part = tf.reduce_sum(tf.cast(d8[..., :m] + d8[..., m:2 * m], tf.int32), -1)
                if d8.shape[-1] % 2:
                    part += tf.cast(d8[..., -1], tf.int32)
                dist = part if dist is None else dist + part
            return dist
        diff = tf.cast(self._x, tf.int32)[None] - tf.cast(q, tf.int32)[:, None, :]  # fused by XLA
        return tf.reduce_sum(diff * diff, -1)  # (B, n)

    def _scan(self, q, k):
        """Exact distances of queries q (B, d) to every vector; the k nearest, ties to the lower index."""
        dist = self._distances(q)
        if self._gram:
            neg, idx = tf.math.top_k(-dist, k)
            return tf.cast(-neg, tf.int32), idx
        neg, idx = tf.math.top_k(-tf.cast(dist, tf.float32), k)  # exact below 2**24; keeps lower index first
        return tf.cast(-neg, tf.int32), idx

    def _bound(self, q, matmul: bool):
        """A lower bound (B, n) float32 of the distance (squared for l2) to every vector.

        ``matmul=False``: from 4x4 block sums, cheap for one query.
        ``matmul=True``: from |a-b|^2 = |a|^2 + |b|^2 - 2 a.b, one matrix
        product, cheap per query for a batch. The float32 product is inexact;
        its rounding error is below 1e-4 (|a|^2 + |b|^2) (784 terms, each
        rounding by 6e-8), which is subtracted to keep the bound rigorous.
        """
        if matmul:
            qf = tf.cast(q, tf.float32)
            dots = tf.matmul(qf, tf.cast(self._x, tf.float32), transpose_b=True)  # (B, n)
            norms = tf.reduce_sum(qf * qf, 1, keepdims=True) + self._sq[None]  # (B, n)
            sq = norms - 2.0 * dots - 1e-4 * norms - 1.0  # <= exact |a-b|^2
            return sq / 255.0 if self.metric == "l1" else sq  # |d| >= d^2/255 for |d| <= 255
        qb = tf.reduce_sum(tf.reshape(tf.cast(q, tf.int32), (-1, 7, 4, 7, 4)), (2, 4))
        d = tf.cast(self._b, tf.float32)[None] - tf.cast(tf.reshape(qb, (-1, 1, 49)), tf.float32)  # (B, n, 49)
        if self.metric == "l1":
            return tf.reduce_sum(tf.abs(d), -1)  # block sums differ by at most the L1 distance
        return tf.reduce_sum(d * d, -1) / 16.0  # (sum of 16 d)^2 <= 16 sum of d^2

    def _per_label(self, q):
        """(B, 10) int64: per label, distance * n + position of its nearest vector (ties: lower position)."""
        key = tf.cast(self._distances(q), tf.int64) * self.ntotal + tf.range(self.ntotal, dtype=tf.int64)[None]
        return tf.transpose(tf.math.unsorted_segment_min(tf.transpose(key), self._y, N_CLASSES))

    def _candidates(self, q, matmul, c):
        """Bound every vector; return the c+1 smallest bounds (negated) and their indices."""
        return tf.math.top_k(-self._bound(q, matmul), c + 1)  # float32 top_k: fast under XLA

    def _rerank(self, q, neg, idx, c1, c2):
        """Tighten the bound of the c1 best candidates with 2x2 block sums; keep the c2+1 best.

        Returns (rest, negated bounds, candidates): ``rest`` (B,) is the
        smallest bound among the vectors ``_candidates`` left out; the other
        two are top_k's output over the c1 candidates, as ``_candidates`` gives.
        """
        rest = -neg[:, c1]  # (B,)
        idx = idx[:, :c1]
        qb = tf.reduce_sum(tf.reshape(tf.cast(q, tf.float32), (-1, 14, 2, 14, 2)), (2, 4))  # (B, 14, 14)
        d = tf.cast(tf.gather(self._b2, idx), tf.float32) - tf.reshape(qb, (-1, 1, 196))  # (B, c1, 196)
        if self.metric == "l1":
            tight = tf.reduce_sum(tf.abs(d), -1)  # exact integers in float32; <= L1
        else:
            tight = tf.reduce_sum(d * d, -1) / 4.0  # (sum of 4 d)^2 <= 4 sum of d^2
        neg2, pos = tf.math.top_k(-tf.maximum(-neg[:, :c1], tight), c2 + 1)
        return rest, neg2, tf.gather(idx, pos, batch_dims=1)

    def _select(self, q, neg, idx, k, c, rest=None):
        """Exact distances of the c best candidates; the k nearest, and the check.

        A separate compiled function from ``_candidates``: slicing top_k's
        output in the same XLA cluster makes XLA fall back to a full sort (10x slower).
        """
        rest = -neg[:, c] if rest is None else tf.minimum(rest, -neg[:, c])  # (B,) smallest bound left out
        # Candidates in training order: top_k keeps the lower position first
        # among equal values, so ties in distance go to the lower index.
        # (An int64 (distance, index) key would do the same, 6x slower under XLA.)
        idx = tf.sort(idx[:, :c], axis=1)
        dist = self._exact(q, idx)  # (B, C) int32, exact
        neg_d, order = tf.math.top_k(-tf.cast(dist, tf.float32), k)  # exact: distances < 2**24
        best = tf.cast(-neg_d, tf.int32)  # (B, k)
        ok = tf.cast(best[:, -1], tf.float32) < rest  # nothing left out can compete
        return best, tf.gather(idx, order, batch_dims=1), ok

    # ---- public API ----

    def _check_k(self, k) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ValueError(f"k must be an integer between 1 and {self.ntotal}; got {k!r}")
        if not 1 <= k <= self.ntotal:
            raise ValueError(f"k must be between 1 and {self.ntotal}; got {k}")
        return int(k)

    def search(self, queries, k: int = 1):
        """Return (distances, indices) of the k nearest vectors, both (n_queries, k).

        Nearest first; equal distances ordered by lower index. Indices are
        positions in the index, or ``ids[position]`` when ids were given. Distances are
        float64: for "l1" the exact integer sum of |a - b| on the 0-255 scale,
        for "l2" the square root of the exact integer sum of squares.
        A single query (28, 28) or (784,) still returns (1, k) arrays.
        """
        q = as_vectors(queries, dim=self.dim)
        k = self._check_k(k)
        dist = np.zeros((len(q), k), np.int64)
        idx = np.zeros((len(q), k), np.int64)
        if not self._image:
            self._scan_all(q, k, dist, idx)
            return self._finish(dist), self.ids[idx]
        todo = np.arange(len(q))
        for batch, matmul, c, short in self.tiers(len(q)):
            if k >= c or self.ntotal <= max(c, short) or not len(todo):
                break
            todo = self._cascade(q, todo, k, batch, matmul, c, short, dist, idx)
        for j in todo:  # verification failed, small index or large k: exact against all
            d, i = self._brute(q[j])
            dist[j], idx[j] = d[:k], i[:k]
        return self._finish(dist), self.ids[idx]

    def tiers(self, n_queries: int) -> list:
        """The cascade's passes, tried in turn by the queries that fail the check.

        Each is (queries per call, first bound by matrix product?, exact
        candidates per query, shortlist re-ranked by 2x2 block sums or 0).
        """
        if n_queries == 1:
            l2 = self.metric == "l2"  # 4x4 block sums bound L2 too loosely: a matrix-vector product instead
            return [(1, l2, 2048, 0), (1, l2, 1024, 16384)]
        return [(128, True, 256, 2048), (32, True, 1024, 8192), (8, True, 8192, 32768)]

    def _cascade(self, q, rows, k, batch, matmul, c, short, dist, idx):
        """Answer queries q[rows] in padded batches; return the rows that failed the check."""
        failed = []
        for start in range(0, len(rows), batch):
            r = rows[start:start + batch]
            qb = np.zeros((batch, IMAGE_DIM), np.uint8)  # fixed shape: one compiled function per tier
            qb[:len(r)] = q[r]
            qt = tf.constant(qb)
            if short:
                neg, cand = self._candidates_kernel(qt, matmul, short)
                rest, neg, cand = self._rerank_kernel(qt, neg, cand, short, c)
            else:
                neg, cand = self._candidates_kernel(qt, matmul, c)
                rest = None
            d, i, ok = (t.numpy()[:len(r)] for t in self._select_kernel(qt, neg, cand, k, c, rest))
            dist[r], idx[r] = d, i
            failed.extend(r[~ok])
        return np.array(failed, dtype=np.int64)

    def _scan_all(self, q, k, dist, idx):
        """Exact search of every query by scanning all vectors.

        A single query goes alone; more go in fixed batches (one compiled
        shape): 16 queries per call under L1 (measured about 2x faster per
        query than one at a time), 256 under L2 by matrix product.
        """
        batch = 256 if self._gram else 16
        if len(q) > 1:
            for s in range(0, len(q), batch):
                part = q[s:s + batch]
                qb = np.zeros((batch, self.dim), np.uint8)  # fixed shape: one compiled function
                qb[:len(part)] = part
                d, i = (t.numpy()[:len(part)] for t in self._scan_kernel(tf.constant(qb), k))
                dist[s:s + len(d)], idx[s:s + len(d)] = d, i
            return
        for j in range(len(q)):
            d, i = self._scan_kernel(tf.constant(q[j:j + 1]), k)
            dist[j], idx[j] = d.numpy()[0], i.numpy()[0]

    def _brute(self, q):
        """Exact distances of one query to every vector, sorted (distance, index)."""
        d = np.concatenate([
            self._exact_kernel(tf.constant(q[None]), tf.range(s, min(s + 8192, self.ntotal))[None]).numpy()[0]
            for s in range(0, self.ntotal, 8192)
        ]).astype(np.int64)
        order = np.lexsort((np.arange(self.ntotal), d))
        return d[order], order

    def _finish(self, dist: np.ndarray) -> np.ndarray:
        return dist.astype(np.float64) if self.metric == "l1" else np.sqrt(dist.astype(np.float64))

    def _tight(self, q, idx):
        """The 2x2 block-sum lower bound (B, C) of queries q (B, 784) to the vectors idx (B, C)."""
        qb = tf.reduce_sum(tf.reshape(tf.cast(q, tf.float32), (-1, 14, 2, 14, 2)), (2, 4))
        d = tf.cast(tf.gather(self._b2, idx), tf.float32) - tf.reshape(qb, (-1, 1, 196))
        return tf.reduce_sum(tf.abs(d), -1) if self.metric == "l1" else tf.reduce_sum(d * d, -1) / 4.0

    def _per_label_bounded(self, q, wanted, first: int = 1024, exact_first: int = 64):
        """One image query (784,): per label, the exact nearest by bound and verify, ties to the lower position.

        Of each label, the ``first`` vectors with the smallest 4x4 bound get
        the tighter 2x2 bound, and the ``exact_first`` smallest of those their
        exact distance, all labels in one call each. A label whose nearest
        could still be among the rest is searched again with eight times as
        many at each stage.
        """
        bound = self._bound_kernel(tf.constant(q[None])).numpy()[0]
        dist = np.full(N_CLASSES, np.inf)
        idx = np.full(N_CLASSES, -1, np.int64)
        todo = [c for c in wanted if len(self._members[c])]
        m, e = first, exact_first
        qt = tf.constant(q[None])
        while todo:
            cands, rests = [], []
            for c in todo:
                members = self._members[c]
                if m >= len(members):
                    cands.append(members), rests.append(np.inf)
                else:
                    part = np.argpartition(bound[members], m)
                    cands.append(members[part[:m]]), rests.append(bound[members[part[m]]])
            tight = np.maximum(self._tight_kernel(qt, tf.constant(np.concatenate(cands)[None])).numpy()[0],
                               bound[np.concatenate(cands)])
            shorts, start = [], 0
            for j, cand in enumerate(cands):
                t = tight[start:start + len(cand)]
                start += len(cand)
                if e < len(cand):
                    part = np.argpartition(t, e)
                    shorts.append(cand[part[:e]])
                    rests[j] = min(rests[j], t[part[e]])
                else:
                    shorts.append(cand)
            flat = np.concatenate(shorts)
            exact = self._exact_kernel(qt, tf.constant(flat[None])).numpy()[0].astype(np.int64)
            left, start = [], 0
            for c, cand, rest in zip(todo, shorts, rests):
                d = exact[start:start + len(cand)]
                start += len(cand)
                best = np.lexsort((cand, d))[0]
                if d[best] < rest:  # nothing left out can be as near
                    dist[c], idx[c] = self._finish(d[best:best + 1])[0], self.ids[cand[best]]
                else:
                    left.append(c)
            todo, m, e = left, m * 8, e * 8
        return dist, idx

    def classify(self, queries, k: int = 1, voting: str = "uniform"):
        """Vote among the k nearest: return (labels (n,), vote_shares (n, 10)).

        ``voting="uniform"`` gives each neighbour one vote; ``"distance"``
        gives 1 / (distance + 1). Shares sum to 1. The class with the largest
        share wins; a tie between classes goes to the class of the nearest
        neighbour among the tied classes.
        """
        check_voting(voting)
        dist, _, labels = self.neighbours(queries, k)
        return vote(labels, dist, voting)

    def neighbours(self, queries, k: int = 1):
        """Like :meth:`search`, plus the neighbours' labels: (distances, indices, labels)."""
        dist, ids = self.search(queries, k)
        return dist, ids, self.labels[np.searchsorted(self.ids, ids)]

    def nearest_per_label(self, queries, labels=None):
        """The nearest vector of every label 0-9: (distances (n, 10), indices (n, 10)).

        ``labels``: only these (others get inf and -1), which saves 28x28
        images work.

        Exact, ties to the lower index; a label the index does not hold gets
        distance inf and index -1. Short vectors take one scan for all ten
        labels; 28x28 images bound the distance to every vector (4x4 block
        sums), then per label verify the few with the smallest bound, as the
        search does.
        """
        q = as_vectors(queries, dim=self.dim)
        dist = np.full((len(q), N_CLASSES), np.inf)
        idx = np.full((len(q), N_CLASSES), -1, np.int64)
        wanted = range(N_CLASSES) if labels is None else sorted({int(c) for c in labels})
        if self._image:
            for j in range(len(q)):
                dist[j], idx[j] = self._per_label_bounded(q[j], wanted)
            return dist, idx
        for j in range(len(q)):
            best = self._per_label_kernel(tf.constant(q[j:j + 1])).numpy()[0]
            held = best < np.iinfo(np.int64).max
            held[[c for c in range(N_CLASSES) if c not in wanted]] = False
            d = best[held] // self.ntotal
            dist[j, held] = self._finish(d)
            idx[j, held] = self.ids[best[held] % self.ntotal]
        return dist, idx


def check_voting(voting: str) -> None:
    if voting not in VOTING:
        raise ValueError(f"voting must be one of {VOTING}; got {voting!r}")


def _winners(votes: np.ndarray, neighbour_labels: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """(n, 10) votes, (n, k) labels nearest first and (n, k) which of them voted -> (n,) winners:
    the most votes; a tie goes to the class of the nearest voting neighbour among the tied classes."""
    rows = np.arange(len(votes))[:, None]
    tied = np.isclose(votes, votes.max(1, keepdims=True), rtol=1e-12, atol=0)  # classes sharing the top vote
    first = np.argmax(tied[rows, neighbour_labels] & counted, axis=1)
    return neighbour_labels[rows[:, 0], first]


def _weights(distances: np.ndarray, voting: str) -> np.ndarray:
    check_voting(voting)
    return np.ones(distances.shape) if voting == "uniform" else 1.0 / (distances + 1.0)


def vote(neighbour_labels: np.ndarray, distances: np.ndarray, voting: str = "uniform"):
    """Votes of sorted neighbours (n, k) -> (labels (n,), shares (n, 10)).

    See :meth:`Index.classify` for the rule and its tie-break.
    """
    n, k = neighbour_labels.shape
    w = _weights(distances, voting)
    votes = np.zeros((n, N_CLASSES))
    np.add.at(votes, (np.arange(n)[:, None], neighbour_labels), w)
    labels = _winners(votes, neighbour_labels, np.ones((n, k), bool))
    return labels, votes / votes.sum(1, keepdims=True)


def vote_by_k(neighbour_labels: np.ndarray, distances: np.ndarray, voting: str = "uniform") -> np.ndarray:
    """One query's sorted neighbours (m,) -> (m,) the winner of :func:`vote` with k = 1, 2, ..., m."""
    labels = np.asarray(neighbour_labels, np.int64).reshape(-1)
    m = len(labels)
    cast = np.zeros((m, N_CLASSES))
    cast[np.arange(m), labels] = _weights(np.asarray(distances, np.float64).reshape(-1), voting)
    counted = np.tri(m, dtype=bool)  # row k - 1: the first k neighbours vote
    return _winners(np.cumsum(cast, 0), np.repeat(labels[None], m, 0), counted)
