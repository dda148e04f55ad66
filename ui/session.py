"""What one visitor's session holds: their own digits, the drawing on their canvas, and their last answer.

All live in ``st.session_state``, so nobody else sees them and they go
with the session. A visitor's own digit is a drawing they corrected
(:func:`teach`) or cleared without correcting (:func:`keep`: kept as
read), stored as its vector as compared and its 28x28 picture (under 2 kB),
per comparison space; :func:`taught` makes them searchable
(:func:`knn.references.taught`). :class:`Pending` is the answered drawing
on the canvas, which Clear keeps; :class:`LastDrawing` is what the Draw
page leaves for the Evaluate page's map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import streamlit as st

from knn import references
from ui.widgets import a_digit

MAX_TAUGHT = 100  # own digits one visitor may hold: bounded memory per session (the oldest kept as read make room)


def taught(space, metric: str, group=(), leave_out=None) -> Optional[references.References]:
    """The visitor's digits taught in a space, as references searched next to the shared ones; None if none.

    ``group``: digits taught to the visitor's whole room, (vector, label,
    picture) each, searched with them (marked ☆ where the visitor's own are ★).
    ``leave_out``: a vector as compared; the visitor's own copy of it, if any, is left out.
    """
    own = [item[:3] for item in st.session_state.get("taught", {}).get(space.name, [])
           if leave_out is None or not np.array_equal(item[0], leave_out)]
    items = list(group) + own
    if not items:
        return None
    vectors, labels, pictures = zip(*items)
    return references.taught(space, metric, np.stack(vectors), labels, np.stack(pictures), shared=len(group))


def teach(space, query: np.ndarray, label: int, picture: np.ndarray) -> tuple:
    """Add a corrected digit (its vector as compared and its 28x28 picture) to the visitor's own: (taught?, message).
    The same drawing kept or taught before is replaced: the visitor's latest word on it counts."""
    query = np.asarray(query, np.uint8).reshape(-1)
    items = st.session_state.get("taught", {}).get(space.name, [])
    items[:] = [item for item in items if not np.array_equal(item[0], query)]
    if not _make_room():
        return False, (f"You have corrected {MAX_TAUGHT} digits, the most one visitor can hold. Forget some to "
                       "teach more.")
    _add(space, query, label, picture, corrected=True)
    return True, f"Taught: that was {a_digit(label)}. It is one of your own references now (★), in this session only."


def keep(space, query: np.ndarray, label: int, picture: np.ndarray) -> Optional[str]:
    """Keep a drawing the visitor cleared without correcting, as read; the message to show, or None when it is
    one of theirs already (corrected, then cleared) or there is no room (every one of theirs corrected)."""
    query = np.asarray(query, np.uint8).reshape(-1)
    if any(np.array_equal(v, query) for v, *_ in mine(space)) or not _make_room():
        return None
    _add(space, query, label, picture, corrected=False)
    return (f"Kept as your {label} (★): drawings like it are read the same way from now on. Not {a_digit(label)}? "
            "Remove it under Your digits.")


def _add(space, query, label: int, picture, corrected: bool) -> None:
    st.session_state.setdefault("taught", {}).setdefault(space.name, []).append(
        (np.asarray(query, np.uint8).reshape(-1).copy(), int(label),
         np.asarray(picture, np.uint8).reshape(28, 28).copy(), corrected))


def _make_room() -> bool:
    """Whether one more own digit fits, dropping the oldest one kept as read if need be."""
    if n_taught() < MAX_TAUGHT:
        return True
    for items in st.session_state.get("taught", {}).values():
        for j, item in enumerate(items):
            if not item[3]:
                del items[j]
                return True
    return False


def forget() -> None:
    st.session_state["taught"] = {}


def mine(space) -> list:
    """The visitor's own digits in a space, as (vector, label, picture, corrected?), oldest first."""
    return list(st.session_state.get("taught", {}).get(space.name, []))


def remove(space, j: int) -> None:
    """Forget the visitor's j-th digit taught in a space (a stale j, from an older page, is ignored)."""
    items = st.session_state.get("taught", {}).get(space.name, [])
    if 0 <= j < len(items):
        del items[j]


def n_taught() -> int:
    return sum(len(v) for v in st.session_state.get("taught", {}).values())


@dataclass(frozen=True)
class Pending:
    """The answered drawing on the visitor's canvas: what Clear keeps as read (:func:`keep`)."""

    space: object  # the comparison space (knn.spaces.Space) that read it
    query: np.ndarray  # (d,) uint8: its vector as compared
    label: int  # what it was read as
    picture: np.ndarray  # (28, 28) uint8


def pending(ans) -> None:
    """Note an answered drawing of the visitor's own as the one on the canvas; None forgets it."""
    st.session_state["pending"] = None if ans is None else Pending(ans.space, ans.query, ans.prediction, ans.image)


def keep_pending() -> Optional[str]:
    """Clear pressed: keep the drawing on the canvas as read (:func:`keep`), if there is one; the message."""
    p = st.session_state.pop("pending", None)
    return None if p is None else keep(p.space, p.query, p.label, p.picture)


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
