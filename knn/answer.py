"""One picture's answer, as the pages and ``python -m knn predict`` give it.

:func:`answer` reads a picture the way its comparison space does, searches
the shared references and, if given, a visitor's own taught digits (a second
small index, searched by the same engine and merged by distance), votes, and
returns an :class:`Answer` that carries everything a page shows: the steps
to MNIST's format, the vector compared, the vote, and the nearest references
as :class:`knn.origins.Neighbour` records. :func:`predict_files` answers
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

from knn.engine import vote
from knn.preprocess import ImageError, Steps
from knn.references import References
from knn.spaces import Space

REACH = 100  # neighbours searched to find the nearest of another digit than the prediction


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
    runner_up: Optional[int]  # the nearest digit other than the prediction within REACH, if any
    gap: Optional[float]  # the distance of runner_up's nearest minus the prediction's nearest
    seconds: float  # vectors (learned features or deskew), search and vote

    @property
    def distances(self) -> np.ndarray:
        return np.array([n.distance for n in self.neighbours])

    @property
    def labels(self) -> np.ndarray:
        return np.array([n.label for n in self.neighbours], np.int64)


def answer(refs: References, picture, k: Optional[int] = None, voting: str = "uniform",
           taught: Optional[References] = None, reach: int = REACH) -> Answer:
    """Read one picture, search, vote, and measure how clear-cut the answer is.

    ``k`` defaults to the space's own. ``taught`` (see
    :func:`knn.references.taught`) is searched next to ``refs`` and the two
    merged by distance; on equal distance the shared reference comes first.
    ``gap`` compares the nearest reference of the predicted digit with the
    nearest of any other digit among the ``reach`` nearest: a large gap means
    no other digit comes close. Raises ImageError for pictures with no digit
    and ValueError for a k out of range.
    """
    space = refs.space
    k = space.default_k if k is None else k
    steps = space.read(picture)
    start = time.perf_counter()
    image = space.pixels(steps.centred)[0]
    query = space.encode(image[None])[0]
    n = max(k, min(reach, len(refs)))  # the shared index checks k against its size
    found = [(refs, *(a[0] for a in refs.index.neighbours(query, n)))]
    if taught is not None and len(taught):
        found.append((taught, *(a[0] for a in taught.index.neighbours(query, min(n, len(taught))))))
    dist = np.concatenate([d for _, d, _, _ in found])
    pos = np.concatenate([p for _, _, p, _ in found])
    lab = np.concatenate([y for _, _, _, y in found])
    which = np.concatenate([np.full(len(d), j) for j, (_, d, _, _) in enumerate(found)])
    order = np.lexsort((pos, which, dist))[:n]  # by distance, the shared references first, then by position
    dist, pos, lab, which = dist[order], pos[order], lab[order], which[order]
    k = min(k, len(dist))
    labels, shares = vote(lab[None, :k], dist[None, :k], voting)
    seconds = time.perf_counter() - start
    pred = int(labels[0])
    other = np.nonzero(lab != pred)[0]
    own = np.nonzero(lab == pred)[0]
    neighbours = [found[which[j]][0].neighbours(dist[j:j + 1], pos[j:j + 1])[0] for j in range(k)]
    return Answer(space=space, metric=refs.index.metric, steps=steps, image=image,
                  query=query, prediction=pred, shares=shares[0], neighbours=tuple(neighbours),
                  runner_up=int(lab[other[0]]) if len(other) else None,
                  gap=float(dist[other[0]] - dist[own[0]]) if len(other) else None, seconds=seconds)


def predict_files(refs: References, paths, k: Optional[int] = None, voting: str = "uniform") -> list:
    """Classify picture files in one batch; one dict per file, in order.

    A file that cannot be read gets ``{"file", "error"}``; the others
    ``{"file", "prediction", "votes", "neighbours"}``, each neighbour as
    :meth:`knn.origins.Neighbour.to_json` gives it.
    """
    space = refs.space
    k = space.default_k if k is None else k
    results, queries, ok = [], [], []
    for p in paths:
        try:
            with open(p, "rb") as f:
                queries.append(space.read(f.read()).centred)
            ok.append(len(results))
            results.append({"file": str(p)})
        except (OSError, ImageError) as e:
            msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            results.append({"file": str(p), "error": msg})
    if queries:
        dist, pos, nlabels = refs.index.neighbours(space.vectors(np.stack(queries)), k)
        labels, shares = vote(nlabels, dist, voting)
        for j, r in enumerate(ok):
            results[r].update(prediction=int(labels[j]), votes=[round(float(v), 4) for v in shares[j]],
                              neighbours=[nb.to_json() for nb in refs.neighbours(dist[j], pos[j])])
    return results


def neighbours_csv(ans: Answer) -> str:
    """An answer's neighbours as CSV text: rank, label, source (in words), distance."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["rank", "label", "source", "distance"])
    for r, nb in enumerate(ans.neighbours, 1):
        w.writerow([r, nb.label, nb.origin.describe(), f"{nb.distance:g}"])
    return out.getvalue()
