"""The engine against a NumPy brute-force reference: same neighbours, same distances."""

import numpy as np
import pytest

from knn.engine import EAGER_MAX, METRICS, VOTING, Index, as_vectors, vote, vote_by_k

unit = pytest.mark.unit


def reference(x, q, k, metric="l1"):
    """NumPy brute force: (distances, indices), ties by lower index.

    Differences of 0-255 values fit int16 (squares int32), summed in int64: the same exact integers as
    widening everything to int64, with a quarter (L1) or half (L2) of the memory traffic: measured 4x and 3x
    faster on 40,000 digits.
    """
    x = x.astype(np.int16 if metric == "l1" else np.int32)
    diffs = (x - row for row in q.reshape(-1, 784).astype(x.dtype))  # one query at a time: bounded memory
    d = np.stack([np.abs(df).sum(-1, dtype=np.int64) if metric == "l1" else (df ** 2).sum(-1, dtype=np.int64)
                  for df in diffs])
    order = np.stack([np.lexsort((np.arange(len(x)), row))[:k] for row in d])
    dist = np.take_along_axis(d, order, 1).astype(np.float64)
    return (dist if metric == "l1" else np.sqrt(dist)), order


def assert_same(index, x, q, k, metric, ref=None):
    """The index's k nearest of q are the brute-force ones: ``reference(x, q, k, metric)``, or ``ref`` if given."""
    d, i = index.search(q, k)
    rd, ri = reference(x, q, k, metric) if ref is None else ref
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_array_equal(d, rd)


@unit
@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("k", [1, 5, 60])
def test_small_index_with_ties_and_duplicates(rng, metric, k):
    x = rng.integers(0, 4, (300, 784)).astype(np.uint8) * 85  # few levels: many equal distances
    x[100:110] = x[5]  # duplicates of one vector
    q = np.concatenate([x[[5, 7, 200]], rng.integers(0, 256, (20, 784)).astype(np.uint8)])
    index = Index(x, rng.integers(0, 10, 300), metric)
    assert_same(index, x, q, k, metric)
    d, i = index.search(x[5], 12)
    assert list(i[0, :11]) == [5] + list(range(100, 110))  # exact duplicates, in index order
    assert d[0, 0] == 0


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_cascade_on_real_queries(mnist, metric):
    """Large index (the cascade path), single and batched queries, real digits."""
    x = mnist.train_images[:20000].reshape(-1, 784)
    q = mnist.test_images[:150].reshape(-1, 784)
    index = Index(x, mnist.train_labels[:20000], metric)
    assert_same(index, x, q, 10, metric)
    assert_same(index, x, q[:1], 3, metric)
    assert_same(index, x, q[3], 1, metric)


@pytest.fixture(scope="module")
def smooth(mnist):
    """Deskewed digits (grey levels): 40,000 training and 96 test digits, made once for both metrics."""
    from knn.preprocess import deskew

    return deskew(mnist.train_images[:40000]).reshape(-1, 784), deskew(mnist.test_images[:96]).reshape(-1, 784)


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_every_tier_on_smooth_images(mnist, smooth, metric, monkeypatch):
    """Deskewed digits (grey levels, loose |d|^2/255 bound) fail the first pass and go down every tier."""
    x, q = smooth
    index = Index(x, mnist.train_labels[:40000], metric)
    passes = []
    cascade = index._cascade

    def spy(q_, rows, *a):
        failed = cascade(q_, rows, *a)
        passes.append((len(rows), len(failed)))
        return failed

    monkeypatch.setattr(index, "_cascade", spy)
    rd, ri = reference(x, q, 10, metric)  # one order of all 40,000 (ties by lower index): its first k are the top k
    assert_same(index, x, q, 10, metric, (rd, ri))
    if metric == "l1":  # for L2 the matrix product is (nearly) the distance itself: no failures
        assert len(passes) >= 2 and passes[0][1] > 0  # the re-ranked tiers did real work
    passes.clear()
    assert_same(index, x, q[:12], 1, metric, (rd[:12, :1], ri[:12, :1]))  # single queries: each on its own path
    for j in range(12):
        assert_same(index, x, q[j], 3, metric, (rd[j:j + 1, :3], ri[j:j + 1, :3]))


