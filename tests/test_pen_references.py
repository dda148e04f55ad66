"""Pen digits as references (knn.pen, knn.references): writer-disjoint folds, marked neighbours, on synthetic digits."""

import json

import numpy as np
import pytest

from helpers import synthetic_digit, synthetic_pen
from knn import references
from knn.answer import answer, predict_files
from knn.evaluate import evaluate_folds
from knn.origins import PEN
from knn.pen import pen_pictures, writer_folds

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def pen():
    """Six writers, ten digits each: SHAPES jittered, as pen strokes."""
    return synthetic_pen(range(1, 7))


def test_folds_split_the_writers(pen):
    folds = writer_folds(pen, 3)
    assert [sorted(f) for f in folds] == [[1, 4], [2, 5], [3, 6]]
    assert set().union(*folds) == {d.writer for d in pen}
    with pytest.raises(ValueError, match="folds must be between 2 and"):
        writer_folds(pen, 7)


def test_pen_references_are_marked_with_their_writer(synthetic, pen):
    pictures = pen_pictures(references.spaces.get("none"), pen)
    assert len(pictures.labels) == 2 * len(pen) and pictures.pictures.shape[1:] == (28, 28)
    refs = references.build(synthetic, "none", pen=pictures.without({1, 4}))
    assert not {1, 4} & set(refs.writers.tolist())  # the writers left out are nowhere in the index
    assert len(refs) == len(synthetic.train_labels) + 2 * 40
    assert refs.sets == ["400 MNIST training digits", "80 drawings of real pen digits by 4 writers"]
    last = refs.origin(len(refs) - 1)
    assert last.kind is PEN and last.writer == 6 and last.describe() == f"pen digit #{len(pen) - 1}, writer 6"
    drawn = synthetic_digit(7, np.random.default_rng(1))
    ans = answer(refs, drawn, k=len(refs) // 2)
    kinds = {nb.origin.kind for nb in ans.neighbours}
    assert PEN in kinds and any(nb.origin.caption.startswith("writer ") for nb in ans.neighbours)
    pen_nb = next(nb for nb in ans.neighbours if nb.origin.kind is PEN)
    own = pictures.pictures[pictures.positions == pen_nb.origin.number]  # its two drawings
    assert any(np.array_equal(pen_nb.picture, p) for p in own)
    assert pen_nb.to_json()["source"] == "pen" and pen_nb.to_json()["writer"] in {2, 3, 5, 6}


def test_deskewed_pictures_are_the_pictures_deskewed(synthetic, pen):
    """The certainty reads every reference's deskewed picture from one store: training digits of a
    subset, copies and pen drawings alike, in any shape of positions."""
    from knn.preprocess import deskew

    for refs in (references.build(synthetic, "none", pen=pen_pictures(references.spaces.get("none"), pen)),
                 references.build(synthetic, "thicken", n_train=150, seed=2)):
        pos = np.random.default_rng(0).integers(0, len(refs), (7, 9))
        assert np.array_equal(refs.deskewed(pos), deskew(refs.pictures(pos).reshape(-1, 28, 28)).reshape(7, 9, 28, 28))


def test_predict_says_each_neighbours_source(synthetic, pen, tmp_path):
    from helpers import png_of

    refs = references.build(synthetic, "none", pen=pen_pictures(references.spaces.get("none"), pen))
    path = tmp_path / "seven.png"
    path.write_bytes(png_of(synthetic_digit(7, np.random.default_rng(2))))
    out = predict_files(refs, [path], k=40)[0]
    sources = {nb["source"] for nb in out["neighbours"]}
    assert sources <= {"mnist", "pen"} and "pen" in sources
    assert all(("writer" in nb) == (nb["source"] == "pen") for nb in out["neighbours"])
    json.dumps(out)


def test_each_fold_is_measured_without_its_own_writers(synthetic, pen):
    e = evaluate_folds(synthetic, pen, folds=3, space="none", k=1)
    assert e.folds == [[1, 4], [2, 5], [3, 6]] and len(e.accuracy) == 3
    assert e.references == [2 * 40] * 3 and e.n == len(pen)
    assert e.low <= e.mean <= e.high and 0 <= e.low and e.high <= 1


def test_nested_folds_choose_on_other_writers_than_they_measure(synthetic, pen):
    """Every inner measurement keeps the outer fold out of both its index and its queries; the outer fold
    is measured once, with the setting its inner folds scored best and every other writer in the index."""
    from knn.evaluate import evaluate_nested, setting_name

    e = evaluate_nested(synthetic, pen, folds=3, space="learned", ks=(1, 3))
    everyone = {d.writer for d in pen}
    assert e.folds == [[1, 4], [2, 5], [3, 6]] and len(e.accuracy) == len(e.shipped) == 3
    for outer, chosen, inner in zip(e.folds, e.chosen, e.inner):
        outer = set(outer)
        mine = [s for s in e.steps if s["outer"] == outer]
        choosing = [s for s in mine if s["measured"] != outer]
        assert len(choosing) == 2 * 2  # two inner folds, each with and without the styled copies
        for s in choosing:
            assert not outer & (s["measured"] | s["index"]) and not s["measured"] & s["index"]
            assert s["measured"] | s["index"] == everyone - outer
        measuring = [s for s in mine if s["measured"] == outer]
        assert measuring and all(s["index"] == everyone - outer for s in measuring)
        best = max(inner.values())
        name = setting_name(chosen["k"], chosen["copies"])
        assert inner[name] == best and list(inner).index(name) == list(inner.values()).index(best)
    for s in e.steps:  # no network learned from the writers measured, nor from the outer fold
        assert s["networks_never_saw"] is None or s["outer"] | s["measured"] <= s["networks_never_saw"]
    outer_steps = [s for s in e.steps if s["measured"] == s["outer"]]  # networks that learned from the others
    assert [s["networks_never_saw"] for s in outer_steps] == [frozenset(range(f, 31, 3)) for f in (1, 2, 3)]
    assert 0 <= e.low <= e.mean <= e.high <= 1 and set(e.by_width) == {8, 12, 16, 20, 24, 32, 40}
    assert json.dumps(e.summary())  # plain JSON: the writer sets as sorted lists


def _distance_to_path(points, strokes) -> np.ndarray:
    """Each point's distance to the nearest segment of a pen path."""
    segs = np.concatenate([np.stack([s[:-1], s[1:]], 1) for s in map(np.asarray, strokes) if len(s) > 1])
    a, b = segs[:, 0], segs[:, 1]
    ab = b - a
    t = np.clip(np.einsum("pmk,mk->pm", points[:, None] - a, ab) / np.maximum((ab ** 2).sum(1), 1e-12), 0, 1)
    return np.linalg.norm(points[:, None] - (a + t[..., None] * ab), axis=2).min(1)


def test_varied_strokes_stay_near_the_path_and_are_seeded(pen):
    from knn.augment import vary_strokes

    d = pen[14]  # writer 2's 4
    size = float(np.ptp(np.concatenate(d.strokes), 0).max())
    same = vary_strokes(d.strokes, np.random.default_rng(0), amount=0.0)
    assert len(same) == len(d.strokes) and _distance_to_path(np.concatenate(same), d.strokes).max() < 1e-9
    assert all(np.allclose(s[[0, -1]], o[[0, -1]]) for s, o in zip(same, d.strokes))  # ends kept at amount 0
    counts, far = [], []
    for seed in range(60):
        varied = vary_strokes(d.strokes, np.random.default_rng(seed))
        counts.append(len(varied))
        far.append(_distance_to_path(np.concatenate(varied), d.strokes).max() / size)
    assert max(far) < 0.35 and np.median(far) > 0.02  # every variant moves, none beyond a third of the digit
    assert min(counts) == len(d.strokes) and max(counts) > len(d.strokes)  # a pen lift now and then splits a stroke
    again = vary_strokes(d.strokes, np.random.default_rng(7))
    assert all(np.array_equal(a, b) for a, b in zip(again, vary_strokes(d.strokes, np.random.default_rng(7))))


def test_varied_pen_pictures_are_other_drawings_of_the_same_digits(pen):
    space = references.spaces.get("none")
    plain, varied = pen_pictures(space, pen), pen_pictures(space, pen, varied=True)
    assert np.array_equal(plain.labels, varied.labels) and np.array_equal(plain.writers, varied.writers)
    differ = np.any(plain.pictures != varied.pictures, axis=(1, 2))
    assert differ.all()
    assert np.array_equal(pen_pictures(space, pen, varied=True).pictures, varied.pictures)  # kept on disk, same again


def test_drawing_pen_pictures_from_nothing_says_so_before_the_first_drawing(pen, monkeypatch):
    """The first-start builder answers from its first index once the full build reports work done from nothing
    (ui.warmup): the pen drawings, its first part, report 0 of all at once; read from disk, nothing."""
    from knn import pen as pen_module, progress

    space, seen, drawings = references.spaces.get("none"), [], []
    place = pen_module.place
    monkeypatch.setattr(pen_module, "place", lambda *a, **kw: drawings.append(1) or place(*a, **kw))
    with progress.watching(lambda what, done, total: seen.append((what, done, total, len(drawings)))):
        first = pen_pictures(space, pen, seed=11)
    assert seen[0] == ("pen digits drawn on the canvas", 0, 2 * len(pen), 0)  # before any drawing is made
    assert len(drawings) == 2 * len(pen)
    seen.clear()
    with progress.watching(lambda *report: seen.append(report)):
        again = pen_pictures(space, pen, seed=11)
    assert seen == [] and np.array_equal(again.pictures, first.pictures)  # kept on disk: no work, no report
