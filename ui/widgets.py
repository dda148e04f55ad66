"""Widgets the pages share: the drawing canvas (one adapter that knows its quirks), the digit gallery, the layout,
a progress bar for long first computations."""

from __future__ import annotations

import html
import time

import numpy as np
import streamlit as st

from knn.drawn import CANVAS
from knn.figures import data_uri, for_display
from knn.sketch import from_fabric


def draw_canvas(stroke_width: int, size: tuple = (CANVAS, CANVAS), initial=None, key: str = "canvas"):
    """The drawing area; returns the drawing as a :class:`knn.sketch.Sketch`, or None if empty.

    The page reads the strokes the canvas sends (fabric.js paths), drawn on
    the server by :meth:`knn.sketch.Sketch.picture`, not the canvas's own
    bitmap: no picture travels on each stroke, and a drawing shared by link
    is read exactly as it was drawn. ``initial`` (a Sketch) is shown on the
    canvas when it is first drawn under ``key``; a new ``key`` starts an
    empty canvas. streamlit-drawable-canvas 0.13 quirk, kept here: its
    toolbar (undo, redo, reset) only shows while the pointer hovers over it,
    so on a phone the page's own Clear button is the way to start again.
    """
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(
        stroke_width=stroke_width, stroke_color="#FFFFFF", background_color="#000000",
        width=size[0], height=size[1], drawing_mode="freedraw", return_image_data=False,
        initial_drawing=None if initial is None else initial.to_fabric(), update_streamlit=True, key=key,
    )
    sketch = from_fabric(result.json_data, size)
    return sketch if len(sketch) else None


def strip(pictures, captions, width: int = 84, row: bool = False) -> str:
    """HTML: pictures side by side, ``width`` px wide, each with its caption under it.

    The pictures travel inside the page's own message as PNG ``data:`` URIs,
    not as files the browser fetches one request each, and small ones go as
    they are (a 28x28 digit is 28x28): the browser enlarges them with crisp
    pixels. Larger ones are first shrunk to ``width``. A ``row`` stays one
    row on a narrow screen, its pictures shrinking to fit.
    """
    cells = "".join(
        f'<figure class="knn-pic" style="width:{width}px"><img src="{data_uri(for_display(p, width))}" width="{width}" '
        f'alt="{html.escape(c)}"><figcaption>{html.escape(c)}</figcaption></figure>'
        for p, c in zip(pictures, captions))
    return f'<div class="knn-strip{" knn-row" if row else ""}">{cells}</div>'


def a_digit(d) -> str:
    """The digit with its article, as a sentence says it: "a 7", "an 8"."""
    return f"{'an' if int(d) == 8 else 'a'} {d}"


def gallery(images, labels, captions, prediction=None, size: int = 84, row: bool = False, where=st):
    """28x28 digits side by side, captioned "label · caption"; a ✗ marks labels other than ``prediction``."""
    marks = ["" if prediction is None or y == prediction else " ✗" for y in labels]
    where.html(strip([np.asarray(im, np.uint8).reshape(28, 28) for im in images],
                     [f"{y}{m} · {c}" for y, m, c in zip(labels, marks, captions)], size, row))


# Where a page is laid out for a phone: held upright (narrow), or held sideways (little height to spare).
SIDEWAYS = "(orientation: landscape) and (max-height: 500px)"
PHONE = f"(max-width: 640px), {SIDEWAYS}"

# How the strips look: crisp enlarged pixels with a thin frame, captions small and centred.
PICTURES = f"""<style>
.knn-strip {{ display: flex; flex-wrap: wrap; gap: 10px 8px; }}
.knn-pic {{ margin: 0; text-align: center; flex: 0 1 auto; min-width: 0; }}
.knn-pic img {{ image-rendering: pixelated; outline: 1px solid #5a6270; height: auto; max-width: 100%; }}
.knn-pic figcaption {{ font-size: 0.8em; opacity: 0.75; line-height: 1.3; margin-top: 3px; }}
[data-testid="stImage"] img {{ image-rendering: pixelated; }}
.knn-row {{ flex-wrap: nowrap; }}
@media {PHONE} {{ .knn-row {{ gap: 6px 4px; }} .knn-row figcaption {{ font-size: 0.62em; }} }}
</style>"""

# The pages' layout: the canvas, the answer and the first neighbours on one screen of a phone (390x844)
# or a projector (1280x720): less padding than Streamlit's, a smaller title on a phone.
LAYOUT = f"""<style>
[data-testid="stMainBlockContainer"] {{ padding: 3.6rem 2rem 3rem; }}
h1 {{ font-size: 2rem !important; padding: 0.2rem 0 0.4rem !important; }}
/* room above the canvas for its own toolbar (upload, undo, redo, edit, bin), which it draws just above itself */
.st-key-canvas-box, .st-key-wide-canvas {{ padding-top: 1.3rem; }}
/* one tap corrects: ten digit buttons, large enough for a finger, in one row on a phone */
.st-key-correct {{ gap: 0.35rem !important; }}
.st-key-correct button {{ min-width: 2.5rem; min-height: 2.6rem; padding: 0.25rem 0.5rem; }}
.knn-room-banner {{ font-size: 1.15rem; font-weight: 600; padding: 0.3rem 0.8rem; border-radius: 0.5rem;
  background: #1c3a63; color: #fff; display: inline-block; }}
@media {PHONE} {{
  [data-testid="stMainBlockContainer"] {{ padding: 3.4rem 0.9rem 2rem; }}
  h1 {{ font-size: 1.35rem !important; padding: 0 0 0.1rem !important; }}
  .knn-tagline {{ display: none; }}
  [data-testid="stMetricValue"] {{ font-size: 1.9rem; }}
  .st-key-correct {{ gap: 0.25rem !important; flex-wrap: nowrap !important; }}
  .st-key-correct button {{ min-width: 0; width: 2rem; min-height: 2.75rem; padding: 0; }}
}}
@media {SIDEWAYS} {{ .st-key-correct {{ flex-wrap: wrap !important; }} }}  /* its column may be narrower */
</style>"""


class ProgressBar:
    """A progress bar over what is read (test digits, pictures) that, once that count has stood still for
    ``still`` seconds, also says what is being made meanwhile: :meth:`making` is a :mod:`knn.progress` callback
    (a space's references, their features, a calibration; on a fresh server, minutes in which the count alone
    would seem stuck)."""

    def __init__(self, text: str, still: float = 2.0):
        self.bar, self.still = st.progress(0.0, text=text), still
        self.fraction, self.text, self.at = 0.0, text, time.monotonic()

    def show(self, fraction: float, text: str) -> None:
        self.fraction, self.text, self.at = min(1.0, fraction), text, time.monotonic()
        self.bar.progress(self.fraction, text=text)

    def making(self, what: str, done: int, total: int) -> None:
        if time.monotonic() - self.at >= self.still:
            self.bar.progress(self.fraction, text=f"{self.text} · now {what}: {done:,} of {total:,}")

    def empty(self) -> None:
        self.bar.empty()