def test_cascade_with_crafted_ties(mnist):
    x = mnist.train_images[:5000].reshape(-1, 784).copy()
    x[4000:4020] = x[17]  # twenty copies of one digit, far apart in the index
    x[[1000, 3000]] = x[18]
    q = np.stack([x[17], x[18], mnist.test_images[0].reshape(784)])
    index = Index(x, mnist.train_labels[:5000])
    assert_same(index, x, q, 25, "l1")
    assert_same(index, x, q[0], 21, "l1")


def test_full_index_matches_reference(mnist, full_index):
    x = mnist.train_images.reshape(-1, 784)
    q = mnist.test_images[::97].reshape(-1, 784)  # 104 queries spread over the test set
    assert_same(full_index, x, q, 10, "l1")


def test_k_larger_than_candidates(mnist):
    x = mnist.train_images[:4000].reshape(-1, 784)
    index = Index(x, mnist.train_labels[:4000])
    assert_same(index, x, mnist.test_images[:2].reshape(-1, 784), 3000, "l1")


@unit
def test_ids_replace_positions(rng):
    x = rng.integers(0, 256, (50, 784)).astype(np.uint8)
    ids = np.arange(50) * 3 + 7
    index = Index(x, np.arange(50) % 10, ids=ids)
    d, i = index.search(x[4], 1)
    assert i[0, 0] == 19 and d[0, 0] == 0
    _, _, labels = index.neighbours(x[4], 2)
    assert labels[0, 0] == 4


def test_query_forms_agree(mnist):
    x = mnist.train_images[:500]
    index = Index(x, mnist.train_labels[:500])
    img = mnist.test_images[0]
    d0, i0 = index.search(img, 3)
    for q in (img.reshape(784), img[None], img.reshape(1, 784), img / 255.0, img.astype(np.float32) / 255):
        d, i = index.search(q, 3)
        np.testing.assert_array_equal(i, i0)
        np.testing.assert_array_equal(d, d0)


@unit
@pytest.mark.parametrize("bad,msg", [
    (np.zeros((27, 28)), "must have shape"),
    (np.zeros((2, 3, 784)), "must have shape"),
    (np.zeros((0, 784)), "at least one"),
    (np.full(784, np.nan), "finite"),
    (np.full(784, 2.0), r"\[0, 1\]"),
    (np.full(784, 300), "0-255"),
    (np.array(["a"] * 784), "dtype"),
])
def test_bad_queries_are_rejected(bad, msg):
    index = Index(np.zeros((3, 784), np.uint8), [0, 1, 2])
    with pytest.raises(ValueError, match=msg):
        index.search(bad, 1)


@unit
@pytest.mark.parametrize("k", [0, -1, 4, 1.5, True])
def test_k_out_of_range(k):
    index = Index(np.zeros((3, 784), np.uint8), [0, 1, 2])
    with pytest.raises(ValueError, match="k must be"):
        index.search(np.zeros(784), k)


@unit
def test_k_message_names_rule_and_value():
    index = Index(np.zeros((3, 784), np.uint8), [0, 1, 2])
    with pytest.raises(ValueError, match="k must be between 1 and 3; got 0"):
        index.search(np.zeros(784), 0)


@unit
def test_bad_construction():
    with pytest.raises(ValueError, match="metric"):
        Index(np.zeros((3, 784), np.uint8), [0, 1, 2], metric="cosine")
    with pytest.raises(ValueError, match="labels"):
        Index(np.zeros((3, 784), np.uint8), [0, 1])
    with pytest.raises(ValueError, match="0-9"):
        Index(np.zeros((3, 784), np.uint8), [0, 1, 10])


