"""One picture's answer, as the pages and ``python -m knn predict`` give it.

:func:`answer` reads a picture the way its comparison space does, searches
the shared references and, if given, a visitor's own taught digits (a second
small index, searched by the same engine and merged by distance), votes, and
returns an :class:`Answer` that carries everything a page shows: the steps
to MNIST's format, the vector compared, the vote, the nearest references as
:class:`knn.origins.Neighbour` records, the nearest reference of every other
digit, the winner at every k, and how sure it is (:mod:`knn.conformal`). :func:`predict_files` answers
picture files in one batch, as JSON-ready dicts; :func:`neighbours_csv`
writes an answer's neighbours as CSV. Prints nothing.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from knn.conformal import LEVEL, REACH, Calibration, Certainty, calibrate, check_level
from knn.engine import vote, vote_by_k
from knn.origins import KINDS, TAUGHT, Neighbour
from knn.preprocess import SIDE, ImageError, Steps
from knn.references import References
from knn.spaces import Space

MAX_K = 25  # the page's largest k: the vote is shown for every k up to it
OWN_RADIUS = 2.0  # a visitor's nearest own digit decides within this many times the k-th nearest reference's
# distance (chosen on nested writer folds: docs/corrections.md)


@dataclass(frozen=True)
class Answer:
    """Everything the page shows about one picture."""

    space: Space
    metric: str
    steps: Steps  # crop, pen path, redrawn, fitted, centred
    image: np.ndarray  # (28, 28) uint8: the picture as the space sees it (deskewed, or as centred)
    query: np.ndarray  # (d,) uint8: what the engine compared (its pixels, or its learned features)
    prediction: int
    shares: np.ndarray  # (10,) vote shares
    neighbours: tuple  # the k nearest references, Neighbour records, nearest first
    others: tuple  # the nearest reference of every other digit, Neighbour records, nearest first
    by_k: tuple  # the answer for k = 1, 2, ... up to MAX_K (or as many references as there are)
    certainty: Certainty  # conformal p-values, credibility, confidence, digit-likeness
    seconds: float  # vectors (learned features or deskew), search, vote and certainty
    decided_by: Optional[Neighbour] = None  # the visitor's own digit that decided, if one did

    @property
    def distances(self) -> np.ndarray:
        return np.array([n.distance for n in self.neighbours])

    @property
    def labels(self) -> np.ndarray:
        return np.array([n.label for n in self.neighbours], np.int64)

    @property
    def runner_up(self) -> Optional[int]:
        """The nearest digit other than the prediction, if the references hold another."""
        return self.others[0].label if self.others else None

    @property
    def gap(self) -> Optional[float]:
        """How much farther runner_up's nearest reference is than the prediction's nearest."""
        return self.margin(self.others[0]) if self.others else None

    def margin(self, other) -> float:
        """How much nearer a neighbour of another digit would have to be to tie the prediction's nearest."""
        own = [n.distance for n in self.neighbours if n.label == self.prediction]
        return other.distance - (own[0] if own else self.neighbours[0].distance)


def search(found: list, queries: np.ndarray, n: int) -> tuple:
    """Search the shared references and, if given, a visitor's taught digits: ``found`` is [refs] or
    [refs, taught]. Both lists of each query's nearest are merged by distance, a shared reference first
    on equal distance, then by position. Returns (b, m) arrays of the merged lists: distances, labels,
    which References (0 shared, 1 taught), position in it, and whether each is the visitor's own (★;
    a digit taught to their whole room, ☆, is not)."""
    parts = []
    for j, r in enumerate(found):
        d, p, y = r.index.neighbours(queries, min(n, len(r)) if j else n)  # the shared index checks n
        own = r.kinds[p] == KINDS.index(TAUGHT) if j else np.zeros(p.shape, bool)
        parts.append((d, y, np.full(p.shape, j), p, own))
    dist, lab, which, pos, own = (np.concatenate(a, 1) for a in zip(*parts))
    order = np.lexsort((pos, which, dist))  # each row: by distance, the shared references first, then by position
    return tuple(np.take_along_axis(a, order, 1) for a in (dist, lab, which, pos, own))


def decide(distances, labels, own, k: int, voting: str = "uniform", radius: float = OWN_RADIUS) -> tuple:
    """The answer with a visitor's own digits, from one query's merged neighbours, nearest first (m,), ``own``
    marking the visitor's own: (prediction, the vote's shares (10,), position of the own digit that decided,
    or -1).

    The k nearest other references vote (:func:`knn.engine.vote`); but when the visitor's nearest own digit
    lies within ``radius`` times the distance of the k-th of them, that digit decides."""
    if not radius >= 0:
        raise ValueError(f"radius must be a distance ratio >= 0; got {radius}")
    d, y, own = np.asarray(distances, np.float64), np.asarray(labels, np.int64), np.asarray(own, bool)
    others = np.flatnonzero(~own)[:k]
    said, shares = vote(y[None, others], d[None, others], voting)
    mine = np.flatnonzero(own)
    if len(mine) and len(others) and d[mine[0]] <= radius * d[others[-1]]:
        return int(y[mine[0]]), shares[0], int(mine[0])
    return int(said[0]), shares[0], -1


