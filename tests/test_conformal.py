"""Certainty (knn.conformal): leave-one-out calibration, prediction sets that keep their promise,
the answer's nearest of every other digit and its vote at every k; on synthetic digits."""

import numpy as np
import pytest

from helpers import synthetic_digit, synthetic_mnist
from knn import conformal, references
from knn.answer import answer
from knn.conformal import Certainty, calibrate, label_scores, strangeness
from knn.engine import vote
from knn.preprocess import deskew

pytestmark = pytest.mark.unit


def brute_neighbours(refs, j, reach):
    """Distances and positions of reference j's nearest, itself and every copy of it left out (NumPy)."""
    v = refs.index.reconstruct(np.arange(len(refs))).astype(np.int32)
    d = np.abs(v - v[j]).sum(1)
    others = np.nonzero(refs.numbers != refs.numbers[j])[0]
    order = others[np.lexsort((others, d[others]))][:reach]
    return d[order].astype(float), order


def test_calibration_is_leave_one_out(synthetic):
    refs = references.build(synthetic, "thicken")  # every training digit has a thickened copy of the same number
    cal = calibrate(refs, n=refs.n_train)
    k, label, strange = refs.space.default_k, [], []
    for j in range(refs.n_train):
        d, pos = brute_neighbours(refs, j, conformal.REACH)
        label.append(label_scores(d[None], refs.labels[pos][None], k)[0, refs.labels[j]])
        gap = conformal.picture_gaps(refs.pictures([j]), deskew(refs.pictures(pos))[None])
        strange.append(strangeness(d[None], gap, k)[0])
    assert len(cal) == refs.n_train and cal.k == k
    assert np.allclose(cal.label, np.sort(label)) and np.allclose(cal.strange, np.sort(strange))
    assert calibrate(refs, n=refs.n_train) is cal  # once per References


def test_calibration_keeps_to_digits_the_space_never_learned(synthetic, monkeypatch):
    refs = references.build(synthetic, "thicken")
    aside = np.arange(0, refs.n_train, 3)  # training rows its reading "never learned" (a network's set-aside)
    monkeypatch.setattr(type(refs.space), "unlearned", lambda self: aside)
    monkeypatch.setattr(conformal, "MIN_UNLEARNED", 100)
    cal = calibrate(refs, n=1000)  # asks for more than there are: every set-aside digit, and only those
    k, label = refs.space.default_k, []
    for j in aside:
        d, pos = brute_neighbours(refs, j, conformal.REACH)
        label.append(label_scores(d[None], refs.labels[pos][None], k)[0, refs.labels[j]])
    assert len(cal) == len(aside) and np.allclose(cal.label, np.sort(label))
    monkeypatch.setattr(conformal, "MIN_UNLEARNED", len(aside) + 1)  # too few set aside: every training digit
    assert len(calibrate(references.build(synthetic, "thicken"), n=1000)) == refs.n_train


def test_prediction_sets_cover_their_level_on_a_seeded_split():
    """Calibration digits and test digits from the same generator: the sets hold the label as often as promised."""
    from knn.evaluate import evaluate_mnist

    data = synthetic_mnist(n_train=600, n_test=400, seed=3)
    refs = references.build(data, "none")
    for level in (0.8, 0.9):
        e = evaluate_mnist(refs, data, k=1, level=level)
        assert abs(e.coverage - level) <= 0.05, (level, e.summary())  # 2.5 binomial sd at n = 400
        assert e.set_size <= 1.3


def test_certainty_reads_its_p_values():
    c = Certainty(p_values=np.array([0.01, 0.6, 0.2, 0, 0, 0, 0, 0, 0.04, 0]), digit_likeness=0.3)
    assert c.best == 1 and c.credibility == 0.6 and c.confidence == pytest.approx(0.8)
    assert c.prediction_set(0.95) == (1, 2) and c.prediction_set(0.5) == (1,) and c.prediction_set(0.99) == (1, 2, 8)
    assert not c.not_a_digit and Certainty(c.p_values, 0.005).not_a_digit
    out = c.to_json(0.95)
    assert out["prediction_set"] == [1, 2] and out["credibility"] == 0.6 and out["not_a_digit"] is False
    for bad in (0, 1, 1.5, -0.2):
        with pytest.raises(ValueError, match="level must lie strictly between 0 and 1"):
            c.prediction_set(bad)


def test_label_scores_favour_the_near_digit():
    d = np.array([[10.0, 11, 30, 31, 32]])
    y = np.array([[4, 4, 9, 9, 9]])
    s = label_scores(d, y, 2)
    assert s[0, 4] == pytest.approx(21 / 61) and s[0, 9] == pytest.approx(61 / 21)
    assert s[0, 0] == pytest.approx(64 / 21)  # a digit absent from the list counts at the farthest distance


def test_picture_gaps_are_the_smallest_l1_to_the_deskewed_query():
    rng = np.random.default_rng(4)
    queries = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    neighbours = rng.integers(0, 256, (5, 7, 28, 28), dtype=np.uint8)
    neighbours[0, 3] = 255 - deskew(queries[:1])[0]  # the farthest a pixel can be, both ways
    neighbours[1, 6] = deskew(queries[1:2])[0]  # the query itself: no gap
    wide = np.abs(neighbours.astype(np.int64) - deskew(queries)[:, None].astype(np.int64)).sum((2, 3))
    assert np.array_equal(conformal.picture_gaps(queries, neighbours), wide.min(1).astype(float))
    assert conformal.picture_gaps(queries, neighbours)[1] == 0


def test_answer_knows_every_other_digit_and_every_k(synthetic):
    refs = references.build(synthetic, "none")
    rng = np.random.default_rng(5)
    for label in (2, 7):
        ans = answer(refs, synthetic_digit(label, rng), k=3, reach=20)
        v = refs.index.reconstruct(np.arange(len(refs))).astype(np.int32)
        d = np.abs(v - ans.query.astype(np.int32)).sum(1)
        assert {o.label for o in ans.others} == set(range(10)) - {ans.prediction}
        for o in ans.others:  # exact, including digits beyond the 20 searched
            assert o.distance == d[refs.labels == o.label].min()
        assert [o.distance for o in ans.others] == sorted(o.distance for o in ans.others)
        assert len(ans.by_k) == 20 and ans.by_k[2] == ans.prediction
        lab = refs.labels[np.lexsort((np.arange(len(d)), d))]
        for k in (1, 5, 20):
            assert ans.by_k[k - 1] == vote(lab[None, :k], np.sort(d)[None, :k])[0][0]
        assert ans.margin(ans.others[0]) == ans.gap >= 0 and ans.runner_up == ans.others[0].label
        assert 0 < ans.certainty.credibility <= 1