@unit
def test_vote_majority_and_tie_break():
    labels = np.array([[3, 5, 5, 3, 1]])  # 3 and 5 tie with two votes: nearest of them is 3
    lab, shares = vote(labels, np.array([[1.0, 2, 3, 4, 5]]))
    assert lab[0] == 3 and shares[0, 3] == shares[0, 5] == 0.4 and shares.sum() == pytest.approx(1)
    lab, _ = vote(np.array([[1, 5, 5]]), np.zeros((1, 3)))
    assert lab[0] == 5
    # by distance: one very near 7 outweighs two far 2s
    lab, shares = vote(np.array([[7, 2, 2]]), np.array([[0.0, 10, 10]]), "distance")
    assert lab[0] == 7 and shares[0, 7] > 0.5
    with pytest.raises(ValueError, match=r"voting must be one of \('uniform', 'distance'\); got 'cubic'"):
        vote(labels, np.zeros((1, 5)), "cubic")


def test_classify_uses_votes(mnist, full_index):
    labels, shares = full_index.classify(mnist.test_images[:50], k=5)
    assert shares.shape == (50, 10) and np.allclose(shares.sum(1), 1)
    assert (labels == mnist.test_labels[:50]).mean() > 0.9


def test_index_is_compact(full_index):
    assert full_index.nbytes < 80e6  # 47 MB of pixels, 6 + 24 MB of 4x4 and 2x2 block sums
    assert as_vectors(np.zeros((28, 28))).dtype == np.uint8


@unit
@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_short_vectors_are_scanned_exactly(metric, rng):
    """Vectors that are not 28x28 images (e.g. 64 learned features): exact, ties to the lower index."""
    x = rng.integers(0, 256, (3000, 64), dtype=np.uint8)
    x[10] = x[3]  # a tie
    y = rng.integers(0, 10, 3000)
    q = np.concatenate([x[3:4], rng.integers(0, 256, (70, 64), dtype=np.uint8)])
    index = Index(x, y, metric)
    assert index.dim == 64
    d, i = index.search(q, 5)
    diff = x[None].astype(np.int64) - q[:, None].astype(np.int64)
    ref = np.abs(diff).sum(-1) if metric == "l1" else (diff ** 2).sum(-1)
    order = np.argsort(ref, axis=1, kind="stable")[:, :5]
    assert np.array_equal(i, order)
    expect = np.take_along_axis(ref, order, 1).astype(np.float64)
    assert np.allclose(d, expect if metric == "l1" else np.sqrt(expect))
    assert i[0, :2].tolist() == [3, 10]
    d1, i1 = index.search(q[5], 5)  # a single query takes its own path
    assert np.array_equal(i1[0], order[5])
    with pytest.raises(ValueError, match=r"queries must have shape \(64,\) or \(n, 64\); got \(28, 28\)"):
        index.search(np.zeros((28, 28), np.uint8))


@unit
@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("dim", [64, 129, 130])
def test_short_vectors_stay_exact_at_the_extremes(dim, metric, rng):
    """Narrow sums (L1: uint8 differences, int16 halves) and L2's float32 matrix product (up to 129 numbers)
    still give the exact integers, for odd and even lengths, ties kept in index order."""
    x = rng.choice(np.array([0, 1, 254, 255], np.uint8), (600, dim))
    x[0], x[1] = 0, 255  # the largest possible distance between them
    x[7] = x[5]
    q = np.concatenate([x[:2], x[5:6], rng.integers(0, 256, (300, dim), dtype=np.uint8)])
    index = Index(x, rng.integers(0, 10, 600), metric)
    assert index._gram == (metric == "l2" and dim <= 129)
    d, i = index.search(q, 4)
    diff = x[None].astype(np.int64) - q[:, None].astype(np.int64)
    ref = np.abs(diff).sum(-1) if metric == "l1" else (diff ** 2).sum(-1)
    order = np.argsort(ref, axis=1, kind="stable")[:, :4]
    assert np.array_equal(i, order) and i[2, :2].tolist() == [5, 7]
    exact = np.take_along_axis(ref, order, 1).astype(np.float64)
    assert np.array_equal(d, exact if metric == "l1" else np.sqrt(exact))
    one = index.search(q[7], 4)  # a single query takes its own path, to the same answer
    assert np.array_equal(one[1][0], i[7]) and np.array_equal(one[0][0], d[7])
    far = index.search(q[0], 600)[0][0, -1]
    assert far == (255 * dim if metric == "l1" else np.sqrt(255 ** 2 * dim))


