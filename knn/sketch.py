"""A drawing as strokes: what the page's canvas sends, drawn as the canvas draws it, and packed into a link.

The canvas (fabric.js) sends each stroke as a path of quadratic curves in
canvas pixels, with its pen width and its own transform (a stroke moved in
the canvas's edit mode keeps its path and changes its position).
:func:`from_fabric` turns that into :class:`Sketch` strokes: polylines in
canvas pixels, curves flattened, points rounded to a quarter pixel and
thinned to at least MIN_STEP apart. The page reads a drawing from those
strokes, drawn with :func:`knn.drawn.pen` (:meth:`Sketch.picture`), so a
drawing is the same picture whoever opens it: :func:`pack` writes a sketch
into a short URL-safe text and :func:`unpack` reads it back exactly;
:meth:`Sketch.to_fabric` gives the canvas the same strokes to show.

:func:`unpack` reads text from strangers' links: it bounds the text, the
inflated bytes, the strokes, the points and the coordinates before trusting
any of them, and says in a LinkError what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from knn.drawn import pen

QUANTUM = 4  # points are kept in quarter pixels
MIN_STEP = 1.0  # canvas px: a point nearer than this to the last one kept is dropped (the last point stays)
MOVED = 2.0  # canvas px: a stroke whose place differs more than this from its points' was moved in edit mode
MAX_STROKES = 64
MAX_POINTS = 4000  # in all strokes together
MAX_LINK = 8000  # characters of packed text a link may carry
MAX_SIDE = 2000  # canvas px: the largest canvas a sketch may claim
VERSION = 1
_HEAD = struct.Struct("<BHHH")  # version, canvas width, canvas height, strokes
_STROKE = struct.Struct("<HH")  # pen width in quarter pixels, points
_TEXT = re.compile(r"[A-Za-z0-9_-]+")


class LinkError(ValueError):
    """A link's drawing cannot be read; the message says why, for the visitor."""


@dataclass(frozen=True)
class Sketch:
    """Strokes on a canvas of ``size`` = (width, height) px: polylines (n, 2) of (x, y) and their pen widths."""

    size: tuple
    lines: tuple  # of float64 (n, 2) arrays, multiples of 1 / QUANTUM
    widths: tuple  # of floats, multiples of 1 / QUANTUM

    def __len__(self) -> int:
        return len(self.lines)

    def __eq__(self, other) -> bool:
        return (isinstance(other, Sketch) and tuple(self.size) == tuple(other.size) and self.widths == other.widths
                and len(self.lines) == len(other.lines)
                and all(np.array_equal(a, b) for a, b in zip(self.lines, other.lines)))

    @property
    def n_points(self) -> int:
        return sum(len(line) for line in self.lines)

    def picture(self) -> np.ndarray:
        """The strokes drawn white on black, as the canvas draws them: uint8 (height, width)."""
        return pen(self.lines, self.widths, (self.size[1], self.size[0]))

    def to_fabric(self, color: str = "#FFFFFF") -> dict:
        """The canvas's drawing (fabric.js JSON) showing these strokes: one path of straight lines each."""
        objects = []
        for line, width in zip(self.lines, self.widths):
            lo, hi = line.min(0), line.max(0)
            centre = (lo + hi) / 2
            path = [["M", *map(float, line[0])]] + [["L", *map(float, p)] for p in line[1:]]
            if len(line) == 1:
                path.append(["L", *map(float, line[0])])  # a dot: a path of no length, drawn with round caps
            objects.append({
                "type": "Path", "version": "7.4.0", "originX": "center", "originY": "center",
                "left": float(centre[0]), "top": float(centre[1]),
                "width": float(hi[0] - lo[0]), "height": float(hi[1] - lo[1]),
                "fill": None, "stroke": color, "strokeWidth": float(width), "strokeLineCap": "round",
                "strokeLineJoin": "round", "scaleX": 1, "scaleY": 1, "angle": 0, "path": path})
        return {"version": "7.4.0", "objects": objects}


