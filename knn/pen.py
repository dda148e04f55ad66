"""Real pen digits: UNIPEN trajectories by 30 writers, drawn the way the canvas draws.

``../shared/data/pendigits/pendigits-orig.tra.gz`` (UCI "Pen-Based
Recognition of Handwritten Digits", training part) holds 7,494 digits as pen
paths on a tablet, y growing upward. None of the writers is among MNIST's,
and many write European-style digits (flagged 1s, crossed 7s).

:func:`load_pendigits` parses the file; :func:`pen_drawings` renders every
digit on a 280x280 canvas (white, round caps, one pen width per digit, round
robin over the widths, random size and position) with :func:`knn.drawn.render`;
:func:`pen_number` writes several of one writer's digits as a number.
Results are also reported for two groups of writers (``WRITER_GROUPS``), to
show how much accuracy varies from hand to hand.

Pen digits are also *references*: :func:`references` gives every
writer's digits drawn on the canvas (a :class:`PenPictures`), which
:func:`knn.references.build` adds to the learned space's index. The file is
looked for in the places :func:`find_pendigits` names and, where the
machine is online and none holds it, fetched from the public UCI copy
(:func:`download`), checked by hash and kept beside Keras's MNIST. A figure
about these writers comes from writer-disjoint folds (:func:`writer_folds`):
the writers measured are never in the index, and the networks that read
them never learned from their digits (:func:`knn.learned.weights_without`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from knn import cache, progress
from knn.data import SHARED, DataError, find_file, read_gzip_text
from knn.drawn import WIDTHS, pen, place

FILE = "pendigits-orig.tra.gz"
URLS = (  # the public UCI copy: today's archive of the data set, then the file in the old repository layout
    "https://archive.ics.uci.edu/static/public/81/pen+based+recognition+of+handwritten+digits.zip",
    "https://archive.ics.uci.edu/ml/machine-learning-databases/pendigits/pendigits-orig.tra.Z",
)
MD5 = "28e269fb7eaf8cb51af3f561743a0de5"  # of the decompressed training part, the 7,494 digits by 30 writers
CACHE = Path("~/.keras/datasets/pendigits")  # where a downloaded copy is kept, beside Keras's MNIST
MOST = 64 << 20  # bytes a download may bring
TIMEOUT = 20.0  # seconds without an answer before a download gives up
OFF = "off"  # --pen-data off or PENDIGITS_DIR=off: no pen digits as references
HOLD_OUT = "PENDIGITS_HOLD_OUT"  # writers kept out of the index ("21-30", "1,4,7"): try the page on hands it never saw
log = logging.getLogger("knn.pen")
WRITER_GROUPS = {"writers 1-10": range(1, 11), "writers 11-30": range(11, 31)}


@dataclass(frozen=True)
class PenDigit:
    strokes: tuple  # of (m, 2) float arrays: (x, y) with y growing downward, as on a canvas
    label: int
    writer: int  # 1-30


def find_pendigits(directory: Optional[str] = None) -> Path:
    """The trajectory file: ``directory``, then $PENDIGITS_DIR, then ``pendigits`` beside $MNIST_DIR,
    then ``../shared/data/pendigits`` beside the project, then a copy downloaded before (:data:`CACHE`);
    with none of them, the public copy (:func:`download`). Raises DataError saying where
    it looked (and why the download failed)."""
    beside = os.environ.get("MNIST_DIR") and str(Path(os.environ["MNIST_DIR"]).parent / "pendigits")
    places = [os.environ.get("PENDIGITS_DIR"), beside, str(SHARED / "pendigits"), str(CACHE.expanduser())]
    hint = f"Pass --pen-data DIR (the folder holding {FILE}) or set PENDIGITS_DIR."
    try:
        return find_file(FILE, places, "Pen digits", hint, directory)
    except DataError as missing:
        if directory:
            raise
        try:
            return download()
        except DataError as failed:
            raise DataError(f"{str(missing).removesuffix(hint)}{failed} {hint}") from None


def download(folder: Optional[Path] = None, urls=None) -> Path:
    """Fetch the public UCI copy (``urls``, default :data:`URLS`) into ``folder`` (default :data:`CACHE`)
    as ``FILE``, checked by MD5.

    Each address is tried in turn; a zip archive, a Unix-compress ``.Z``, a
    gzip or plain text file are all understood. The file is written under a
    temporary name and moved into place, so a failed or damaged download
    leaves nothing behind. Raises DataError with the reason of the last failure.
    """
    folder = Path(folder or CACHE).expanduser()
    why = "no address to fetch from"
    for url in URLS if urls is None else urls:
        try:
            text = unpack(_fetch(url), url)
        except DataError as e:
            why = str(e)
            log.warning("%s", why)
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=FILE, suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(gzip.compress(text, mtime=0))
                os.replace(tmp, folder / FILE)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as e:
            raise DataError(f"fetched, but could not be kept in {folder} ({e.strerror or e})") from None
        log.info("pen digits downloaded from %s to %s", url, folder / FILE)
        return folder / FILE
    raise DataError(f"The public copy could not be fetched: {why}.")


def _fetch(url: str) -> bytes:
    """The bytes at ``url`` (at most MOST); DataError on any failure."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
            raw = r.read(MOST + 1)
    except (OSError, ValueError) as e:  # URLError, timeouts and refused connections are OSErrors
        raise DataError(f"{url}: {getattr(e, 'reason', None) or e}") from None
    if len(raw) > MOST:
        raise DataError(f"{url}: more than {MOST >> 20} MB, not the pen digits")
    return raw