@unit
@pytest.mark.parametrize("dim", [784, 64])
@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_tiny_indexes_run_eagerly_to_the_same_answer(dim, metric, rng):
    """A handful of vectors (a visitor's taught digits) skips the XLA compile; the answer is the compiled one's."""
    x = rng.choice(np.array([0, 3, 128, 255], np.uint8), (40, dim))
    x[9] = x[2]  # a tie
    q = np.concatenate([x[2:3], rng.integers(0, 256, (5, dim), dtype=np.uint8)])
    eager, compiled = Index(x, np.arange(40) % 10, metric), Index(x, np.arange(40) % 10, metric, jit=True)
    assert not eager.jit and compiled.jit and Index(np.zeros((EAGER_MAX + 1, dim), np.uint8),
                                                    np.zeros(EAGER_MAX + 1, int)).jit
    for queries, k in ((q, 5), (q[3], 40)):
        d, i = eager.search(queries, k)
        d2, i2 = compiled.search(queries, k)
        np.testing.assert_array_equal(i, i2)
        np.testing.assert_array_equal(d, d2)
    assert eager.search(q[0], 2)[1][0].tolist() == [2, 9]


@unit
@pytest.mark.parametrize("voting", VOTING)
def test_vote_by_k_is_the_vote_at_every_k(voting):
    rng = np.random.default_rng(11)
    for _ in range(20):
        labels = rng.integers(0, 4, 25)  # few classes: many ties
        dist = np.sort(rng.integers(0, 6, 25).astype(float))
        by_k = vote_by_k(labels, dist, voting)
        assert list(by_k) == [vote(labels[None, :k], dist[None, :k], voting)[0][0] for k in range(1, 26)]


@unit
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dim,n", [(784, 300), (784, 12000), (64, 300)])
def test_nearest_per_label_is_exact(metric, dim, n):
    """For images, 12,000 vectors make the bound-and-verify path choose candidates (300 take them all)."""
    rng = np.random.default_rng(12)
    x = rng.integers(0, 256, (n, dim)).astype(np.uint8)
    x[n // 2:] //= 4  # a darker half: the bounds differ widely
    y = rng.integers(0, 9, n)  # no 9s
    x[7] = x[3]  # an exact tie: the lower index wins
    y[7] = y[3]
    index = Index(x, y, metric, ids=np.arange(n) * 2)
    q = np.stack([x[3], rng.integers(0, 256, dim).astype(np.uint8)])
    dist, ids = index.nearest_per_label(q)
    ref = np.abs(x.astype(np.int64)[None] - q.astype(np.int64)[:, None]).sum(-1) if metric == "l1" else \
        np.sqrt(((x.astype(np.int64)[None] - q.astype(np.int64)[:, None]) ** 2).sum(-1))
    for j in range(2):
        for c in range(9):
            members = np.nonzero(y == c)[0]
            best = members[np.lexsort((members, ref[j, members]))[0]]
            assert dist[j, c] == pytest.approx(ref[j, best]) and ids[j, c] == 2 * best
        assert dist[j, 9] == np.inf and ids[j, 9] == -1
    assert ids[0, y[3]] == 6  # x[3] itself, not its twin x[7]
    some, where = index.nearest_per_label(q, labels=[2, 5])
    assert np.array_equal(where[:, [2, 5]], ids[:, [2, 5]]) and np.all(where[:, [0, 1, 3, 4, 6, 7, 8, 9]] == -1)
