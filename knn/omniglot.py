"""Drawings that are not digits: characters of other alphabets, from Omniglot's pen paths.

``../shared/data/omniglot/omniglot-strokes-dev.tar.gz`` holds 2,720
characters of five alphabets (Balinese, Early Aramaic, Greek, Korean,
Latin), 20 drawers each, drawn online by people (B. M. Lake et al.,
Science 2015). Each is a pen path with y growing upward. They measure
whether the app can tell a drawing that is not a digit from one that is.
Some Latin letters are drawn like digits (O, l, S, Z, b, q), so results
report the Latin alphabet apart (:data:`LOOKALIKE`).

:func:`load_omniglot` reads the archive without unpacking it;
:func:`omniglot_drawings` renders every character on the page's canvas the
way :mod:`knn.pen` renders pen digits (:func:`knn.drawn.place`).
"""

from __future__ import annotations

import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from knn.data import SHARED, DataError, find_file
from knn.drawn import WIDTHS, place

FILE = "omniglot-strokes-dev.tar.gz"
LOOKALIKE = "Latin"  # an alphabet with letters drawn like digits: reported apart
NOT_A_DIGIT = -1  # the label a non-digit drawing carries
MAX_MEMBER = 1 << 20  # bytes: a drawing's text file larger than this is refused
_NAME = re.compile(r"(?:^|/)([^/]+)/(character\d+)/(\d+)_(\d+)\.txt$")


@dataclass(frozen=True)
class Character:
    strokes: tuple  # of (m, 2) float arrays: (x, y), y growing downward as on a canvas
    alphabet: str
    character: str  # "character07"
    drawer: int  # 1-20


def find_omniglot(directory: Optional[str] = None) -> Path:
    """The archive: ``directory``, then $OMNIGLOT_DIR, then ``../shared/data/omniglot`` beside the project.
    Raises DataError saying where it looked."""
    return find_file(FILE, [os.environ.get("OMNIGLOT_DIR"), str(SHARED / "omniglot")], "Omniglot drawings",
                     f"Pass --omniglot-data DIR (the folder holding {FILE}) or set OMNIGLOT_DIR.", directory)


def parse(text: str, where: str = "drawing") -> tuple:
    """One drawing's text (START, x,y,t lines, BREAK after each stroke) -> its strokes, y flipped."""
    strokes, points = [], []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s in ("START", ""):
            continue
        if s == "BREAK":
            if points:
                strokes.append(np.asarray(points, np.float64))
            points = []
            continue
        try:
            x, y, _ = s.split(",")
            points.append((float(x), -float(y)))
        except ValueError:
            raise DataError(f"Omniglot: cannot read line {n} of {where} ({s[:40]!r})") from None
    if points:
        strokes.append(np.asarray(points, np.float64))
    if not strokes:
        raise DataError(f"Omniglot: {where} has no strokes")
    return tuple(strokes)


def load_omniglot(directory: Optional[str] = None) -> list:
    """Every character in the archive, sorted by alphabet, character and drawer."""
    path = find_omniglot(directory)
    out = []
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                m = _NAME.search(member.name)
                if not (member.isfile() and m):
                    continue
                if member.size > MAX_MEMBER:
                    raise DataError(f"Omniglot: {member.name} is {member.size:,} bytes, over {MAX_MEMBER:,}")
                text = tar.extractfile(member).read().decode("ascii")
                out.append(Character(parse(text, member.name), m.group(1), m.group(2), int(m.group(4))))
    except (OSError, EOFError, tarfile.TarError, UnicodeDecodeError) as e:
        raise DataError(f"Omniglot: {path} is not a readable tar.gz of drawings ({e})") from None
    if not out:
        raise DataError(f"Omniglot: {path} holds no drawings")
    return sorted(out, key=lambda c: (c.alphabet, c.character, c.drawer))


def omniglot_drawings(characters: list, widths=WIDTHS, seed: int = 0):
    """Yield (Drawing, alphabet) for every character, pen widths round robin, random size and position."""
    rng = np.random.default_rng(seed)
    for j, c in enumerate(characters):
        yield place(rng, c.strokes, NOT_A_DIGIT, widths[j % len(widths)], f"omniglot {c.alphabet}",
                    slant_range=0.0), c.alphabet
