"""Widgets the pages share: the drawing canvas (one adapter that knows its quirks) and the digit gallery."""

from __future__ import annotations

import html

import numpy as np
import streamlit as st

from knn.drawn import CANVAS
from knn.figures import data_uri, for_display


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


def strip(pictures, captions, width: int = 84) -> str:
    """HTML: pictures side by side, ``width`` px wide, each with its caption under it.

    The pictures travel inside the page's own message as PNG ``data:`` URIs,
    not as files the browser fetches one request each, and small ones go as
    they are (a 28x28 digit is 28x28): the browser enlarges them with crisp
    pixels. Larger ones are first shrunk to ``width``.
    """
    cells = "".join(
        f'<figure class="knn-pic" style="width:{width}px"><img src="{data_uri(for_display(p, width))}" width="{width}" '
        f'alt="{html.escape(c)}"><figcaption>{html.escape(c)}</figcaption></figure>'
        for p, c in zip(pictures, captions))
    return f'<div class="knn-strip">{cells}</div>'


def gallery(images, labels, captions, prediction=None, size: int = 84):
    """28x28 digits side by side, captioned "label · caption"; a ✗ marks labels other than ``prediction``."""
    marks = ["" if prediction is None or y == prediction else " ✗" for y in labels]
    st.html(strip([np.asarray(im, np.uint8).reshape(28, 28) for im in images],
                     [f"{y}{m} · {c}" for y, m, c in zip(labels, marks, captions)], size))


# How the strips look: crisp enlarged pixels with a thin frame, captions small and centred.
PICTURES = """<style>
.knn-strip { display: flex; flex-wrap: wrap; gap: 10px 8px; }
.knn-pic { margin: 0; text-align: center; }
.knn-pic img { image-rendering: pixelated; outline: 1px solid #5a6270; height: auto; }
.knn-pic figcaption { font-size: 0.8em; opacity: 0.75; line-height: 1.3; margin-top: 3px; }
[data-testid="stImage"] img { image-rendering: pixelated; }
</style>"""