def decide_by_k(distances, labels, own, m: int, voting: str = "uniform", radius: float = OWN_RADIUS) -> np.ndarray:
    """:func:`decide`'s prediction for k = 1, 2, ... up to m (or as many other references as there are)."""
    d, y, own = np.asarray(distances, np.float64), np.asarray(labels, np.int64), np.asarray(own, bool)
    others = np.flatnonzero(~own)[:m]
    said = vote_by_k(y[others], d[others], voting)
    mine = np.flatnonzero(own)
    if len(mine):
        said = np.where(d[mine[0]] <= radius * d[others], y[mine[0]], said)
    return said


def answer(refs: References, picture, k: Optional[int] = None, voting: str = "uniform",
           taught: Optional[References] = None, reach: int = REACH,
           calibration: Optional[Calibration] = None, radius: float = OWN_RADIUS) -> Answer:
    """Read one picture, search, vote, and say how sure the answer is.

    ``k`` defaults to the space's own. ``taught`` (see
    :func:`knn.references.taught`) is searched next to ``refs`` and the two
    merged by distance (:func:`search`); the visitor's nearest own digit
    decides when it lies within ``radius`` times the distance of the k-th
    nearest other reference (:func:`decide`), and the answer's neighbours
    are the k nearest others that voted, ``decided_by`` that digit.
    The certainty (:mod:`knn.conformal`) looks at the ``reach`` nearest,
    against ``calibration`` (by default :func:`knn.conformal.calibrate` of
    ``refs``). Raises ImageError for pictures with no digit and ValueError
    for a k out of range.
    """
    space = refs.space
    k = space.default_k if k is None else k
    calibration = calibrate(refs) if calibration is None else calibration
    steps = space.read(picture)
    start = time.perf_counter()
    image = space.pixels(steps.centred)[0]
    query = space.encode(image[None])[0]
    n = max(k, min(reach, len(refs)))  # the shared index checks k against its size
    found = [refs] if taught is None or not len(taught) else [refs, taught]
    dist_all, lab_all, which_all, pos_all, own_all = (a[0] for a in search(found, query[None], n))
    dist, lab, which, pos = dist_all[:n], lab_all[:n], which_all[:n], pos_all[:n]
    pred, shares, decider = decide(dist_all, lab_all, own_all, k, voting, radius)
    voters = np.flatnonzero(~own_all)[:k]
    straight = np.empty((len(pos), SIDE, SIDE), np.uint8)  # the neighbours' deskewed pictures
    for w, r in enumerate(found):
        straight[which == w] = r.deskewed(pos[which == w])
    certainty = calibration.assess(dist[None], lab[None], steps.centred[None], straight[None])[0]
    nearest = {}  # digit -> (distance, which References, position) of its nearest reference
    for d, w, p, y in sorted(zip(dist_all.tolist(), which_all.tolist(), pos_all.tolist(), lab_all.tolist())):
        nearest.setdefault(y, (d, w, p))
    listed = set(lab_all[which_all == 0].tolist())  # digits whose nearest shared reference is in the lists
    if len(listed) < 10:  # a digit beyond the shared references' n nearest
        far, ids = refs.index.nearest_per_label(query, set(range(10)) - listed)
        for c in np.nonzero(ids[0] >= 0)[0]:
            nearest[int(c)] = min(nearest.get(int(c), (np.inf,)), (float(far[0, c]), 0, int(ids[0, c])))
    nearest.pop(pred, None)
    others = []
    for w, refs_w in enumerate(found):  # one record-making call per set of references
        mine = [(d, p) for d, ww, p in nearest.values() if ww == w]
        if mine:
            others += refs_w.neighbours([d for d, _ in mine], [p for _, p in mine])
    others.sort(key=lambda nb: (nb.distance, nb.label))
    seconds = time.perf_counter() - start

    def record(j):
        return found[which_all[j]].neighbours(dist_all[j:j + 1], pos_all[j:j + 1])[0]

    by_k = decide_by_k(dist_all, lab_all, own_all, MAX_K, voting, radius)
    return Answer(space=space, metric=refs.index.metric, steps=steps, image=image,
                  query=query, prediction=pred, shares=shares, neighbours=tuple(record(j) for j in voters),
                  others=tuple(others), by_k=tuple(int(w) for w in by_k), certainty=certainty, seconds=seconds,
                  decided_by=record(decider) if decider >= 0 else None)


