"""Preprocessing: any picture -> MNIST format, and the transforms shared with the index."""

import io

import numpy as np
import pytest
from PIL import Image

from knn.preprocess import ImageError, NothingDrawn, deskew, mnist_steps, read_image, thicken, to_mnist

pytestmark = pytest.mark.unit


def png(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def bar_image(size=280, fg=255, bg=0):
    """A vertical bar, off-centre, as a digit 1 would be drawn."""
    a = np.full((size, size), bg, np.uint8)
    a[40:200, 30:60] = fg
    return a


def test_mnist_recipe_box_and_centre():
    out = to_mnist(bar_image())
    assert out.shape == (28, 28) and out.dtype == np.uint8
    ys, xs = np.nonzero(out > 50)
    assert ys.max() - ys.min() + 1 in (19, 20, 21)  # longer side 20 px
    assert xs.max() - xs.min() + 1 <= 6  # aspect ratio kept: a thin bar stays thin
    m = out.astype(float)
    cy = (m.sum(1) @ np.arange(28)) / m.sum()
    cx = (m.sum(0) @ np.arange(28)) / m.sum()
    assert abs(cy - 13.5) <= 0.6 and abs(cx - 13.5) <= 0.6


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "I;16", "LA", "1"])
def test_modes_white_on_black(mode):
    img = Image.fromarray(bar_image())
    if mode == "I;16":
        img = Image.fromarray(bar_image().astype(np.uint16) * 257)
    else:
        img = img.convert(mode)
    out = to_mnist(png(img))
    np.testing.assert_allclose(out, to_mnist(bar_image()), atol=3)


def test_dark_on_light_is_detected():
    a = to_mnist(bar_image(fg=20, bg=240))
    np.testing.assert_allclose(a.astype(int), to_mnist(bar_image()).astype(int), atol=3)


def test_ink_from_alpha_on_transparent_canvas():
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[40:200, 30:60] = (0, 0, 0, 255)  # black strokes on a transparent canvas
    np.testing.assert_allclose(to_mnist(rgba).astype(int), to_mnist(bar_image()).astype(int), atol=3)
    rgba[40:200, 30:60] = (255, 255, 255, 255)  # white strokes on a transparent canvas
    np.testing.assert_allclose(to_mnist(rgba).astype(int), to_mnist(bar_image()).astype(int), atol=3)


def test_jpeg_and_exif_rotation():
    img = Image.fromarray(bar_image().T.copy())  # a horizontal bar...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...stored rotated: viewers turn it 90 degrees clockwise
    out = to_mnist(png(img.convert("RGB"), "JPEG", exif=exif))
    ys, xs = np.nonzero(out > 50)
    assert np.ptp(ys) > np.ptp(xs)  # upright after honouring EXIF


@pytest.mark.parametrize("blank", [np.zeros((280, 280), np.uint8), np.full((50, 80), 255, np.uint8),
                                   np.zeros((280, 280, 4), np.uint8)])
def test_nothing_drawn(blank):
    with pytest.raises(NothingDrawn, match="Nothing drawn"):
        to_mnist(blank)
    with pytest.raises(NothingDrawn):
        to_mnist(png(Image.fromarray(blank)))


@pytest.mark.parametrize("data,msg", [
    (b"", "empty"),
    (b"not an image at all", "not an image"),
    (png(Image.fromarray(bar_image()))[:200], "damaged|truncated|not an image"),
])
def test_unreadable_bytes(data, msg):
    with pytest.raises(ImageError, match=msg):
        read_image(data)


def test_huge_declared_size_is_refused_before_decoding():
    big = Image.new("1", (9000, 9000))  # 81 Mpx, tiny file
    with pytest.raises(ImageError, match="too large"):
        read_image(png(big))


def test_single_pixel_and_tiny_images():
    a = np.zeros((1, 1), np.uint8)
    with pytest.raises(NothingDrawn):
        to_mnist(a)
    dot = np.zeros((28, 28), np.uint8)
    dot[5, 5] = 255
    out = to_mnist(dot)
    assert out.max() > 0 and out.shape == (28, 28)


def test_bad_arrays():
    with pytest.raises(ImageError, match="shape"):
        read_image(np.zeros((3, 3, 3, 3)))
    with pytest.raises(ImageError, match="NaN"):
        read_image(np.full((5, 5), np.nan))


def test_steps_are_consistent():
    s = mnist_steps(read_image(bar_image()))
    assert s.box == (40, 30, 200, 60)
    assert max(s.fitted.shape) == 20
    assert s.centred.shape == (28, 28)


def test_deskew_straightens_a_slanted_bar():
    a = np.zeros((1, 28, 28), np.uint8)
    for y in range(4, 24):
        x = 8 + (y - 4) * 12 // 20  # leans right by 12 px over 20 rows
        a[0, y, x:x + 3] = 255
    d = deskew(a)[0].astype(float)
    cols = [(d[y] @ np.arange(28)) / d[y].sum() for y in range(6, 22)]
    assert np.ptp(cols) < 2.0  # was 12 before
    assert abs(d.sum() - a.sum()) / a.sum() < 0.1  # ink preserved


def test_thicken_widens_every_stroke_by_a_pixel_each_side():
    a = np.zeros((1, 28, 28), np.uint8)
    a[0, 5:20, 13] = 200
    t = thicken(a)[0]
    assert t.shape == (28, 28) and t.dtype == np.uint8
    assert (t[5:20, 12:15] == 200).all() and t[4, 13] == 200 and t[4, 12] == 0  # a 3x3 cross, grey levels kept
    assert np.array_equal(thicken(a)[0] >= a[0], np.ones((28, 28), bool))
