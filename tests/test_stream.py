"""Strangers teaching as they go (knn.stream), the taught digits' worth in the vote (knn.answer), predict --taught."""

import json

import numpy as np
import pytest

from helpers import SHAPES, png_of, synthetic_digit
from knn import references
from knn.answer import OWN_WORTH, answer, predict_files, read_taught
from knn.pen import PenDigit
from knn.stream import WORTHS, Writers, evaluate_stream, stream

pytestmark = pytest.mark.unit


def writers_fixture(worth_needed: int = 7):
    """Two writers of 4s that the shared references read as 9s: each 4's seven nearest shared references
    are 9s (but the last, a 4), at distances from 10 up; the writer's own 4s lie 1 apart."""
    n = 6
    vectors = np.zeros((2 * n, 2))
    vectors[:, 0] = np.arange(2 * n) % n
    vectors[n:, 1] = 100  # the second writer draws far from the first
    dist = np.tile(np.arange(10, 20, dtype=float), (2 * n, 1))
    labels = np.tile([9, 9, 9, 9, 9, 9, 4, 4, 4, 4], (2 * n, 1))
    return Writers(vectors=vectors, distances=dist, labels=labels, truth=np.full(2 * n, 4),
                   writer=np.repeat([1, 2], n), width=np.full(2 * n, 16), metric="l1")


def test_a_miss_is_taught_once_and_then_outvotes_the_shared_references():
    w = writers_fixture()
    plain = stream(w, 7, None)
    assert (plain["said"] == 9).all() and not plain["taught"].any()
    run = stream(w, 7, OWN_WORTH)
    # each writer's first 4 is misread and taught; every later one is read through the writer's own
    assert run["taught"].sum() == 2 and [run["taught"][w.writer == x].sum() for x in (1, 2)] == [1, 1]
    assert ((run["said"] == 4) == ~run["taught"]).all()
    assert run["taught_before"].sum() == len(w.truth) - 2
    # one vote among seven would not carry: six shared 9s outvote it
    assert (stream(w, 7, 1)["said"] == 9).sum() > 2


def test_a_stream_reads_each_drawing_as_the_page_does(synthetic):
    """The stream's reading of every digit, with the digits taught before it, is :func:`knn.answer.answer`'s
    with the same taught digits as a visitor's own references."""
    from knn.conformal import REACH, calibrate

    refs = references.build(synthetic, "none", "l1", pen=None)
    cal = calibrate(refs)
    rng = np.random.default_rng(5)
    pictures = [synthetic_digit(int(y), rng) for y in np.repeat(np.arange(10), 2)]
    images = np.stack([refs.space.pixels(refs.space.read(p).centred)[0] for p in pictures])
    vectors = refs.space.encode(images)
    d, i = refs.index.search(vectors, REACH)
    truth = (np.repeat(np.arange(10), 2) + 1) % 10  # a writer whose every digit means the next one
    w = Writers(vectors=vectors, distances=d.astype(float), labels=refs.index.labels[i], truth=truth,
                writer=np.ones(len(truth), int), width=np.full(len(truth), 16), metric="l1")
    run = stream(w, 5, OWN_WORTH, seed=2, calibration=cal)
    order = np.random.default_rng(2).permutation(len(truth))
    mine = []
    for j in order:
        own = references.taught("none", "l1", vectors[mine], truth[mine], images[mine]) if mine else None
        ans = answer(refs, pictures[j], k=5, taught=own, calibration=cal)
        assert ans.prediction == run["said"][j], j
        assert (truth[j] in ans.certainty.prediction_set()) == run["held"][j]
        if ans.prediction != truth[j]:
            mine.append(j)
    assert run["taught"].sum() == len(mine) > 0


@pytest.fixture(scope="module")
def pen():
    """Six writers, ten digits each: SHAPES jittered, as pen strokes."""
    rng = np.random.default_rng(3)
    return [PenDigit(tuple(np.asarray(s) * 100 + rng.normal(0, 2, (len(s), 2)) for s in SHAPES[y]), y, w)
            for w in range(1, 7) for y in range(10)]


def test_the_worth_is_chosen_on_other_writers_than_are_streamed(synthetic, pen):
    e = evaluate_stream(synthetic, pen, folds=3, space="none", k=3)
    everyone = {d.writer for d in pen}
    assert e.folds == [[1, 4], [2, 5], [3, 6]] and e.n == len(pen) and e.writers == 6
    for outer, chosen, inner in zip(e.folds, e.chosen, e.inner):
        outer = set(outer)
        choosing = [s for s in e.steps if s["outer"] == outer and s["measured"] != outer]
        assert len(choosing) == 2
        for s in choosing:
            assert not outer & (s["measured"] | s["index"]) and not s["measured"] & s["index"]
            assert s["measured"] | s["index"] == everyone - outer
            assert s["networks_never_saw"] is None  # pixels: nothing learned from anyone
        assert [s["index"] for s in e.steps if s["outer"] == outer and s["measured"] == outer] == [everyone - outer]
        assert chosen in WORTHS and inner[chosen] == max(inner.values())
        assert min(w for w in WORTHS if inner[w] == inner[chosen]) == chosen  # a tie goes to the smallest
    assert 0 <= e.untaught <= 1 and 0 <= e.mean <= 1 and set(e.by_width) == {8, 12, 16, 20, 24, 32, 40}
    assert e.corrections_per_50 == pytest.approx(50 * e.corrections_per_writer * 6 / len(pen))
    assert json.dumps(e.summary())


def test_predict_with_a_writers_own_digits(synthetic, tmp_path):
    refs = references.build(synthetic, "none", "l1", pen=None)
    rng = np.random.default_rng(7)
    seven = synthetic_digit(7, rng)
    (tmp_path / "mine" / "1").mkdir(parents=True)
    (tmp_path / "mine" / "1" / "a.png").write_bytes(png_of(255 - seven))  # this writer's 7s mean 1
    (tmp_path / "seven.png").write_bytes(png_of(255 - seven))
    own = read_taught(refs.space, "l1", tmp_path / "mine")
    assert len(own) == 1 and own.labels.tolist() == [1]
    plain, mine = (predict_files(refs, [tmp_path / "seven.png"], k=5, taught=t)[0] for t in (None, own))
    assert plain["prediction"] == 7 and mine["prediction"] == 1
    assert mine["neighbours"][0]["source"] == "taught" and mine["neighbours"][0]["distance"] == 0
    with pytest.raises(ValueError, match="holds no pictures in folders named 0 to 9"):
        read_taught(refs.space, "l1", tmp_path)
    (tmp_path / "mine" / "2").mkdir()
    (tmp_path / "mine" / "2" / "bad.png").write_bytes(b"not a picture")
    with pytest.raises(ValueError, match="bad.png"):
        read_taught(refs.space, "l1", tmp_path / "mine")
