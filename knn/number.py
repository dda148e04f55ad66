"""Several digits in one picture: split the ink into digits left to right, read each one.

:func:`split` finds the pieces of connected ink (8-connected, at the ink
level the preprocessing crops at), drops specks, and merges pieces that
share most of their horizontal extent (a 5's detached flag, a 7's crossing
bar, a 4 written in two strokes); a mark far smaller than the tallest digit
(a dot, a short flag) joins its nearest neighbour. What is left, ordered by
x, are the digits; people leave gaps between the digits
of a number, so digits that touch are read as one. :func:`read_number`
answers each digit with :func:`knn.answer.answer` (its own vote, gallery
and certainty) and gives the string. A picture of one digit is read whole,
exactly as :func:`knn.answer.answer` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from knn.preprocess import INK_LEVEL, NothingDrawn, read_image

SPECK = 0.03  # a piece with less ink than this share of the largest piece is a speck, not a stroke
SMALL = 0.35  # a group whose height and width are both under this share of the tallest one's height is a mark, not a digit
OVERLAP = 0.5  # pieces sharing this share of the narrower one's width belong to one digit
MAX_DIGITS = 12  # a picture with more digits than this is refused
MARGIN = 0.15  # each digit is cut out with this share of its longer side around it


class TooManyDigits(ValueError):
    """More pieces than MAX_DIGITS: not a number the page reads."""


@dataclass(frozen=True)
class Part:
    """One digit of a number: where it lies in the ink map and its ink alone."""

    box: tuple  # (top, left, bottom, right), exclusive, in the ink map
    ink: np.ndarray  # float32: the digit's ink only (other digits' ink removed), with a margin


def _merged(boxes: list) -> list:
    """Groups (lists of piece indices) of pieces whose x-extents overlap by OVERLAP of the narrower, ordered by x."""
    groups = [([j], b[1], b[3]) for j, b in enumerate(boxes)]
    changed = True
    while changed:
        changed = False
        groups.sort(key=lambda g: (g[1] + g[2]) / 2)
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                (ja, la, ra), (jb, lb, rb) = groups[a], groups[b]
                shared = min(ra, rb) - max(la, lb)
                if shared >= OVERLAP * max(1, min(ra - la, rb - lb)):
                    groups[a] = (ja + jb, min(la, lb), max(ra, rb))
                    del groups[b]
                    changed = True
                    break
            if changed:
                break
    return [sorted(g[0]) for g in groups]


def _extent(boxes: list, group: list) -> tuple:
    """(top, left, bottom, right) around the pieces of a group."""
    return (min(boxes[j][0] for j in group), min(boxes[j][1] for j in group),
            max(boxes[j][2] for j in group), max(boxes[j][3] for j in group))


def _attached(groups: list, boxes: list) -> list:
    """Groups far smaller than the tallest one (a dot, a detached flag) joined to their nearest neighbour along x."""
    def extent(g):
        return _extent(boxes, g)

    tallest = max(extent(g)[2] - extent(g)[0] for g in groups)
    j = 0
    while len(groups) > 1 and j < len(groups):
        t, lft, b, r = extent(groups[j])
        if max(b - t, r - lft) >= SMALL * tallest:
            j += 1
            continue
        gaps = [max(0, max(lft, e[1]) - min(r, e[3])) if i != j else np.inf
                for i, e in enumerate(map(extent, groups))]
        nearest = int(np.argmin(gaps))
        groups[nearest] = sorted(groups[nearest] + groups[j])
        del groups[j]
        j = 0
    return groups


def split(ink: np.ndarray) -> list:
    """An ink map (H, W) in [0, 1] -> its digits as Parts, left to right. Raises NothingDrawn, TooManyDigits."""
    ink = np.asarray(ink, np.float32)
    labels, n = ndimage.label(ink >= INK_LEVEL, structure=np.ones((3, 3), bool))
    if not n:
        raise NothingDrawn()
    mass = ndimage.sum_labels(ink, labels, np.arange(1, n + 1))
    keep = [j for j in range(n) if mass[j] >= SPECK * mass.max()]
    slices = ndimage.find_objects(labels)
    boxes = [(slices[j][0].start, slices[j][1].start, slices[j][0].stop, slices[j][1].stop) for j in keep]
    groups = _attached(_merged(boxes), boxes)
    if len(groups) > MAX_DIGITS:
        raise TooManyDigits(f"The picture holds {len(groups)} separate marks; a number may have at most {MAX_DIGITS} digits.")
    h, w = ink.shape
    parts = []
    for g in groups:
        members = [keep[j] + 1 for j in g]
        t, lft, b, r = _extent(boxes, g)
        m = int(np.ceil(MARGIN * max(b - t, r - lft))) + 1
        t0, l0, b0, r0 = max(0, t - m), max(0, lft - m), min(h, b + m), min(w, r + m)
        window = labels[t0:b0, l0:r0]
        # the digit's own ink, with the faint anti-aliased edge around it (below the ink level, unlabelled)
        mine = np.isin(window, members)
        edge = (window == 0) & ndimage.binary_dilation(mine, iterations=2)
        own = np.where(mine | edge, ink[t0:b0, l0:r0], 0)
        out = np.zeros((b0 - t0 + 2 * m, r0 - l0 + 2 * m), np.float32)  # a margin of background all round
        out[m:m + own.shape[0], m:m + own.shape[1]] = own
        parts.append(Part(box=(t, lft, b, r), ink=out))
    return parts


@dataclass(frozen=True)
class Number:
    """A picture read as a string of digits: the string and each digit's answer, left to right."""

    digits: str  # every digit's vote, left to right
    parts: tuple  # Parts, left to right
    answers: tuple  # knn.answer.Answer of each part


def pieces(picture) -> tuple:
    """(parts, pictures to read): a picture of one digit is read as it is, one of several digits digit by digit
    (each Part's ink). Raises ImageError (NothingDrawn), TooManyDigits."""
    parts = split(read_image(picture))
    return parts, ([picture] if len(parts) == 1 else [p.ink for p in parts])


def read_number(refs, picture, k=None, voting: str = "uniform", taught=None) -> Number:
    """Read a picture of a number (see :func:`knn.preprocess.read_image`) digit by digit.

    A picture of one digit is read whole, as :func:`knn.answer.answer` reads
    it, specks and all. Raises ImageError (NothingDrawn), TooManyDigits, and
    ValueError for a k out of range.
    """
    from knn.answer import answer

    parts, inks = pieces(picture)
    answers = tuple(answer(refs, ink, k, voting, taught) for ink in inks)
    return Number(digits="".join(str(a.prediction) for a in answers), parts=tuple(parts), answers=answers)
