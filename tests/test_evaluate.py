"""Measuring accuracy (knn.evaluate) and the Evaluate page's tables (knn.tables), on synthetic digits."""

import numpy as np
import pytest

from knn import references, tables
from knn.evaluate import evaluate_drawn, evaluate_mnist

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def refs(synthetic):
    return references.build(synthetic, "none")


def test_evaluate_mnist_reports_the_setting_and_the_errors(synthetic, refs):
    e = evaluate_mnist(refs, synthetic, k=1)
    assert e.n_test == 60 and e.n_train == 400 and e.index_size == 400 and e.space == "none" and e.k == 1
    assert e.errors == int((e.predictions != synthetic.test_labels[e.test_rows]).sum())
    assert e.accuracy == 1 - e.errors / 60 and e.accuracy > 0.9
    assert set(e.summary()) == {"accuracy", "errors", "n_train", "index_size", "n_test", "k", "metric", "space",
                                "voting", "seconds", "queries_per_second", "level", "coverage", "set_size", "flagged"}
    assert 0 <= e.coverage <= 1 and e.set_size >= 0 and e.p_values.shape == (60, 10) and e.likeness.shape == (60,)
    some = evaluate_mnist(refs, synthetic, n_test=20, seed=4)
    assert some.n_test == 20 and some.k == 3 and np.all(np.diff(some.test_rows) > 0)  # the space's own k


def test_drawn_benchmark_reports_widths_sizes_groups_and_confusions(synthetic, refs):
    e = evaluate_drawn(refs, synthetic, per_width=5, seed=2, widths=(8, 30))
    assert e.n == 2 * (5 + 3) and set(e.by_width) == {8, 30} and set(e.by_group) == {"browser", "MNIST test digits"}
    assert sum(map(sum, e.confusion)) == e.n and e.images.shape == (e.n, 28, 28)
    assert e.errors == int((e.predictions != e.labels).sum())


def test_a_neighbour_table_answers_every_k(synthetic, refs):
    table = tables.neighbour_table(synthetic, "none", "l1", checksum="synthetic")
    assert table["distances"].shape == (60, tables.K_MAX) and np.all(np.diff(table["distances"], axis=1) >= 0)
    assert np.array_equal(table["labels"], refs.labels[table["positions"]])
    acc = tables.accuracy_by_k(table, [1, 3])
    assert acc[0] == evaluate_mnist(refs, synthetic, k=1).accuracy and acc[1] == evaluate_mnist(refs, synthetic).accuracy
    m = tables.confusion(table["truth"], tables.predictions(table, 1))
    assert m.sum() == 60 and np.trace(m) == round(acc[0] * 60)
    with pytest.raises(ValueError, match="k must be between 1 and 20; got 21"):
        tables.predictions(table, 21)
    again = tables.neighbour_table(synthetic, "none", "l1", checksum="synthetic")  # from the disk cache
    assert np.array_equal(again["positions"], table["positions"])


def test_the_certainty_table_counts_the_pictures_of_every_part_as_one(synthetic, refs, tmp_path):
    """Its progress counts the pictures read of all the parts (MNIST's test digits, then the pen digits) as one
    count that only goes up, towards one total; then the table holds both parts."""
    import gzip

    from helpers import synthetic_pen, unipen
    from knn.pen import FILE

    pen = synthetic_pen((1, 2, 3), seed=5)  # 30 pen digits beside MNIST's 60 test digits
    (tmp_path / FILE).write_bytes(gzip.compress(unipen(pen).encode()))
    seen = []
    table = tables.certainty_table(refs, synthetic, "synthetic", pen_file=tmp_path / FILE,
                                   progress=lambda done, total: seen.append((done, total)))
    assert {total for _, total in seen} == {60 + 30} and seen[-1] == (90, 90), seen
    assert [done for done, _ in seen] == sorted(done for done, _ in seen), seen
    assert (60, 90) in seen and table["mnist_p"].shape == (60, 10) and table["pen_p"].shape == (30, 10)


def test_the_pca_map_places_new_pictures(synthetic):
    pca = tables.pca_map(synthetic, "deskew", checksum="synthetic", fit_on=200)
    assert pca["coords"].shape == (400, 2) and pca["components"].shape == (2, 784) and pca["explained"].sum() < 1
    from knn import spaces

    seen = spaces.DESKEW.pixels(synthetic.train_images[:3])
    np.testing.assert_allclose(tables.project(pca, seen), pca["coords"][:3], rtol=1e-4, atol=1e-2)
