"""Scanned digits from US mail (USPS), turned into the uploads a visitor would make.

``../shared/data/usps/zip.train.gz`` holds 7,291 digits by thousands of
writers none of whom is among MNIST's (J. J. Hull, IEEE PAMI 1994; the
16x16 version of LeCun et al. 1990): a label, then 256 grey values from -1
(paper) to 1 (ink), row by row. They are for *measuring* how the app reads
uploaded scans, never for the index.

:func:`load_scans` parses the file; :func:`scan_uploads` makes each one a
file as a person's scan would be: enlarged, dark ink on light paper, JPEG.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from knn.data import SHARED, DataError, find_file, read_gzip_text

FILE = "zip.train.gz"
SIDE = 16  # the scans' own side, px
UPLOAD_SIDE = 160  # the side of the upload made from one
JPEG_QUALITY = 90


@dataclass(frozen=True)
class Scan:
    image: np.ndarray  # (16, 16) float32: ink from 0 (paper) to 1
    label: int


def find_scans(directory: Optional[str] = None) -> Path:
    """The file: ``directory``, then $USPS_DIR, then ``../shared/data/usps`` beside the project."""
    return find_file(FILE, [os.environ.get("USPS_DIR"), str(SHARED / "usps")], "USPS scans",
                     f"Pass --scans-data DIR (the folder holding {FILE}) or set USPS_DIR.", directory)


def parse(text: str) -> list:
    """The text format (a label, then 256 values from -1 to 1, a digit a line) -> [Scan]."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            values = np.array(line.split(), np.float32)
        except ValueError:
            raise DataError(f"USPS scans: line {n} holds something other than numbers") from None
        if values.size != 1 + SIDE * SIDE or values[0] not in range(10):
            raise DataError(f"USPS scans: line {n} must be a digit label and {SIDE * SIDE} values; "
                            f"got {values.size} numbers")
        out.append(Scan(np.clip((values[1:].reshape(SIDE, SIDE) + 1) / 2, 0, 1), int(values[0])))
    return out


def load_scans(directory: Optional[str] = None) -> list:
    """All 7,291 scans, in file order."""
    return read_gzip_text(find_scans(directory), "USPS scans", parse)


def as_upload(scan: Scan, side: int = UPLOAD_SIDE, quality: int = JPEG_QUALITY) -> bytes:
    """One scan as a JPEG file: enlarged to side x side, dark ink on light paper."""
    paper = Image.fromarray(np.rint(255 * (1 - scan.image)).astype(np.uint8))
    buf = io.BytesIO()
    paper.resize((side, side), Image.Resampling.BILINEAR).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def scan_number(scans: list, rng, scale: int = UPLOAD_SIDE // SIDE, quality: int = JPEG_QUALITY) -> bytes:
    """Scans side by side as one upload: gaps of 2-5 scan pixels, a pixel of vertical wander, enlarged
    ``scale`` times, dark ink on light paper, JPEG."""
    gaps = rng.integers(2, 6, len(scans) - 1)
    width = SIDE * len(scans) + int(gaps.sum()) + 8
    ink = np.zeros((SIDE + 8, width), np.float32)
    x = 4
    for j, s in enumerate(scans):
        y = 4 + int(rng.integers(-1, 2))
        ink[y:y + SIDE, x:x + SIDE] = np.maximum(ink[y:y + SIDE, x:x + SIDE], s.image)
        x += SIDE + (int(gaps[j]) if j < len(gaps) else 0)
    paper = Image.fromarray(np.rint(255 * (1 - ink)).astype(np.uint8))
    buf = io.BytesIO()
    paper.resize((width * scale, (SIDE + 8) * scale), Image.Resampling.BILINEAR).save(buf, "JPEG", quality=quality)
    return buf.getvalue()
