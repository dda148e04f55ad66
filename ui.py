"""Page code shared by the two pages (app.py and pages/2_Evaluate.py).

The shared, read-only resources (MNIST, one index per setting) are cached
once per process with ``st.cache_resource``; the neighbour gallery is drawn
the same way on both pages. Per-visitor state (the digits a visitor taught)
lives in ``st.session_state`` and is handled here too.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import streamlit as st

from knn.data import load_mnist
from knn.evaluate import build_index, explain
from knn.figures import enlarge

MAX_TAUGHT = 100  # digits one visitor may teach: bounded memory per session (under 2 kB each)
WORKERS = max(1, min(4, os.cpu_count() or 1))  # searches run at once; more only queue for the same cores


def _keep_keras_session() -> None:
    """Stop Streamlit from resetting Keras after every script run.

    Streamlit calls ``keras.backend.clear_session()`` at the end of each run
    whenever ``keras`` is imported, and TensorFlow imports it. That reset was
    a third of the server's CPU with ten visitors drawing (py-spy), and this
    app holds no Keras state to reset, so the call becomes a no-op.
    """
    try:
        import keras  # imported now, so the patch is in place before the learned features load Keras
    except ImportError:
        keras = sys.modules.get("keras")
    if keras is not None:
        try:
            keras.backend.clear_session = lambda *args, **kwargs: None
        except AttributeError:
            pass


_keep_keras_session()


@st.cache_resource(show_spinner="Loading MNIST...")
def mnist():
    return load_mnist()


@st.cache_resource(show_spinner="Building the index (once per setting, shared by all visitors)...", max_entries=6)
def index_for(n_train: int, metric: str, preprocess: str):
    """(Index, References) for a setting; read-only and shared by every visitor."""
    index, refs = build_index(mnist(), None if n_train == 60000 else n_train, 0, metric, preprocess)
    index.search(np.zeros(index.dim, np.uint8), 1)  # compile the single-query path now, not on a visitor's first stroke
    return index, refs


@st.cache_resource
def _workers() -> ThreadPoolExecutor:
    """The few threads that answer every visitor's drawings, shared by the whole process.

    Streamlit runs each script run in a thread of its own. When each of those
    threads ran TensorFlow itself, every thread got its own malloc arena, and
    each arena kept the buffers of a search after it ended: with ten visitors
    the server grew by about 250 MB and stayed there (measured: 1,000 searches
    from fresh threads, 767 -> 1,045 MB; through two shared threads, 767 -> 850 MB).
    More threads than cores would only queue for the same cores; the load
    test's answer times stayed within their run-to-run spread (p50 3.0 -> 3.1 s).
    """
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="knn-search")


def answer(index, picture, k: int, weights: str, preprocess: str):
    """``explain`` for this visitor's picture (with their taught digits), run on the shared workers."""
    return _workers().submit(explain, index, picture, k, weights, preprocess, taught=taught(preprocess)).result()


# ---- the visitor's own taught digits (session-local) ----

def taught(preprocess: str):
    """(vectors (m, d) uint8 as compared, labels (m,), pictures (m, 28, 28)) taught under a pipeline, or None."""
    items = st.session_state.get("taught", {}).get(preprocess, [])
    if not items:
        return None
    return (np.stack([v for v, _, _ in items]), np.array([y for _, y, _ in items], np.int64),
            np.stack([p for _, _, p in items]))


def teach(preprocess: str, query: np.ndarray, label: int, picture: np.ndarray) -> str:
    """Add a digit (its vector as compared and its 28x28 picture) to this visitor's set; returns a message."""
    store = st.session_state.setdefault("taught", {})
    items = store.setdefault(preprocess, [])
    if sum(len(v) for v in store.values()) >= MAX_TAUGHT:
        return f"You have taught {MAX_TAUGHT} digits, the most one visitor can. Forget them to teach more."
    items.append((np.asarray(query, np.uint8).reshape(-1).copy(), int(label),
                  np.asarray(picture, np.uint8).reshape(28, 28).copy()))
    return f"Taught: this drawing is a {label}. It is now one of your neighbours (marked ★), for this session only."


def forget() -> None:
    st.session_state["taught"] = {}


def n_taught() -> int:
    return sum(len(v) for v in st.session_state.get("taught", {}).values())


# ---- the gallery ----

def gallery(images, labels, captions, prediction=None, per_row: int = 8, size: int = 84):
    """A grid of enlarged 28x28 digits; a ✗ marks labels that differ from ``prediction``."""
    for start in range(0, len(images), per_row):
        cols = st.columns(per_row)
        for col, j in zip(cols, range(start, min(start + per_row, len(images)))):
            mark = "" if prediction is None or labels[j] == prediction else " ✗"
            col.image(enlarge(np.asarray(images[j]).reshape(28, 28), size), width=size + 2,
                      caption=f"{labels[j]}{mark} · {captions[j]}")


def neighbours_csv(rank_labels, sources, distances) -> str:
    """The neighbours as CSV text: rank, label, source, distance."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["rank", "label", "source", "distance"])
    for r, (lab, src, d) in enumerate(zip(rank_labels, sources, distances), 1):
        w.writerow([r, int(lab), src, f"{float(d):g}"])
    return out.getvalue()
