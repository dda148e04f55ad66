"""Strangers teaching as they go (knn.stream), their own digits deciding within a radius (knn.answer), predict --taught."""

import json

import numpy as np
import pytest

from helpers import png_of, synthetic_digit, synthetic_pen
from knn import references
from knn.answer import OWN_RADIUS, answer, predict_files, read_taught
from knn.stream import RADII, Writers, evaluate_stream, stream

pytestmark = pytest.mark.unit


def writers_fixture(spacing: float = 1.0, first_read_right: bool = False):
    """Two writers of 4s that the shared references read as 9s: each 4's seven nearest shared references
    are 9s (but the last, a 4), at distances 10 to 16; a writer's own 4s lie ``spacing`` apart. With
    ``first_read_right``, the shared references read the first 4 each writer draws (seed 0) right."""
    n = 6
    vectors = np.zeros((2 * n, 2))
    vectors[:, 0] = (np.arange(2 * n) % n) * spacing
    vectors[n:, 1] = 1000  # the second writer draws far from the first
    dist = np.tile(np.arange(10, 20, dtype=float), (2 * n, 1))
    labels = np.tile([9, 9, 9, 9, 9, 9, 4, 4, 4, 4], (2 * n, 1))
    w = Writers(vectors=vectors, distances=dist, labels=labels, truth=np.full(2 * n, 4),
                writer=np.repeat([1, 2], n), width=np.full(2 * n, 16), metric="l1")
    if first_read_right:
        rng = np.random.default_rng(0)
        for writer in (1, 2):
            mine = np.flatnonzero(w.writer == writer)
            w.labels[mine[rng.permutation(n)[0]]] = 4
    return w


def test_a_miss_is_corrected_once_and_then_the_writers_own_digit_decides():
    w = writers_fixture()
    plain = stream(w, 7, None)
    assert (plain["said"] == 9).all() and not plain["taught"].any()
    run = stream(w, 7, OWN_RADIUS, keep=False)
    # each writer's first 4 is misread and corrected; every later one is read through the writer's own
    assert run["taught"].sum() == 2 and [run["taught"][w.writer == x].sum() for x in (1, 2)] == [1, 1]
    assert ((run["said"] == 4) == ~run["taught"]).all()
    assert run["taught_before"].sum() == len(w.truth) - 2
    # own 4s 40 apart lie beyond twice the 7th shared reference's 16: none decides; within 3x, the nearest do
    far = writers_fixture(spacing=40)
    assert stream(far, 7, 2.0, keep=False)["taught"].all() and 2 < stream(far, 7, 3.0, keep=False)["taught"].sum() < 12


def test_a_digit_read_right_and_kept_reads_the_writers_next_ones():
    w = writers_fixture(first_read_right=True)
    kept = stream(w, 7, OWN_RADIUS)  # the first 4, read right, is kept as read and decides every later one
    assert (kept["said"] == 4).all() and not kept["taught"].any()
    corrected_only = stream(w, 7, OWN_RADIUS, keep=False)  # only the second 4, misread, is corrected
    assert corrected_only["taught"].sum() == 2 and (corrected_only["said"] == 4).sum() == len(w.truth) - 2


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
    run = stream(w, 5, OWN_RADIUS, seed=2, calibration=cal)
    order = np.random.default_rng(2).permutation(len(truth))
    mine, misses = [], 0
    for j in order:
        own = references.taught("none", "l1", vectors[mine], truth[mine], images[mine]) if mine else None
        ans = answer(refs, pictures[j], k=5, taught=own, calibration=cal)
        assert ans.prediction == run["said"][j], j
        assert (truth[j] in ans.certainty.prediction_set()) == run["held"][j]
        misses += ans.prediction != truth[j]
        mine.append(j)  # corrected, or kept as read: its true digit either way
    assert run["taught"].sum() == misses > 0 and (run["said"] == truth).sum() > 0


@pytest.fixture(scope="module")
def pen():
    """Six writers, ten digits each: SHAPES jittered, as pen strokes."""
    return synthetic_pen(range(1, 7))


def test_the_radius_is_chosen_on_other_writers_than_are_streamed(synthetic, pen):
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
        assert chosen in RADII and inner[chosen] == max(inner.values())
        assert min(r for r in RADII if inner[r] == inner[chosen]) == chosen  # a tie goes to the smallest
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
    assert mine["decided_by"]["source"] == "taught" and mine["decided_by"]["distance"] == 0
    assert plain["decided_by"] is None and {nb["source"] for nb in mine["neighbours"]} == {"mnist"}
    with pytest.raises(ValueError, match="mine is not a folder named 0 to 9, so its digit is unknown"):
        read_taught(refs.space, "l1", tmp_path)  # the folder above a writer's digits
    (tmp_path / "empty" / "3").mkdir(parents=True)
    (tmp_path / "empty" / ".DS_Store").write_bytes(b"\0")  # hidden files are passed over
    with pytest.raises(ValueError, match="holds no pictures in folders named 0 to 9"):
        read_taught(refs.space, "l1", tmp_path / "empty")
    (tmp_path / "mine" / "sevens").mkdir()
    with pytest.raises(ValueError, match="sevens is not a folder named 0 to 9"):
        read_taught(refs.space, "l1", tmp_path / "mine")  # a misnamed folder is not passed over
    (tmp_path / "mine" / "sevens").rmdir()
    (tmp_path / "mine" / "1" / "more").mkdir()
    with pytest.raises(ValueError, match="more is not a picture; put the pictures of a 1 straight in"):
        read_taught(refs.space, "l1", tmp_path / "mine")
    (tmp_path / "mine" / "1" / "more").rmdir()
    (tmp_path / "mine" / "2").mkdir()
    (tmp_path / "mine" / "2" / "bad.png").write_bytes(b"not a picture")
    with pytest.raises(ValueError, match="bad.png"):
        read_taught(refs.space, "l1", tmp_path / "mine")
