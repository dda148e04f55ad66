"""What every visitor shares, made once per server process: MNIST, the reference sets, the search workers.

:func:`setup` runs at the top of every page run (the app's entry point calls
it; it is cheap and idempotent). The data and one set of references per
setting are built once and shared read-only by every visitor
(``st.cache_resource``); every search runs on a few shared worker threads
(:func:`answer`).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import streamlit as st

from knn import answer as answers
from knn import spaces
from knn import tf as knn_tf
from knn.cache import checksum
from knn.conformal import calibrate
from knn.data import DataError, load_mnist
from knn.learned import WeightsError
from knn.references import build
from ui import warmup

WORKERS = max(1, min(4, os.cpu_count() or 1))  # searches run at once; more only queue for the same cores
TRAIN_SIZES = (5000, 10000, 20000, 30000, 45000, 60000)  # the training subsets a visitor can choose


def setup() -> None:
    """Import TensorFlow (quietly: :func:`knn.tf.load`) and stop Streamlit from resetting Keras after every
    script run.

    Streamlit calls ``keras.backend.clear_session()`` at the end of each run
    whenever ``keras`` is imported, and TensorFlow imports it. That reset was
    a third of the server's CPU with ten visitors drawing (py-spy), and this
    app holds no Keras state to reset, so the call becomes a no-op. Keras is
    imported here, after TensorFlow, so that the patch is in place before the
    learned features load it.
    """
    knn_tf.load()
    try:
        import keras
    except ImportError:
        keras = sys.modules.get("keras")
    if keras is not None and getattr(keras, "backend", None) is not None:
        keras.backend.clear_session = _keep_session


def _keep_session(*args, **kwargs) -> None:
    """What ``keras.backend.clear_session`` does in this app: nothing (see :func:`setup`)."""


@contextmanager
def needed(hint: str = ""):
    """Run a block that needs MNIST or the learned features; if either is missing, say so and end the page's run."""
    try:
        yield
    except DataError as e:
        st.error(f"The MNIST data could not be loaded: {e}")
        st.stop()
    except WeightsError as e:
        st.error(f"The learned features are not available: {e}{hint}")
        st.stop()


@st.cache_resource(show_spinner=False)
def mnist():
    return load_mnist()


DEFAULT_SPACE = spaces.DEFAULT.name
DEFAULT = (TRAIN_SIZES[-1], "l1", DEFAULT_SPACE, True)  # the shipped setting: built from the first visit on (ui.warmup)


def build_references(n_train: int, metric: str, space: str, pen: bool = True):
    """The References of a setting and their calibration (:func:`knn.conformal.calibrate`), ready to search.
    ``pen``: the shipped references (real pen digits where the space holds them); False: MNIST alone, with the
    space's own copies, as the Evaluate page's tables were computed."""
    data = mnist()
    refs = build(data, space, metric, None if n_train >= len(data.train_labels) else n_train,
                 pen="default" if pen else None)
    calibrate(refs)
    blank = np.zeros(refs.index.dim, np.uint8)
    refs.index.search(blank, 1)  # compile the single-query paths now, not on a first stroke
    refs.index.nearest_per_label(blank)
    return refs


@st.cache_resource(show_spinner="Building the index for this setting and calibrating its certainty: once per "
                                "setting, shared by all visitors; up to a minute and a half the very first time, "
                                "a second once kept on disk...",
                   max_entries=6)
def references(n_train: int, metric: str, space: str, pen: bool = True):
    """:func:`build_references`, once per setting, read-only and shared; the shipped setting is the one
    :mod:`ui.warmup` builds from the first visit on."""
    if (n_train, metric, space, pen) == DEFAULT:
        return warmup.get().wait_full()
    return build_references(n_train, metric, space, pen)


def references_now(n_train: int, metric: str, space: str, where):
    """The Draw page's references for a setting: :func:`references`, except that while the shipped setting's
    are computed from nothing, the first index answers meanwhile, and ``where`` (a container every run of
    the page makes, so that the canvas keeps its place and its drawing) says what is being built."""
    if (n_train, metric, space, True) != DEFAULT:
        return references(n_train, metric, space)
    w = warmup.get()
    refs = warmup.wait_usable(w, where.empty())
    if refs is w.full_refs:
        return references(*DEFAULT)
    with where:
        warmup.building(w)
    return refs


@st.cache_resource
def _workers() -> ThreadPoolExecutor:
    """The few threads that answer every visitor's drawings, shared by the whole process.

    Streamlit runs each script run in a thread of its own. When each of
    those threads ran TensorFlow itself, every thread got its own malloc
    arena, and each arena kept the buffers of a search after it ended: the
    server grew by about 250 MB with ten visitors and stayed there. Through
    two shared threads the buffers are reused (docs/load.md). More threads
    than cores would only queue for the same cores.
    """
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="knn-search")


def answer(refs, picture, k: int, voting: str, taught=None):
    """:func:`knn.answer.answer` for one visitor's picture, run on the shared workers.

    The visitor's last answer is kept in their session: a run that asks again
    for the same picture with the same references, k, vote and taught digits
    (a press of Share or Send, a new level) reuses it instead of searching again.
    """
    mine = None if taught is None else checksum(taught.index.reconstruct(np.arange(len(taught))), taught.labels)
    key = (id(refs), checksum(np.asarray(picture)), k, voting, mine)
    last = st.session_state.get("last_answer")
    if last is not None and last[0] == key:
        return last[1]
    ans = run(answers.answer, refs, picture, k, voting, taught)
    st.session_state["last_answer"] = (key, ans)
    return ans


def run(read, *args):
    """``read(*args)`` on the shared workers (a search of a visitor's picture); its result, or its exception."""
    return _workers().submit(read, *args).result()


@contextmanager
def held(slot: dict, show, every: float = 0.5):
    """Hold ``slot["lock"]`` (a slot of work computed once per process) for the ``with`` block, which gets the
    progress callback for the work done under it, ``tick(done, total)``: it leaves the progress in
    ``slot["progress"]`` and shows it with ``show(done, total, True)``. While another visitor's page holds the
    lock, computing the same thing, ``show(done, total, False)`` shows that page's progress (once there is
    some) every ``every`` seconds: the visitor sees that work go on, and a rerun of their page can stop the wait."""
    while not slot["lock"].acquire(timeout=every):
        if "progress" in slot:
            show(*slot["progress"], False)

    def tick(done: int, total: int) -> None:
        slot["progress"] = (done, total)
        show(done, total, True)

    try:
        yield tick
    finally:
        slot["lock"].release()
