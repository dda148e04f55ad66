"""References and answers (knn.references, knn.answer): records per neighbour, taught digits merged, on synthetic digits."""

import json

import numpy as np
import pytest

from helpers import png_of, synthetic_digit
from knn import origins, references, spaces
from knn.answer import answer, decide, decide_by_k, neighbours_csv, predict_files, search
from knn.figures import difference_map
from knn.preprocess import NothingDrawn, thicken

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def pixel_refs(synthetic):
    return references.build(synthetic, "none")


@pytest.fixture(scope="module")
def drawings():
    """Fresh canvas drawings of every digit, none of them in the synthetic training set."""
    rng = np.random.default_rng(99)
    return [(y, synthetic_digit(y, rng)) for y in range(10) for _ in range(2)]


def test_build_records_where_every_vector_came_from(synthetic, pixel_refs):
    n = len(synthetic.train_labels)
    assert len(pixel_refs) == pixel_refs.n_train == n and np.array_equal(pixel_refs.numbers, np.arange(n))
    assert np.array_equal(pixel_refs.labels, synthetic.train_labels)
    assert {origins.KINDS[k] for k in pixel_refs.kinds} == {origins.DIGIT}
    part = references.build(synthetic, "none", n_train=50, seed=3)
    assert len(part) == 50 and np.array_equal(part.picture(7), synthetic.train_images[part.numbers[7]])
    assert np.array_equal(part.numbers, references.build(synthetic, "none", n_train=50, seed=3).numbers)


def test_thickened_copies_follow_their_digits(synthetic):
    refs = references.build(synthetic, "thicken", n_train=30, seed=1)
    assert len(refs) == 60 and refs.n_train == 30 and np.array_equal(refs.numbers[30:], refs.numbers[:30])
    assert refs.origin(31).describe() == f"training #{refs.numbers[31]}, thickened" and refs.origin(31).caption.endswith("ᵗ")
    assert np.array_equal(refs.picture(31), thicken(synthetic.train_images[refs.numbers[31]][None])[0])
    assert np.array_equal(refs.labels[30:], refs.labels[:30])


@pytest.mark.parametrize("space", ["none", "thicken", "learned"])
def test_answers_carry_their_neighbours_as_records(synthetic, drawings, space):
    refs = references.build(synthetic, space)
    right = 0
    for label, picture in drawings:
        ans = answer(refs, picture, k=5)
        right += ans.prediction == label
        assert len(ans.neighbours) == 5 and ans.space is refs.space and ans.metric == "l1"
        assert np.all(np.diff(ans.distances) >= 0) and ans.shares.sum() == pytest.approx(1)
        assert ans.query.shape == (refs.index.dim,) and ans.image.shape == (28, 28)
    assert right >= 0.9 * len(drawings), right
    nb = ans.neighbours[0]
    i = int(refs.index.search(ans.query, 1)[1][0, 0])
    assert nb.origin == refs.origin(i) and nb.label == refs.labels[i]
    assert np.array_equal(nb.vector, refs.index.reconstruct(i)[0])
    assert np.array_equal(nb.picture, refs.space.display(nb.vector, refs.picture(i)))


@pytest.mark.parametrize("space", ["none", "learned"])
@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_a_difference_map_adds_up_to_the_neighbours_distance(synthetic, drawings, space, metric):
    refs = references.build(synthetic, space, metric)
    ans = answer(refs, drawings[5][1], k=3)
    for nb in ans.neighbours:
        _, cells = difference_map(ans.space.grid(ans.query), ans.space.grid(nb.vector))
        total = cells.sum() if metric == "l1" else np.sqrt((cells.astype(np.float64) ** 2).sum())
        assert total == pytest.approx(nb.distance, abs=1e-9) and cells.shape == ans.space.grid(ans.query).shape


def test_taught_digits_are_searched_by_the_engine_and_the_nearest_decides(pixel_refs, drawings):
    picture = drawings[8][1]  # a 4
    ans = answer(pixel_refs, picture, k=3)
    taught = references.taught(pixel_refs.space, "l1", ans.query[None], [9], ans.image[None])
    assert not taught.index.jit and len(taught) == 1  # a handful of digits: no compile
    mine = answer(pixel_refs, picture, k=3, taught=taught)
    own = mine.decided_by
    assert mine.prediction == 9 and own.origin.kind is origins.TAUGHT and own.distance == 0 and own.label == 9
    assert own.origin.describe() == "yours #1" and own.origin.caption == "★ yours"
    assert [nb.origin for nb in mine.neighbours] == [nb.origin for nb in ans.neighbours]  # the shared ones voted
    assert np.allclose(mine.shares, ans.shares) and ans.decided_by is None
    assert mine.by_k[:3] == (9, 9, 9)
    # on equal distance the shared reference comes first in the merged lists
    twin = pixel_refs.neighbours(*pixel_refs.index.search(ans.query, 1))[0]
    tie = references.taught(pixel_refs.space, "l1", twin.vector[None], [twin.label], twin.picture[None])
    dist, labels, which, pos, own_mask = (a[0] for a in search([pixel_refs, tie], ans.query[None], 3))
    assert which.tolist()[:2] == [0, 1] and dist[0] == dist[1] and own_mask.tolist()[:2] == [False, True]
    # beyond the radius, the visitor's digit does not count: the k nearest shared references vote
    other = answer(pixel_refs, drawings[0][1], k=3)
    elsewhere = references.taught(pixel_refs.space, "l1", other.query[None], [9], other.image[None])
    near, far = (answer(pixel_refs, picture, k=3, taught=elsewhere, radius=r) for r in (1e9, 0.5))
    assert near.prediction == 9 and near.decided_by.distance > 0
    assert far.decided_by is None and far.prediction == ans.prediction and far.by_k == ans.by_k
    with pytest.raises(ValueError, match="radius must be a distance ratio >= 0; got -1"):
        answer(pixel_refs, picture, k=3, taught=taught, radius=-1)


