"""The Evaluate page's tables: computed once per setting and kept on disk.

* :func:`neighbour_table`: the 20 nearest references of every test digit
  under one setting (comparison space, metric, training size), searched with
  the same references and engine as ``python -m knn evaluate``. Every k from
  1 to 20 is a vote over a prefix of it, so one search answers them all.
* :func:`accuracy_by_k`, :func:`predictions`, :func:`confusion`: accuracy
  curves and the confusion matrix from such a table.
* :func:`certainty_table`: the conformal p-values and digit-likeness
  (:mod:`knn.conformal`) of MNIST's test digits, and of real pen digits and
  characters of other alphabets where their files are at hand.
* :func:`pca_map`: a 2-D PCA projection of the training set's pixels as a
  space sees them, which, unlike t-SNE, can place a new drawing on the same map.

Results go through :mod:`knn.cache`, keyed by the settings, the space's
identity and a checksum of the data, so the page opens at once the second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from knn import cache, conformal, spaces
from knn.data import Mnist, subset
from knn.engine import vote
from knn.evaluate import Progress
from knn.references import build

K_MAX = 20  # neighbours kept per test digit: the largest k the page's curves show


def data_checksum(mnist: Mnist) -> str:
    return cache.checksum(mnist.train_images, mnist.train_labels, mnist.test_images, mnist.test_labels)


def neighbour_table(mnist: Mnist, space="default", metric: str = "l1", n_train: Optional[int] = None,
                    n_test: Optional[int] = None, seed: int = 0, progress: Progress = None,
                    checksum: Optional[str] = None, chunk: int = 500) -> dict:
    """The K_MAX nearest references of every test digit of a setting (cached).

    Returns arrays: ``test_rows`` (n,), ``truth`` (n,), ``distances`` (n, 20),
    ``labels`` (n, 20) and ``positions`` (n, 20: each neighbour's position in
    the setting's :class:`knn.references.References`).
    """
    space = spaces.get(space)
    settings = dict(n_train=n_train, n_test=n_test, seed=seed, metric=metric, k_max=K_MAX,
                    data=checksum or data_checksum(mnist), **space.identity())

    def compute():
        refs = build(mnist, space, metric, n_train, seed)
        rows = subset(len(mnist.test_labels), n_test, seed + 1)  # the same test subset as evaluate_mnist()
        queries = space.vectors(mnist.test_images[rows])
        dist = np.empty((len(rows), K_MAX))
        pos = np.empty((len(rows), K_MAX), np.int64)
        for s in range(0, len(rows), chunk):
            dist[s:s + chunk], pos[s:s + chunk] = refs.index.search(queries[s:s + chunk], K_MAX)
            if progress:
                progress(min(s + chunk, len(rows)), len(rows))
        return dict(test_rows=rows, truth=mnist.test_labels[rows].astype(np.int64), distances=dist,
                    labels=refs.labels[pos].astype(np.int64), positions=pos)

    return cache.cached("neighbours", settings, compute)


def predictions(table: dict, k: int, voting: str = "uniform") -> np.ndarray:
    """Predicted labels (n,) for k from 1 to K_MAX."""
    if not 1 <= k <= K_MAX:
        raise ValueError(f"k must be between 1 and {K_MAX}; got {k}")
    return vote(table["labels"][:, :k], table["distances"][:, :k], voting)[0]


def accuracy_by_k(table: dict, ks=range(1, K_MAX + 1), voting: str = "uniform") -> np.ndarray:
    """Accuracy for each k in ks."""
    return np.array([(predictions(table, k, voting) == table["truth"]).mean() for k in ks])


def confusion(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(10, 10) counts: rows true label, columns prediction."""
    m = np.zeros((10, 10), np.int64)
    np.add.at(m, (truth, predicted), 1)
    return m


def _file_checksum(path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path else ""


def certainty_table(refs, mnist: Mnist, checksum: Optional[str] = None, pen_file=None, omniglot_file=None,
                    progress: Progress = None) -> dict:
    """P-values (n, 10), digit-likeness (n,) and truth of every MNIST test digit under ``refs`` (cached),
    prefixed ``mnist_``; likewise ``pen_`` for the real pen digits (read with networks that never saw their
    writers, :meth:`knn.spaces.Space.trained_without`) and ``other_`` (with
    ``other_alphabet``) for the non-digits, when their files are given (:func:`knn.pen.find_pendigits`,
    :func:`knn.omniglot.find_omniglot`). The files are read only when the table is not on disk yet.
    ``progress(done, total)`` counts the pictures read of all the parts together."""
    from knn.evaluate import evaluate_mnist, evaluate_omniglot, evaluate_pen
    from knn.omniglot import load_omniglot
    from knn.pen import load_pendigits

    unseen = refs.space.trained_without(None)  # the pen writers are read with networks that never saw them
    settings = dict(space=refs.space.identity(), metric=refs.index.metric, n_train=refs.n_train,
                    data=checksum or data_checksum(mnist), pen=_file_checksum(pen_file),
                    pen_space=unseen.identity() if pen_file else None,
                    other=_file_checksum(omniglot_file), version=conformal.VERSION)

    def compute():
        pen = load_pendigits(str(Path(pen_file).parent)) if pen_file else None
        other = load_omniglot(str(Path(omniglot_file).parent)) if omniglot_file else None
        sizes = [len(mnist.test_labels)] + [len(x) for x in (pen, other) if x is not None]

        def step(i):  # part i's progress as pictures read of all the parts: one count that only goes up
            if progress is None:
                return None
            before, whole = sum(sizes[:i]), sum(sizes)
            return lambda done, total: progress(before + round(sizes[i] * done / max(total, 1)), whole)

        e = evaluate_mnist(refs, mnist, progress=step(0))
        out = dict(mnist_p=e.p_values, mnist_likeness=e.likeness, mnist_truth=mnist.test_labels[e.test_rows])
        if pen is not None:
            pen_refs = refs if unseen is refs.space else build(mnist, unseen, refs.index.metric, refs.n_train)
            p = evaluate_pen(pen_refs, pen, progress=step(1))
            out.update(pen_p=p.p_values, pen_likeness=p.likeness, pen_truth=p.labels)
        if other is not None:
            o = evaluate_omniglot(refs, other, progress=step(len(sizes) - 1))
            out.update(other_p=o.p_values, other_likeness=o.likeness, other_alphabet=o.alphabets.astype(str))
        return out

    return cache.cached("certainty", settings, compute)


def pca_map(mnist: Mnist, space="default", checksum: Optional[str] = None, fit_on: int = 10000,
            seed: int = 0) -> dict:
    """A 2-D PCA of the training digits' pixels as a space sees them (cached).

    Returns ``mean`` (784,), ``components`` (2, 784), ``coords`` (60000, 2)
    and ``explained`` (2,) variance ratios. Fitted on ``fit_on`` random
    training digits (the first two components of 10,000 digits are those of
    all 60,000 to within plotting precision).
    """
    space = spaces.get(space)
    settings = dict(space=space.name, fit_on=fit_on, seed=seed, data=checksum or data_checksum(mnist))

    def compute():
        x = space.pixels(mnist.train_images).reshape(-1, 784).astype(np.float32)
        sample = x[np.random.default_rng(seed).choice(len(x), min(fit_on, len(x)), replace=False)]
        mean = sample.mean(0)
        _, s, vt = np.linalg.svd(sample - mean, full_matrices=False)
        comps = vt[:2]
        comps *= np.sign(comps.sum(1, keepdims=True) + 1e-12)  # a fixed orientation, run to run
        var = s ** 2
        return dict(mean=mean, components=comps, coords=(x - mean) @ comps.T, explained=var[:2] / var.sum())

    return cache.cached("pca", settings, compute)


def project(pca: dict, vectors: np.ndarray) -> np.ndarray:
    """(m, 784) vectors as compared -> (m, 2) map coordinates."""
    return (np.asarray(vectors, np.float32).reshape(-1, 784) - pca["mean"]) @ pca["components"].T
