"""Every comparison space (knn.spaces) answers the questions callers ask of it, on small synthetic digits."""

import numpy as np
import pytest

from helpers import SHAPES, synthetic_digit
from knn import learned, origins, spaces
from knn.drawn import render
from knn.preprocess import deskew, thicken

pytestmark = pytest.mark.unit
ALL = list(spaces.SPACES.values())


def test_registry_names_the_default_and_refuses_unknown_names():
    assert [s.name for s in ALL] == ["none", "deskew", "redraw", "thicken", "learned"]
    assert spaces.get("default") is spaces.DEFAULT is spaces.LEARNED and spaces.get("none") is spaces.NONE
    assert spaces.get(spaces.THICKEN) is spaces.THICKEN
    assert spaces.NAMES == ("none", "deskew", "redraw", "thicken", "learned", "default")
    with pytest.raises(ValueError, match=r"space must be one of \('none', .*'default'\); got 'fancy'"):
        spaces.get("fancy")


def test_families_put_the_default_first_and_the_best_of_each_first():
    fam = spaces.families()
    assert list(fam) == ["learned features", "pixels"]
    assert [s.name for s in fam["pixels"]] == ["thicken", "redraw", "deskew", "none"]
    assert [s.name for s in fam["learned features"]] == ["learned"]
    assert {s.default_k for s in fam["pixels"]} == {3} and spaces.LEARNED.default_k == 7
    assert len({s.title for s in ALL}) == len(ALL) and all(s.summary and s.description for s in ALL)


@pytest.mark.parametrize("space", ALL, ids=lambda s: s.name)
def test_read_redraws_hairlines_only_where_the_space_says(space):
    hairline = render(SHAPES[7], 6, 0.9, (140, 140))
    steps = space.read(hairline)
    assert steps.centred.shape == (28, 28) and steps.centred.dtype == np.uint8
    assert (steps.redrawn is not None) == space.redraws_hairlines
    assert space.redraws_hairlines == (space.name in ("redraw", "thicken", "learned"))


@pytest.mark.parametrize("space", ALL, ids=lambda s: s.name)
def test_vectors_are_what_the_engine_compares(space, synthetic):
    images = synthetic.train_images[:12]
    v = space.vectors(images)
    assert v.dtype == np.uint8 and v.shape == (12, 128 if space is spaces.LEARNED else 784)
    assert np.array_equal(v, space.vectors(images[::-1])[::-1])  # one vector per image, whatever the batch
    seen = space.pixels(images)
    deskews = getattr(space, "deskews", False)
    assert np.array_equal(seen, deskew(images) if deskews else images)
    if space is not spaces.LEARNED:
        assert np.array_equal(v, seen.reshape(12, 784))  # pixel spaces compare the pixels they see
    assert space.grid(v[0]).shape == ((8, 16) if space is spaces.LEARNED else (28, 28))
    if space is spaces.LEARNED:  # each network's 64 features as an 8x8 square, the two side by side
        assert np.array_equal(space.grid(v[0])[:, 8:].reshape(-1), v[0][64:])


@pytest.mark.parametrize("space", ALL, ids=lambda s: s.name)
def test_the_gallery_shows_what_the_space_compares(space, synthetic):
    picture = synthetic.train_images[3]
    vector = space.vectors(picture[None])[0]
    shown = space.display(vector, picture)
    assert shown.shape == (28, 28) and shown.dtype == np.uint8
    assert np.array_equal(shown, picture if space is spaces.LEARNED else vector.reshape(28, 28))
    last = space.last_step(space.pixels(picture[None])[0], vector)
    if space is spaces.NONE:
        assert last is None
    elif space is spaces.LEARNED:
        assert last[0].shape == (8, 16) and last[1] == "its 128 learned features (8×16)"
    else:
        assert np.array_equal(last[0], deskew(picture[None])[0]) and "deskewed" in last[1]


def test_copies_thickened_or_styled_or_none(synthetic):
    images, labels = synthetic.train_images[:60], synthetic.train_labels[:60]
    for space in (spaces.NONE, spaces.DESKEW, spaces.REDRAW):
        assert space.copies(images, labels) is None
    t = spaces.THICKEN.copies(images, labels)
    assert np.array_equal(t.pictures, thicken(images)) and np.array_equal(t.sources, np.arange(60))
    assert {origins.KINDS[k] for k in t.kinds} == {origins.THICKENED}
    s = spaces.LEARNED.copies(images, labels)
    assert s.pictures.shape == (len(s.sources), 28, 28) and set(labels[s.sources]) <= {1, 7, 9}
    assert {origins.KINDS[k] for k in s.kinds} == {origins.STYLED, origins.STYLED_REDRAWN}
    assert np.all(np.any(s.pictures != images[s.sources], axis=(1, 2)))  # every copy differs from its digit


def test_the_learned_space_keeps_copies_and_features_on_disk(synthetic, monkeypatch, tmp_path):
    import knn.spaces

    monkeypatch.setenv("KNN_CACHE", str(tmp_path))
    images, labels = synthetic.train_images[:40], synthetic.train_labels[:40]
    first = spaces.LEARNED.copies(images, labels)
    features = spaces.LEARNED.index_vectors(images)
    assert len(list(tmp_path.glob("copies-*.npz"))) == 1 and len(list(tmp_path.glob("features-*.npz"))) == 1
    monkeypatch.setattr(knn.spaces, "style_copies", lambda *a: pytest.fail("recomputed the copies"))
    monkeypatch.setattr(learned, "embedder", lambda: pytest.fail("recomputed the features"))
    assert np.array_equal(spaces.LEARNED.copies(images, labels).pictures, first.pictures)
    assert np.array_equal(spaces.LEARNED.index_vectors(images), features)


def test_identities_tell_every_space_and_network_apart():
    ids = [s.identity() for s in ALL]
    assert len({str(sorted(i.items())) for i in ids}) == len(ALL)
    learned_id = spaces.LEARNED.identity()
    assert learned_id["features"] == learned.fingerprint() and learned_id["copies"]
    assert spaces.NONE.identity() == {"space": "none"}


def test_a_synthetic_digit_is_a_digit_in_every_space():
    rng = np.random.default_rng(5)
    for space in ALL:
        steps = space.read(synthetic_digit(4, rng))
        assert steps.centred.max() > 200 and steps.fitted.shape[0] <= 20 and steps.fitted.shape[1] <= 20
