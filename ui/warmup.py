"""The first minute: the shipped index built on a thread of its own, and what the page shows meanwhile.

On an empty cache the default references (60,000 MNIST digits and 14,988
drawings of real pen digits, in learned features, with their calibrated
certainty) take 80 to 150 s to make on 2 cores, by machine (docs/first-start.md). So the
first visit to a fresh server starts a builder that makes, in order:

1. TensorFlow's import, then MNIST (4 to 7 s);
2. a *first index*: the same learned space over the tutorial's 5,000
   training digits, calibrated the same way (6 to 14 s from nothing);
3. the *full index*, the shipped default.

The Draw page answers with the full index when it is ready, or when it
comes from disk within moments; while the full index is being computed it
answers with the first one and says so, with the step and its progress, and
reruns by itself when the full index is in. This module imports no
TensorFlow, so ``app.py`` can show the first step within a second of the
first visit. One :class:`Warmup` per server process (:func:`get`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import streamlit as st

FIRST_TRAIN = 5000  # the first index's training digits: the tutorial's own number
MEANWHILE = "Until it is ready, answers come from a first index"  # how the page's note begins (tests wait on it)
STEP_SECONDS = 0.25  # how often a waiting page redraws the progress
FIRST_PAINT = 0.1  # the builder waits this long before TensorFlow's import takes the interpreter (the GIL), so
# that the first visit's "Starting TensorFlow..." line leaves the server first


@dataclass
class Step:
    """What the builder is doing: a phase, and the part of it ``knn.progress`` last reported."""

    phase: str
    what: str = ""
    done: int = 0
    total: int = 0


@dataclass
class Warmup:
    """Builds ``first()`` then ``full()`` on a daemon thread; the page reads its fields (one writer, many readers).

    ``imports`` runs first (TensorFlow's import), so that the page can
    show the builder's progress before it imports what needs TensorFlow.
    ``computing`` turns true once the full build reports progress, which
    only work done from nothing does (a cached result reports nothing): from
    then on the first index answers in its place.
    """

    imports: Callable[[], None]
    first: Callable[[], object]
    full: Callable[[], object]
    data: Callable[[], object] = lambda: None  # loads the data set both builds read, before the first
    step: Step = field(default_factory=lambda: Step("Starting TensorFlow"))
    first_refs: Optional[object] = None
    full_refs: Optional[object] = None
    error: Optional[BaseException] = None
    computing: bool = False
    timeline: list = field(default_factory=list)  # (seconds since start, phase), for the page and the benchmark
    imported: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    thread: Optional[threading.Thread] = None  # the builder, once started
    started_at: float = 0.0  # its time.perf_counter() at the start

    def start(self) -> "Warmup":
        """Start the builder, once (later calls return at once)."""
        with _starting:
            if self.thread is None:
                self.started_at = time.perf_counter()
                self.thread = threading.Thread(target=self._run, name="knn-warmup", daemon=True)
                self.thread.start()
        return self

    def _phase(self, phase: str) -> None:
        self.timeline.append((time.perf_counter() - self.started_at, phase))
        self.step = Step(phase)

    def _run(self) -> None:
        from knn import progress

        try:
            self._phase("Starting TensorFlow")
            time.sleep(FIRST_PAINT)
            self.imports()
            self.imported.set()
            self._phase("Loading MNIST")
            self.data()
            self._phase(f"Building a first index of {FIRST_TRAIN:,} MNIST digits")
            with progress.watching(self._report):
                self.first_refs = self.first()
            self._phase("Building the full index")
            with progress.watching(self._report_full):
                self.full_refs = self.full()
            self.first_refs = None  # no page answers from it any more: its memory goes back
            self._phase("Ready")
        except BaseException as e:  # kept for the page to show (a missing data set, missing weights)
            self.error = e
        finally:
            self.imported.set()
            self.finished.set()

    def _report(self, what: str, done: int, total: int) -> None:
        self.step = Step(self.step.phase, what, done, total)

    def _report_full(self, what: str, done: int, total: int) -> None:
        self.computing = True
        self._report(what, done, total)

    def usable(self):
        """The references to answer with now, or None to wait: the full index when ready; the first one
        while the full one is computed from nothing. Raises what the build raised."""
        if self.full_refs is not None:
            return self.full_refs
        if self.error is not None:
            raise self.error
        if self.first_refs is not None and self.computing:
            return self.first_refs
        return None

    def wait_full(self):
        """The full index, waiting for it; raises what the build raised."""
        self.finished.wait()
        if self.error is not None:
            raise self.error
        return self.full_refs


def describe(step: Step) -> tuple:
    """(line, fraction or None) for a step, as the page shows it."""
    if step.total:
        return f"{step.phase}: {step.what}, {step.done:,} of {step.total:,}", min(1.0, step.done / step.total)
    return f"{step.phase}...", None


def show(w: Warmup, where) -> None:
    """The builder's step and progress, drawn into ``where`` (an ``st.empty()`` or a container)."""
    line, fraction = describe(w.step)
    with where.container():
        if fraction is None:
            st.info(line, icon=":material/hourglass_top:")
        else:
            st.progress(fraction, text=line)


def wait_imports(box) -> None:
    """Start the server's builder if it is not started, and show its progress in ``box`` (an ``st.empty()``
    that every run makes, so that the page's elements keep their places) until TensorFlow is imported: on
    the first visit to a fresh server, the line is drawn before the builder starts."""
    w = _one()
    if not w.imported.is_set():
        show(w, box)
    w.start()
    while not w.imported.wait(STEP_SECONDS):
        show(w, box)
    box.empty()


def wait_usable(w: Warmup, box):
    """The references to answer with (:meth:`Warmup.usable`), showing the builder's progress in ``box``
    (an ``st.empty()``) until there are some."""
    while (refs := w.usable()) is None:
        show(w, box)
        time.sleep(STEP_SECONDS)
    box.empty()
    return refs


@st.fragment(run_every=1)
def building(w: Warmup) -> None:
    """While the page answers with the first index: what is still being built, and a rerun once it is in."""
    if w.full_refs is not None or w.error is not None:
        st.rerun()
    show(w, st)
    st.caption(f"{MEANWHILE} of {FIRST_TRAIN:,} MNIST digits in the same "
               "learned features, less sure of strangers' digits; the page switches by itself.")


def _imports() -> None:
    from ui import resources

    resources.setup()  # TensorFlow's import, quietly, and Keras's patch


def _data():
    from ui import resources

    return resources.mnist()  # downloaded through Keras where it is nowhere on disk


def _first():
    from ui import resources

    return resources.build_references(FIRST_TRAIN, "l1", resources.DEFAULT_SPACE, pen=False)


def _full():
    from ui import resources

    return resources.build_references(*resources.DEFAULT)


_starting = threading.Lock()


@st.cache_resource(show_spinner=False)
def _one() -> Warmup:
    """The server's one builder, not started yet."""
    return Warmup(_imports, _first, _full, _data)


def get() -> Warmup:
    """The server's one builder, started here if no visit has started it yet (:func:`wait_imports`)."""
    return _one().start()
