"""Thinning and redrawing strokes (knn.strokes), on shapes whose answer is known."""

import numpy as np
import pytest

from knn.strokes import redraw, thin

pytestmark = pytest.mark.unit


def holes(mask):
    """Background regions not touching the border (4-connected flood fill)."""
    bg = ~mask
    seen = np.zeros_like(bg)
    count = 0
    for y, x in zip(*np.nonzero(bg)):
        if seen[y, x]:
            continue
        stack, border = [(y, x)], False
        seen[y, x] = True
        while stack:
            cy, cx = stack.pop()
            border |= cy in (0, bg.shape[0] - 1) or cx in (0, bg.shape[1] - 1)
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < bg.shape[0] and 0 <= nx < bg.shape[1] and bg[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        count += not border
    return count


def test_a_thick_bar_thins_to_a_one_pixel_line():
    bar = np.zeros((40, 40), bool)
    bar[5:35, 16:24] = True  # 30 long, 8 wide
    sk = thin(bar)
    assert sk.sum(1)[8:32].max() == 1  # one pixel per row along the middle
    rows = np.nonzero(sk.any(1))[0]
    assert rows[-1] - rows[0] >= 20  # shortened by about half the width at each end, no more
    assert np.all(sk <= bar)


def test_a_ring_keeps_its_hole_and_thinning_is_idempotent():
    yy, xx = np.mgrid[:48, :48]
    r = np.hypot(yy - 24, xx - 24)
    ring = (r > 10) & (r < 17)
    sk = thin(ring)
    assert holes(ring) == holes(sk) == 1
    np.testing.assert_array_equal(thin(sk), sk)


def test_stacks_thin_like_single_images():
    rng = np.random.default_rng(0)
    masks = rng.random((5, 30, 30)) > 0.4
    np.testing.assert_array_equal(thin(masks), np.stack([thin(m) for m in masks]))


def test_redraw_draws_a_round_pen():
    dot = np.zeros((21, 21), bool)
    dot[10, 10] = True
    ink = redraw(dot, 4.0)
    assert ink.dtype == np.float32 and ink.max() == 1 and ink.min() == 0
    assert abs(ink.sum() - np.pi * 4.0 ** 2) < 3  # a disc of radius r (anti-aliased edge)
    np.testing.assert_allclose(ink, ink.T)  # round, not square


def test_thin_then_redraw_sets_the_pen_width():
    bar = np.zeros((50, 50), bool)
    bar[5:45, 17:33] = True  # 16 wide
    ink = redraw(thin(bar), 2.0)
    assert abs(ink[25].sum() - 4) < 0.5  # 2r
