"""Where a reference digit came from, and the neighbour record an answer carries.

Every vector an index searches is a *reference*: a training digit itself,
or a copy of one that a comparison space adds (thickened, styled), or a
digit a visitor taught, or one taught to everyone in a group. :class:`Kind` names each kind once, with the mark a
gallery caption gives it and a line that explains the mark;
:class:`Origin` is one reference's kind and number; :class:`Neighbour` is
what an answer says about each of its nearest references.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Kind:
    """A kind of reference: its name in words, its caption mark and what the mark means."""

    name: str  # "" for a training digit itself
    mark: str  # superscript after the training index in a caption
    note: str  # one line for the caption's legend

    @property
    def legend(self) -> str:
        return f"{self.mark}: {self.note}." if self.mark else ""


DIGIT = Kind("", "", "")
THICKENED = Kind("thickened", "ᵗ", "the thickened copy of that training digit")
STYLED = Kind("styled", "ˢ", "a copy of that training digit with a stroke added (a crossbar on 7, a curled tail on 9)")
STYLED_REDRAWN = Kind("styled, augmented", "ˢᵃ", "a styled copy (a flag on 1, a crossbar on 7, a curled tail on 9) "
                      "redrawn with another pen, slightly distorted")
TAUGHT = Kind("taught", "★", "one of your own digits, corrected or kept as read (only you see it)")
SHARED = Kind("taught to a group", "☆", "a drawing the lecturer taught everyone in this room")
PEN = Kind("pen digit", "ᵖ", "a real pen digit (UCI pen digits) by a writer not among MNIST's, drawn on the canvas")
KINDS = (DIGIT, THICKENED, STYLED, STYLED_REDRAWN, TAUGHT, PEN, SHARED)  # a reference's kind is stored as its position here


@dataclass(frozen=True)
class Origin:
    """One reference: its kind and number (the MNIST training index, a taught digit's place from 0, or a
    pen digit's place in its file) and, for a pen digit, its writer."""

    kind: Kind
    number: int
    writer: int = 0

    def describe(self) -> str:
        """In words, for a table: "training #123", "training #123, styled", "yours #2"."""
        if self.kind is TAUGHT:
            return f"yours #{self.number + 1}"
        if self.kind is SHARED:
            return f"taught to the group, #{self.number + 1}"
        if self.kind is PEN:
            return f"pen digit #{self.number}, writer {self.writer}"
        return f"training #{self.number}" + (f", {self.kind.name}" if self.kind.name else "")

    @property
    def caption(self) -> str:
        """Short, for under a gallery picture: "#123ˢ", "★ yours"."""
        if self.kind is PEN:
            return f"writer {self.writer}{self.kind.mark}"
        if self.kind in (TAUGHT, SHARED):
            return "★ yours" if self.kind is TAUGHT else "☆ room"
        return f"#{self.number}{self.kind.mark}"

    @property
    def source(self) -> str:
        """Which set it belongs to: "mnist" (a training digit or a copy of one), "pen" or "taught" (by the visitor or to their group)."""
        return {TAUGHT: "taught", SHARED: "taught", PEN: "pen"}.get(self.kind, "mnist")


@dataclass(frozen=True)
class Neighbour:
    """One of the references nearest to a query, with everything a page or a report shows of it."""

    label: int
    distance: float  # exactly as the engine measured it (see knn.engine.Index.search)
    vector: np.ndarray  # (d,) uint8: what the engine compared with the query
    picture: np.ndarray  # (28, 28) uint8: what the gallery shows (the vector itself, for pixel spaces)
    origin: Origin

    def to_json(self) -> dict:
        """The neighbour as ``predict --json`` prints it: its index in its set (MNIST's training digits, or the
        pen digits' file), label, distance, kind of copy, source set, and a pen digit's writer."""
        out = {"index": self.origin.number, "label": self.label, "distance": self.distance,
               "variant": "" if self.origin.kind is PEN else self.origin.kind.name, "source": self.origin.source}
        if self.origin.kind is PEN:
            out["writer"] = self.origin.writer
        return out


def legends(kinds) -> list:
    """One line per distinct marked kind, in KINDS order: what the marks in a set of captions mean."""
    present = set(kinds)
    return [k.legend for k in KINDS if k in present and k.mark]