def _quantize(points: np.ndarray) -> np.ndarray:
    """Round to quarter pixels and drop points nearer than MIN_STEP to the last kept (keeping the end)."""
    q = np.round(np.asarray(points, np.float64) * QUANTUM) / QUANTUM
    keep = [0]
    for j in range(1, len(q)):
        if np.hypot(*(q[j] - q[keep[-1]])) >= MIN_STEP:
            keep.append(j)
    if keep[-1] != len(q) - 1 and np.any(q[-1] != q[keep[-1]]):
        keep.append(len(q) - 1)  # the stroke's end, however near
    return q[keep]


def _flatten(path) -> np.ndarray:
    """A fabric path (M, L, Q and C commands, absolute coordinates) -> points along it."""
    pts, at = [], None
    for cmd in path:
        op, args = str(cmd[0]).upper(), [float(v) for v in cmd[1:]]
        if op in ("M", "L") and len(args) >= 2:
            at = np.array(args[:2])
            pts.append(at)
        elif op == "Q" and len(args) >= 4 and at is not None:
            c, end = np.array(args[:2]), np.array(args[2:4])
            for t in np.linspace(0, 1, 9)[1:]:
                pts.append((1 - t) ** 2 * at + 2 * (1 - t) * t * c + t * t * end)
            at = end
        elif op == "C" and len(args) >= 6 and at is not None:
            c1, c2, end = np.array(args[:2]), np.array(args[2:4]), np.array(args[4:6])
            for t in np.linspace(0, 1, 13)[1:]:
                pts.append((1 - t) ** 3 * at + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t * t * c2 + t ** 3 * end)
            at = end
    return np.array(pts, np.float64).reshape(-1, 2)


def _placed(obj: dict, pts: np.ndarray) -> np.ndarray:
    """A path's own points -> canvas px, through the object's scale, flip, rotation and position.

    fabric keeps a path's points as drawn and places the object by the centre
    of its bounds (``left``, ``top`` with origin "center"). A stroke never
    moved is where its points are, and is taken so: fabric's bounds of a
    curve differ from these points' by up to a pixel, which would shift it.
    One dragged, scaled or turned in the canvas's edit mode is moved with its
    centre.
    """
    lo, hi = pts.min(0), pts.max(0)
    mid = (lo + hi) / 2
    sx = float(obj.get("scaleX", 1) or 1) * (-1 if obj.get("flipX") else 1)
    sy = float(obj.get("scaleY", 1) or 1) * (-1 if obj.get("flipY") else 1)
    angle = float(obj.get("angle", 0) or 0)
    centre = np.array([float(obj.get("left", mid[0])), float(obj.get("top", mid[1]))])
    if obj.get("originX", "center") != "center" or obj.get("originY", "center") != "center":
        box = (hi - lo + float(obj.get("strokeWidth", 0))) * np.abs([sx, sy])
        centre = centre + box / 2 * [obj.get("originX") != "center", obj.get("originY") != "center"]
    if sx == 1 and sy == 1 and angle == 0 and np.all(np.abs(centre - mid) < MOVED):
        return pts
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return ((pts - mid) * [sx, sy]) @ rot.T + centre


def from_fabric(drawing, size: tuple) -> Sketch:
    """The canvas's JSON (``st_canvas(...).json_data``) -> the Sketch the page reads; non-path objects are ignored."""
    lines, widths = [], []
    for obj in (drawing or {}).get("objects") or []:
        if str(obj.get("type", "")).lower() != "path" or not obj.get("path"):
            continue
        pts = _flatten(obj["path"])
        if not len(pts) or not np.all(np.isfinite(pts)):
            continue
        placed = _quantize(_placed(obj, pts))
        scale = float(obj.get("scaleX", 1) or 1)
        widths.append(float(np.round(float(obj.get("strokeWidth", 1)) * abs(scale) * QUANTUM) / QUANTUM))
        lines.append(placed)
    return Sketch(tuple(size), tuple(lines), tuple(widths))