def unpack(raw: bytes, url: str = "the download") -> bytes:
    """The training part's text from a downloaded file (zip, .Z, gzip or plain); DataError unless its
    MD5 is :data:`MD5`."""
    stem = FILE.removesuffix(".gz")
    try:
        if raw[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                names = [n for n in z.namelist() if Path(n).name in (stem, stem + ".Z", stem + ".gz")]
                if not names:
                    raise DataError(f"{url}: the archive holds no {stem}")
                return unpack(z.read(names[0]), url)
        if raw[:2] == b"\x1f\x9d":
            import unlzw3  # Unix compress (LZW), the format UCI keeps the pen paths in

            raw = unlzw3.unlzw(raw)
        elif raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, IndexError, RuntimeError) as e:
        raise DataError(f"{url}: damaged ({type(e).__name__}: {e})") from None
    if hashlib.md5(raw).hexdigest() != MD5:
        raise DataError(f"{url}: not the expected file (MD5 {hashlib.md5(raw).hexdigest()}, expected {MD5})")
    return raw


def parse(text: str) -> list:
    """UNIPEN text -> [PenDigit]. Raises DataError on a malformed file."""
    digits, strokes, points, label, writer = [], [], None, None, None

    def finish():
        if label is not None:
            if not strokes:
                raise DataError(f"Pen digit {len(digits)} (label {label}) has no strokes")
            digits.append(PenDigit(tuple(strokes), label, writer))

    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        try:
            if s.startswith(".SEGMENT"):
                finish()
                label, writer, strokes = int(s.split('"')[1]), 0, []
            elif s.startswith(".COMMENT") and label is not None:
                writer = int(s.split()[2])
            elif s == ".PEN_DOWN":
                points = []
            elif s == ".PEN_UP":
                if points:
                    xy = np.asarray(points, np.float64)
                    xy[:, 1] *= -1  # tablet y grows upward, the canvas's downward
                    strokes.append(xy)
                points = None
            elif points is not None and s:
                x, y = s.split()
                points.append((float(x), float(y)))
        except (ValueError, IndexError) as e:
            raise DataError(f"Pen digits: cannot read line {n} ({s[:40]!r}): {e}") from None
    finish()
    return digits


def load_pendigits(directory: Optional[str] = None) -> list:
    """All 7,494 pen digits, in file order."""
    return read_gzip_text(find_pendigits(directory), "Pen digits", parse)


