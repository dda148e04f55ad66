"""Figures from arrays: shapes, values and labels a reader relies on."""

import numpy as np
import pytest

from knn.figures import HEAT, data_uri, difference_map, for_display, framed, votes_html

pytestmark = pytest.mark.unit


def test_pictures_for_display_stay_small_and_exact():
    a = np.array([[0, 255], [128, 0]], np.uint8)
    assert for_display(a) is a or np.array_equal(for_display(a), a)  # small: sent as it is, the browser enlarges
    f = for_display(np.array([[0.0, 1.0], [0.5, 2.0]]))
    assert f.dtype == np.uint8 and f.tolist() == [[0, 255], [128, 255]]  # floats clipped to 0-1, then 0-255
    assert for_display(np.ones((3, 3), bool)).max() == 255
    big = np.zeros((300, 150), np.uint8)
    big[:, :75] = 255
    small = for_display(big, side=96)
    assert small.shape == (96, 48) and small[:, :23].min() == 255 and small[:, 25:].max() == 0  # averaged down


def test_framed_centres():
    out = framed(np.ones((4, 2), np.float32), 6)
    assert out.shape == (6, 6) and out.sum() == 8 and out[1:5, 2:4].all()


def test_votes_html_highlights_prediction():
    shares = np.zeros(10)
    shares[[3, 8]] = [0.6, 0.4]
    html = votes_html(shares, 3)
    assert html.count('title="digit') == 10
    assert "digit 3: 60% of the vote" in html and "digit 8: 40% of the vote" in html
    assert "height:60.0%" in html and "height:40.0%" in html  # bars as tall as the shares


def test_difference_map_totals_the_distance_and_shows_where():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 28, 28)).astype(np.uint8)
    d = np.abs(a.astype(int) - b)
    picture, cells = difference_map(a, b, size=280)
    assert np.array_equal(cells, d) and cells.sum() == d.sum()  # L1: the sum of the map; L2: the root of its squares
    assert picture.shape == (280, 280 + 8 + 12, 4) and picture.dtype == np.uint8
    same = np.argwhere(d == 0)[0]  # cells where the two agree are black
    assert (picture[same[0] * 10 + 5, same[1] * 10 + 5, :3] == 0).all()
    top = np.array([int(HEAT[-1][1][i:i + 2], 16) for i in (1, 3, 5)])  # the scale's top: 255 apart
    assert (picture[0, -1, :3] == top).all() and (picture[:, 280:288, 3] == 0).all()
    features, cells = difference_map(a.reshape(-1)[:64], b.reshape(-1)[:64], size=280)  # a square vector: 8x8
    assert features.shape[0] == 8 * 35 and cells.shape == (8, 8)
    wide, cells = difference_map(a[:8, :16], b[:8, :16], size=280)  # a grid keeps its shape: 8x16, 17 px cells
    assert cells.shape == (8, 16) and wide.shape[:2] == (8 * 17, 16 * 17 + 8 + 12)


def test_data_uris_carry_the_exact_pixels():
    import base64
    import io

    from PIL import Image

    a = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    uri = data_uri(a)
    assert uri.startswith("data:image/png;base64,")
    back = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    assert np.array_equal(back, a) and len(uri) < 2000  # lossless, and small enough to travel inside the page


def test_histograms_are_binned_before_they_are_sent():
    """Each group's bars add up to 100% of its own pictures, in a few dozen bars however many values there are."""
    from knn.figures import histograms

    rng = np.random.default_rng(0)
    groups = {"MNIST": rng.uniform(0, 1, 10_000), "pen": rng.uniform(0, 0.5, 7_494), "empty": np.zeros(0)}
    fig = histograms(groups, "credibility")
    assert [t.name for t in fig.data] == ["MNIST (10,000)", "pen (7,494)", "empty (0)"]
    for t in fig.data[:2]:
        assert len(t.x) <= 41 and sum(t.y) == pytest.approx(100)
    assert not any(fig.data[2].y)
    log = histograms({"likeness": 10.0 ** rng.uniform(-4, 0, 5000)}, "likeness", 0.01, log=True)
    assert len(log.data[0].x) <= 41 and sum(log.data[0].y) == pytest.approx(100)
    assert len(fig.to_json()) < 20_000