def test_the_nearest_own_digit_decides_within_the_radius():
    """decide and decide_by_k on hand-made neighbour lists: shared 9s at 10-16, the visitor's own 4 at d."""
    shared_d, shared_y = np.arange(10.0, 17.0), np.array([9, 9, 9, 9, 4, 4, 4])
    for own_d, k, radius, said in [(5, 3, 2.0, 4), (23, 3, 2.0, 4), (25, 3, 2.0, 9), (25, 7, 2.0, 4),
                                   (25, 3, 3.0, 4), (11, 3, 1.0, 4), (13, 3, 1.0, 9)]:
        d = np.r_[shared_d, own_d]
        order = np.argsort(d, kind="stable")
        y, own = np.r_[shared_y, 4][order], np.r_[np.zeros(7, bool), True][order]
        prediction, shares, decider = decide(d[order], y, own, k, radius=radius)
        assert prediction == said, (own_d, k, radius)
        assert (decider >= 0) == (own_d <= radius * shared_d[k - 1]) and (decider < 0 or own[decider])
        assert shares[9] == pytest.approx(1 if k == 3 else 4 / 7)  # the shared references' vote, shown as it is
        assert decide_by_k(d[order], y, own, 7, radius=radius)[k - 1] == prediction
    # a room's digits (☆) are not the visitor's own: they vote as shared references, one vote each
    room = references.taught("none", "l1", np.zeros((2, 784), np.uint8), [4, 4], np.zeros((2, 28, 28), np.uint8),
                             shared=2)
    assert not search([room, room], np.zeros((1, 784), np.uint8), 2)[4].any()


def test_gap_runner_up_and_bad_input(pixel_refs, drawings):
    ans = answer(pixel_refs, drawings[0][1], k=1)
    assert ans.runner_up != ans.prediction and ans.gap >= 0
    with pytest.raises(ValueError, match=f"k must be between 1 and {len(pixel_refs)}; got {len(pixel_refs) + 1}"):
        answer(pixel_refs, drawings[0][1], k=len(pixel_refs) + 1)
    with pytest.raises(NothingDrawn):
        answer(pixel_refs, np.zeros((280, 280), np.uint8))
    with pytest.raises(ValueError, match="voting must be one of"):
        answer(pixel_refs, drawings[0][1], voting="cubic")
    assert len(answer(pixel_refs, drawings[0][1]).neighbours) == spaces.NONE.default_k  # the space's own k


def test_neighbours_download_as_csv(pixel_refs, drawings):
    ans = answer(pixel_refs, drawings[3][1], k=4)
    lines = neighbours_csv(ans).splitlines()
    assert lines[0] == "rank,label,source,distance" and len(lines) == 5
    nb = ans.neighbours[0]
    assert lines[1] == f"1,{nb.label},{nb.origin.describe()},{nb.distance:g}"


def test_predict_files_in_one_batch(pixel_refs, drawings, tmp_path):
    paths = []
    for j, (_, picture) in enumerate(drawings[:4]):
        paths.append(tmp_path / f"d{j}.png")
        paths[-1].write_bytes(png_of(255 - picture))  # dark on light, as a scan
    (tmp_path / "bad.png").write_bytes(b"not a picture")
    out = predict_files(pixel_refs, [*paths, tmp_path / "bad.png", tmp_path / "missing.png"], k=3)
    assert [o["prediction"] for o in out[:4]] == [y for y, _ in drawings[:4]]
    assert "not an image" in out[4]["error"] and "No such file" in out[5]["error"]
    first = json.loads(json.dumps(out[0]))  # JSON as printed
    assert len(first["votes"]) == 10 and len(first["neighbours"]) == 3
    assert set(first["neighbours"][0]) == {"index", "label", "distance", "variant", "source"}
    assert [nb["distance"] for nb in first["neighbours"]] == sorted(nb["distance"] for nb in first["neighbours"])
