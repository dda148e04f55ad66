"""Figures from arrays: shapes, values and labels a reader relies on."""

import numpy as np

from knn.figures import difference_heatmap, enlarge, framed, votes_chart


def test_enlarge_keeps_pixels_crisp():
    a = np.array([[0, 255], [128, 0]], np.uint8)
    big = enlarge(a, 10)
    assert big.shape == (12, 12)  # 5x per pixel, plus a 1-px frame
    assert (big[1:6, 6:11] == 255).all() and (big[6:11, 1:6] == 128).all()


def test_framed_centres():
    out = framed(np.ones((4, 2), np.float32), 6)
    assert out.shape == (6, 6) and out.sum() == 8 and out[1:5, 2:4].all()


def test_votes_chart_highlights_prediction():
    shares = np.zeros(10)
    shares[[3, 8]] = [0.6, 0.4]
    fig = votes_chart(shares, 3)
    bar = fig.data[0]
    assert list(bar.y) == list(shares) and bar.marker.color[3] != bar.marker.color[8]


def test_difference_heatmap_sums_to_distance():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 28, 28)).astype(np.uint8)
    fig = difference_heatmap(a, b, "l1")
    z = np.array(fig.data[0].z)
    assert z.sum() == np.abs(a.astype(int) - b).sum()
    assert f"{int(z.sum()):,}" in fig.layout.title.text