def pen_drawings(digits: list, widths=WIDTHS, seed: int = 0, n: Optional[int] = None):
    """Yield (Drawing, writer) for a seeded sample of n digits (all if None), pen widths round robin.

    Each digit keeps its writer's own slant; its size (35-95% of the canvas)
    and position are random, the whole stroke on the canvas.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits))
    if n is not None:
        order = np.sort(order[:n])
    for j, i in enumerate(order):
        d = digits[int(i)]
        w = widths[j % len(widths)]
        yield place(rng, d.strokes, d.label, w, f"pen writer {d.writer}", slant_range=0.0), d.writer


def pen_number(digits: list, rng, width: float) -> np.ndarray:
    """Pen digits (one writer's, in order) written left to right as one number on a black canvas.

    Every digit is scaled to one height (120-190 px, each within 10%), with a
    gap of 15-40% of the height plus the pen's width between neighbours and
    a little vertical wander, and drawn with a round pen ``width`` px wide.
    Returns uint8 (height, width), white on black, as the page's wide canvas gives it.
    """
    height = float(rng.uniform(120, 190))
    margin = width + 12
    lines, x = [], margin
    for d in digits:
        pts = np.concatenate(d.strokes)
        lo, hi = pts.min(0), pts.max(0)
        h = height * float(rng.uniform(0.9, 1.1))
        s = h / max(hi[1] - lo[1], 0.5 * (hi[0] - lo[0]), 1e-9)
        dy = float(rng.uniform(-0.06, 0.06)) * height
        for stroke in d.strokes:
            lines.append((stroke - lo) * s + [x, margin + dy + (height - h) / 2 + 0.06 * height])
        x += (hi[0] - lo[0]) * s + width + float(rng.uniform(0.15, 0.4)) * height
    x += margin - float(rng.uniform(0.15, 0.4)) * height
    shape = (int(np.ceil(height * 1.25 + 2 * margin)), int(np.ceil(x)))
    return pen(lines, [width] * len(lines), shape)


PEN_RENDERS = 2  # each pen digit joins an index drawn this many times: pen widths, sizes and places at random
VARIED_RECIPE = "v1"  # bump when knn.augment.vary_strokes changes: cached varied drawings are made again


@dataclass(frozen=True)
class PenPictures:
    """Pen digits as references: each drawn on the canvas and read the way a space reads a drawing."""

    pictures: np.ndarray  # (m, 28, 28) uint8, as the space reads them
    labels: np.ndarray  # (m,)
    writers: np.ndarray  # (m,)
    positions: np.ndarray  # (m,) int64: the digit's place in the file (its number)

    def without(self, writers) -> "PenPictures":
        """These references less every drawing by the given writers (the ones being measured)."""
        keep = ~np.isin(self.writers, list(writers))
        return PenPictures(self.pictures[keep], self.labels[keep], self.writers[keep], self.positions[keep])


def pen_pictures(space, digits: list, seed: int = 0, renders: int = PEN_RENDERS, varied: bool = False) -> PenPictures:
    """Every pen digit drawn ``renders`` times (a random pen width of WIDTHS, size and place each, the
    writer's own slant) and read as the space reads a canvas; kept on disk per file and space.

    ``varied``: each drawing's path first goes through :func:`knn.augment.vary_strokes`, as another
    writer might have drawn it (for training the networks; the index holds the paths as written).
    """
    def compute():
        from knn.augment import vary_strokes

        rng = np.random.default_rng(seed)
        pictures = []
        total = len(digits) * renders
        progress.report("pen digits drawn on the canvas", 0, total)  # work from nothing has begun: say so at once
        for d in digits:
            for _ in range(renders):
                width = WIDTHS[int(rng.integers(len(WIDTHS)))]
                strokes = vary_strokes(d.strokes, rng) if varied else d.strokes
                pictures.append(space.read(place(rng, strokes, d.label, width, "", slant_range=0.0).image).centred)
            if len(pictures) % 500 < renders:
                progress.report("pen digits drawn on the canvas", len(pictures), total)
        return {"pictures": np.stack(pictures)}

    labels = np.repeat([d.label for d in digits], renders)
    writers = np.repeat([d.writer for d in digits], renders)
    settings = dict(digits=cache.checksum(labels, writers, np.concatenate([np.concatenate(d.strokes) for d in digits])),
                    read=space.reading(), seed=seed, renders=renders)
    if varied:
        settings["varied"] = VARIED_RECIPE
    made = cache.cached("pen-pictures", settings, compute)
    return PenPictures(made["pictures"], labels, writers, np.repeat(np.arange(len(digits)), renders))


def references(space, directory: Optional[str] = None, hold_out=None):
    """The pen references of a space's index: every writer's digits, drawn as :func:`pen_pictures` draws them,
    less the writers in ``hold_out`` (default: those $PENDIGITS_HOLD_OUT names, see :func:`writers_of`).

    Returns (PenPictures, "") or, when there are none, (None, the one line
    that says why: turned off with ``directory`` or $PENDIGITS_DIR "off", or
    the file not found and not fetched, or unreadable, or a malformed
    $PENDIGITS_HOLD_OUT). Never raises for missing data.
    """
    if OFF in (directory, os.environ.get("PENDIGITS_DIR")):
        return None, "turned off (pen data 'off')"
    try:
        out = writers_of(os.environ.get(HOLD_OUT, "")) if hold_out is None else set(hold_out)
        digits = load_pendigits(directory)
    except (DataError, ValueError) as e:
        log.warning("no pen digits as references: %s", e)
        return None, str(e)
    pictures = pen_pictures(space, digits)
    return (pictures.without(out) if out else pictures), ""


def writers_of(spec: str) -> set:
    """Writer numbers from text like "21-30" or "1, 4, 7" (ranges inclusive); ValueError naming the rule."""
    writers = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        lo, _, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"${HOLD_OUT} must list writer numbers such as '21-30' or '1,4,7'; got {spec!r}") from None
        writers.update(range(first, last + 1))
    return writers


def writer_folds(digits: list, folds: int) -> list:
    """The writers split into ``folds`` sets, every ``folds``-th writer in turn: [set of writers, ...]."""
    writers = sorted({d.writer for d in digits})
    if not 2 <= folds <= len(writers):
        raise ValueError(f"folds must be between 2 and the number of writers ({len(writers)}); got {folds}")
    return [set(writers[f::folds]) for f in range(folds)]


def inner_folds(writers, folds: int) -> list:
    """The writers outside an outer fold split again, for nested folds: ``folds - 1`` sets, every
    ``(folds - 1)``-th writer in turn."""
    rest = sorted(writers)
    return [set(rest[f::folds - 1]) for f in range(folds - 1)]
