"""Drawings as strokes (knn.sketch): the canvas's paths read and drawn, and links that carry them."""

import base64
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from knn.drawn import BROWSER_DIGITS, pen
from knn.sketch import MAX_LINK, LinkError, Sketch, from_fabric, pack, unpack

pytestmark = pytest.mark.unit

# a stroke as the canvas (fabric.js 7) sent it for a mouse-drawn 7: quadratic curves, placed by its centre
SEVEN = {"objects": [{
    "type": "Path", "originX": "center", "originY": "center", "left": 139.3629, "top": 146.009, "strokeWidth": 18,
    "scaleX": 1, "scaleY": 1, "angle": 0,
    "path": [["M", 64.982, 55], ["Q", 65, 55, 71, 54.5], ["Q", 77, 54, 83.5, 54], ["Q", 90, 54, 96, 53.5],
             ["Q", 102, 53, 108.5, 53], ["Q", 115, 53, 121, 52.5], ["Q", 127, 52, 133.5, 52],
             ["Q", 140, 52, 146, 52], ["Q", 152, 52, 158.5, 52.5], ["Q", 165, 53, 171, 53],
             ["Q", 177, 53, 183.5, 53.5], ["Q", 190, 54, 196, 54], ["Q", 202, 54, 208.5, 54.5],
             ["Q", 215, 55, 211, 62], ["Q", 207, 69, 203.5, 76], ["Q", 200, 83, 196, 90],
             ["Q", 192, 97, 188.5, 104], ["Q", 185, 111, 181, 118], ["Q", 177, 125, 173.5, 132.5],
             ["Q", 170, 140, 166, 148], ["Q", 162, 156, 158.5, 164.5], ["Q", 155, 173, 151, 181.5],
             ["Q", 147, 190, 143.5, 198], ["Q", 140, 206, 132.5, 223], ["L", 124.982, 240.018]]}]}


def seven() -> Sketch:
    return from_fabric(SEVEN, (280, 280))


def test_a_canvas_stroke_is_read_where_it_was_drawn():
    s = seven()
    assert len(s) == 1 and s.widths == (18.0,) and s.size == (280, 280)
    pts = s.lines[0]
    assert np.allclose(pts[0], (65, 55), atol=0.25) and np.allclose(pts[-1], (125, 240), atol=0.25)
    assert np.all(np.hypot(*np.diff(pts, axis=0).T)[:-1] >= 1.0)  # thinned to a pixel apart, the end kept
    assert np.array_equal(pts * 4, np.round(pts * 4))  # quarter pixels


def test_a_moved_or_scaled_stroke_follows_its_object():
    moved = {"objects": [dict(SEVEN["objects"][0], left=139.36 + 30, top=146.01 - 10)]}
    there, here = from_fabric(moved, (280, 280)).lines[0], seven().lines[0]
    for end in (0, -1):
        assert np.allclose(there[end], here[end] + [30, -10], atol=1)
    big = {"objects": [dict(SEVEN["objects"][0], scaleX=2, scaleY=2)]}
    s = from_fabric(big, (280, 280))
    assert s.widths == (36.0,)
    assert np.ptp(s.lines[0][:, 1]) == pytest.approx(2 * np.ptp(seven().lines[0][:, 1]), abs=1)


def test_other_objects_and_an_empty_canvas_are_no_strokes():
    assert len(from_fabric(None, (280, 280))) == 0
    assert len(from_fabric({"objects": [{"type": "Rect", "left": 3}]}, (280, 280))) == 0
    assert len(from_fabric({"objects": [{"type": "Path", "path": []}]}, (280, 280))) == 0


def test_the_picture_is_the_stroke_drawn_with_the_pen():
    s = seven()
    picture = s.picture()
    assert picture.shape == (280, 280) and picture.dtype == np.uint8
    assert np.array_equal(picture, pen(s.lines, s.widths, (280, 280)))
    assert picture[55, 100] == 255 and picture[200, 40] == 0  # on the bar; far from any stroke


def test_the_canvas_shows_the_same_strokes_it_is_given():
    s = seven()
    assert from_fabric(s.to_fabric(), s.size) == s
    dot = Sketch((280, 280), (np.array([[100.0, 100.0]]),), (20.0,))
    assert from_fabric(dot.to_fabric(), dot.size) == dot


def test_a_link_holds_the_drawing_exactly_and_briefly():
    s = seven()
    text = pack(s)
    assert unpack(text) == s and len(text) < 400
    lines = [np.round(np.asarray(line, float) * 4) / 4 for line in BROWSER_DIGITS[0]]
    wide = Sketch((720, 240), tuple(lines) * 3, (18.0, 8.25, 40.0))
    assert unpack(pack(wide)) == wide


@settings(max_examples=40, deadline=None)
@given(hs.lists(hs.lists(hs.tuples(hs.integers(-40, 1200), hs.integers(-40, 1200)), min_size=1, max_size=60),
                min_size=1, max_size=12),
       hs.integers(1, 160))
def test_any_sketch_round_trips(strokes, width4):
    s = Sketch((720, 240), tuple(np.array(p, float) / 4 for p in strokes), tuple([width4 / 4] * len(strokes)))
    assert unpack(pack(s)) == s


def _raw(body: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(body)).decode().rstrip("=")


@pytest.mark.parametrize("text,says", [
    ("", "no drawing"),
    ("abc$%", "characters"),
    ("x" * (MAX_LINK + 1), "too long"),
    ("AAAA", "damaged"),
    (pack(Sketch((280, 280), (np.array([[10.0, 10.0], [50.0, 50.0]]),), (18.0,)))[:-6], "damaged"),
    (_raw(b"\x09" + b"\0" * 40), "another version"),
    (_raw(b"\x01" + (0).to_bytes(2, "little") + (280).to_bytes(2, "little") + (1).to_bytes(2, "little")), "out of range"),
    (_raw(b"\0" * 2_000_000), "larger"),  # a short text that inflates to 2 MB
])
def test_a_bad_link_says_what_is_wrong(text, says):
    with pytest.raises(LinkError, match=says):
        unpack(text)


def test_a_drawing_off_its_canvas_or_too_long_is_refused():
    far = Sketch((280, 280), (np.array([[0.0, 0.0], [5000.0, 10.0]]),), (18.0,))
    with pytest.raises(LinkError):
        unpack(pack(far))
    many = Sketch((280, 280), tuple(np.array([[float(j), 1.0]]) for j in range(65)), (2.0,) * 65)
    with pytest.raises(LinkError, match="too many strokes"):
        pack(many)
