"""Widgets the pages share: the drawing canvas (one adapter that knows its quirks) and the digit gallery."""

from __future__ import annotations

import numpy as np
import streamlit as st

from knn.drawn import CANVAS
from knn.figures import enlarge


def draw_canvas(stroke_width: int):
    """The drawing area; returns the drawing as an RGBA array, or None if empty.

    streamlit-drawable-canvas 0.13 quirks, kept here: pixels come back only with
    ``return_image_data=True``; ``image_data`` is None until the first stroke
    and may be larger than the canvas on high-DPI screens (the preprocessing
    does not care); its toolbar (undo, redo, reset) is always on.
    """
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(
        stroke_width=stroke_width, stroke_color="#FFFFFF", background_color="#000000",
        width=CANVAS, height=CANVAS, drawing_mode="freedraw", return_image_data=True,
        update_streamlit=True, key="canvas",
    )
    objects = (result.json_data or {}).get("objects") or []
    return result.image_data if objects else None


def gallery(images, labels, captions, prediction=None, per_row: int = 8, size: int = 84):
    """A grid of enlarged 28x28 digits captioned "label · caption"; a ✗ marks labels that differ from ``prediction``."""
    for start in range(0, len(images), per_row):
        cols = st.columns(per_row)
        for col, j in zip(cols, range(start, min(start + per_row, len(images)))):
            mark = "" if prediction is None or labels[j] == prediction else " ✗"
            col.image(enlarge(np.asarray(images[j]).reshape(28, 28), size), width=size + 2,
                      caption=f"{labels[j]}{mark} · {captions[j]}")