def pack(sketch: Sketch) -> str:
    """A sketch -> URL-safe text (zlib and base64): what a link carries. Raises LinkError if too long."""
    if len(sketch) > MAX_STROKES or sketch.n_points > MAX_POINTS:
        raise LinkError(f"This drawing has too many strokes to share as a link ({len(sketch)} strokes, "
                        f"{sketch.n_points} points; at most {MAX_STROKES} and {MAX_POINTS}).")
    raw = [_HEAD.pack(VERSION, *map(int, sketch.size), len(sketch))]
    raw += [_STROKE.pack(int(round(w * QUANTUM)), len(line)) for line, w in zip(sketch.lines, sketch.widths)]
    if len(sketch):
        q = np.round(np.concatenate(sketch.lines) * QUANTUM).astype(np.int64)
        steps = np.diff(q, axis=0, prepend=np.zeros((1, 2), np.int64))
        if np.abs(steps).max() >= 2 ** 15:
            raise LinkError("This drawing reaches too far off the canvas to share as a link.")
        raw.append(steps.astype("<i2").tobytes())
    text = base64.urlsafe_b64encode(zlib.compress(b"".join(raw), 9)).decode("ascii").rstrip("=")
    if len(text) > MAX_LINK:
        raise LinkError(f"This drawing is too long to share as a link ({len(text):,} characters; at most {MAX_LINK:,}).")
    return text


def unpack(text: str) -> Sketch:
    """Packed text from a link -> the Sketch; a LinkError says why text cannot be one."""
    if not isinstance(text, str) or not text:
        raise LinkError("This link holds no drawing.")
    if len(text) > MAX_LINK:
        raise LinkError(f"This link's drawing is too long ({len(text):,} characters; at most {MAX_LINK:,}).")
    if not _TEXT.fullmatch(text):
        raise LinkError("This link's drawing is damaged: it holds characters a shared drawing never has.")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflate = zlib.decompressobj()
        most = _HEAD.size + MAX_STROKES * _STROKE.size + MAX_POINTS * 4
        raw = inflate.decompress(data, most + 1)
    except (binascii.Error, ValueError, zlib.error):
        raise LinkError("This link's drawing is damaged (it may have been cut short when copied).") from None
    if len(raw) > most or inflate.unconsumed_tail:
        raise LinkError("This link's drawing is larger than any drawing the page shares.")
    if not inflate.eof:
        raise LinkError("This link's drawing is damaged (it may have been cut short when copied).")
    if len(raw) < _HEAD.size:
        raise LinkError("This link's drawing is damaged (it may have been cut short when copied).")
    version, width, height, n = _HEAD.unpack_from(raw)
    if version != VERSION:
        raise LinkError(f"This link was made by another version of the page (drawing format {version}; this page reads {VERSION}).")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE) or n > MAX_STROKES:
        raise LinkError("This link's drawing is damaged: its canvas or stroke count is out of range.")
    head = _HEAD.size + n * _STROKE.size
    if len(raw) < head:
        raise LinkError("This link's drawing is damaged (it may have been cut short when copied).")
    strokes = [_STROKE.unpack_from(raw, _HEAD.size + j * _STROKE.size) for j in range(n)]
    counts = [c for _, c in strokes]
    total = sum(counts)
    if total > MAX_POINTS or any(c < 1 for c in counts) or any(not 1 <= w <= 400 for w, _ in strokes):
        raise LinkError("This link's drawing is damaged: a stroke is empty, too long or too wide.")
    if len(raw) != head + 4 * total:
        raise LinkError("This link's drawing is damaged (it may have been cut short when copied).")
    q = np.cumsum(np.frombuffer(raw, "<i2", offset=head).reshape(-1, 2).astype(np.int64), axis=0)
    pts = q / QUANTUM
    if len(pts) and (pts.min() < -MAX_SIDE or pts[:, 0].max() > 2 * width or pts[:, 1].max() > 2 * height):
        raise LinkError("This link's drawing is damaged: it lies far off its canvas.")
    lines = tuple(np.split(pts, np.cumsum(counts)[:-1])) if n else ()
    return Sketch((width, height), lines, tuple(w / QUANTUM for w, _ in strokes))
