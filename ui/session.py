"""What one visitor's session holds: the digits they taught, and their last drawing.

Both live in ``st.session_state``, so nobody else sees them and they go
with the session. A taught digit is kept as its vector as compared and its
28x28 picture (under 2 kB), per comparison space; :func:`taught` makes them
searchable (:func:`knn.references.taught`). :class:`LastDrawing` is what the
Draw page leaves for the Evaluate page's map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import streamlit as st

from knn import references
from ui.widgets import a_digit

MAX_TAUGHT = 100  # digits one visitor may teach: bounded memory per session


def taught(space, metric: str, group=()) -> Optional[references.References]:
    """The visitor's digits taught in a space, as references searched next to the shared ones; None if none.

    ``group``: digits taught to the visitor's whole room, (vector, label,
    picture) each, searched with them (marked ☆ where the visitor's own are ★).
    """
    items = list(group) + st.session_state.get("taught", {}).get(space.name, [])
    if not items:
        return None
    vectors, labels, pictures = zip(*items)
    return references.taught(space, metric, np.stack(vectors), labels, np.stack(pictures), shared=len(group))


def teach(space, query: np.ndarray, label: int, picture: np.ndarray) -> tuple:
    """Add a digit (its vector as compared and its 28x28 picture) to the visitor's set: (taught?, message)."""
    store = st.session_state.setdefault("taught", {})
    if n_taught() >= MAX_TAUGHT:
        return False, f"You have taught {MAX_TAUGHT} digits, the most one visitor can. Forget them to teach more."
    store.setdefault(space.name, []).append((np.asarray(query, np.uint8).reshape(-1).copy(), int(label),
                                             np.asarray(picture, np.uint8).reshape(28, 28).copy()))
    return True, f"Taught: that was {a_digit(label)}. It is one of your own references now (★), in this session only."


def forget() -> None:
    st.session_state["taught"] = {}


def mine(space) -> list:
    """The visitor's digits taught in a space, as (vector, label, picture), in the order taught."""
    return list(st.session_state.get("taught", {}).get(space.name, []))


def remove(space, j: int) -> None:
    """Forget the visitor's j-th digit taught in a space (a stale j, from an older page, is ignored)."""
    items = st.session_state.get("taught", {}).get(space.name, [])
    if 0 <= j < len(items):
        del items[j]


def n_taught() -> int:
    return sum(len(v) for v in st.session_state.get("taught", {}).values())


@dataclass(frozen=True)
class LastDrawing:
    """The visitor's last answered drawing, as the Evaluate page's map places it."""

    image: np.ndarray  # (28, 28) uint8: the picture as its space sees it
    space: str  # the comparison space's name
    prediction: int
    neighbours: np.ndarray  # (k, 28, 28) uint8: the neighbours' pictures as the gallery showed them


def remember(ans) -> None:
    """Keep an answer as the visitor's last drawing."""
    st.session_state["last"] = LastDrawing(image=ans.image, space=ans.space.name, prediction=ans.prediction,
                                           neighbours=np.stack([nb.picture for nb in ans.neighbours]))


def last() -> Optional[LastDrawing]:
    return st.session_state.get("last")