def predict_files(refs: References, paths, k: Optional[int] = None, voting: str = "uniform",
                  level: float = LEVEL, reach: int = REACH, taught: Optional[References] = None) -> list:
    """Classify picture files in one batch; one dict per file, in order.

    ``taught``: a writer's own digits (:func:`read_taught`), searched and
    weighed as :func:`answer` does (a ``"decided_by"`` neighbour where one decided, else null).

    A file that cannot be read gets ``{"file", "error"}``; the others
    ``{"file", "prediction", "votes", "neighbours"}`` for the whole picture
    read as one digit, each neighbour as :meth:`knn.origins.Neighbour.to_json`
    gives it, the certainty's fields (:meth:`knn.conformal.Certainty.to_json`)
    at ``level``, and the picture read as a number (:mod:`knn.number`):
    ``"digits"``, the string left to right ("7" for one digit), and
    ``"parts"``, each digit's box (top, left, bottom, right in the picture),
    prediction, votes, "not a digit" and neighbours.
    """
    from knn.number import TooManyDigits, pieces

    space = refs.space
    k = space.default_k if k is None else k
    check_level(level)
    calibration = calibrate(refs)
    results, queries, owner = [], [], []  # owner: (result row, None for the whole picture or the part's number)
    boxes = {}
    for p in paths:
        try:
            with open(p, "rb") as f:
                data = f.read()
            whole = space.read(data).centred
            parts, inks = pieces(data)
        except (OSError, ImageError, TooManyDigits) as e:
            msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            results.append({"file": str(p), "error": msg})
            continue
        row = len(results)
        results.append({"file": str(p)})
        queries.append(whole)
        owner.append((row, None))
        boxes[row] = [part.box for part in parts]
        if len(parts) > 1:
            queries += [space.read(ink).centred for ink in inks]
            owner += [(row, j) for j in range(len(inks))]
    if queries:
        n = max(k, min(reach, len(refs)))
        found = [refs] if taught is None or not len(taught) else [refs, taught]
        dist_all, lab_all, which_all, pos_all, own_all = search(found, space.vectors(np.stack(queries)), n)
        dist, nlabels, which, pos = (a[:, :n] for a in (dist_all, lab_all, which_all, pos_all))
        decided = [decide(*row, k, voting) for row in zip(dist_all, lab_all, own_all)]
        straight = np.empty(pos.shape + (SIDE, SIDE), np.uint8)
        for w, r in enumerate(found):
            straight[which == w] = r.deskewed(pos[which == w])
        certain = calibration.assess(dist, nlabels, np.stack(queries), straight)
        read = {}

        def record(j, i):
            return found[which_all[j, i]].neighbours(dist_all[j, i:i + 1], pos_all[j, i:i + 1])[0].to_json()

        for j, (row, part) in enumerate(owner):
            said, shares, decider = decided[j]
            read[row, part] = dict(
                prediction=said, votes=[round(float(v), 4) for v in shares],
                neighbours=[record(j, i) for i in np.flatnonzero(~own_all[j])[:k]],
                decided_by=record(j, decider) if decider >= 0 else None, **certain[j].to_json(level))
        for row, found in boxes.items():
            results[row].update(read[row, None])
            each = [read[row, None]] if len(found) == 1 else [read[row, j] for j in range(len(found))]
            results[row]["digits"] = "".join(str(r["prediction"]) for r in each)
            results[row]["parts"] = [{"box": list(map(int, b)), **{f: r[f] for f in PART_FIELDS}}
                                     for b, r in zip(found, each)]
    return results


def read_taught(space, metric: str, folder) -> References:
    """A writer's own digits from a folder holding a folder per digit (``0/`` to ``9/``) of their pictures,
    as references to search beside the shared ones (:func:`knn.references.taught`). Raises ValueError,
    naming the path, for a folder with no pictures, a picture that cannot be read, or anything whose
    digit is not known: an entry of the folder other than ``0/`` to ``9/``, or a folder inside those
    (hidden files, such as ``.DS_Store``, are passed over)."""
    from pathlib import Path

    from knn.references import taught

    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"--taught must be a folder with a folder per digit (0 to 9); got {folder}")
    digits = {str(label) for label in range(10)}
    for path in sorted(root.iterdir()):
        if not path.name.startswith(".") and not (path.name in digits and path.is_dir()):
            raise ValueError(f"--taught: {path} is not a folder named 0 to 9, so its digit is unknown; "
                             f"put each picture in the folder of its digit ({root / '7'} for a 7)")
    pictures, labels = [], []
    for label in range(10):
        for path in sorted((root / str(label)).iterdir()) if (root / str(label)).is_dir() else []:
            if path.name.startswith("."):
                continue
            if not path.is_file():
                raise ValueError(f"--taught: {path} is not a picture; put the pictures of a {label} "
                                 f"straight in {root / str(label)}")
            try:
                pictures.append(space.read(path.read_bytes()).centred)
            except (OSError, ImageError) as e:
                raise ValueError(f"--taught: {path}: {getattr(e, 'strerror', None) or e}") from None
            labels.append(label)
    if not pictures:
        raise ValueError(f"--taught: {folder} holds no pictures in folders named 0 to 9")
    images = space.pixels(np.stack(pictures))
    return taught(space.name, metric, space.encode(images), labels, images)


PART_FIELDS = ("prediction", "votes", "not_a_digit", "prediction_set", "neighbours",
               "decided_by")  # what predict gives per digit


def neighbours_csv(ans: Answer) -> str:
    """An answer's neighbours as CSV text: rank, label, source (in words), distance."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["rank", "label", "source", "distance"])
    for r, nb in enumerate(ans.neighbours, 1):
        w.writerow([r, nb.label, nb.origin.describe(), f"{nb.distance:g}"])
    return out.getvalue()
