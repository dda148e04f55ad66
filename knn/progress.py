"""Progress of the long computations (drawing pen digits, learned features, calibration), for whoever watches.

The heavy loops call :func:`report` as they go; it costs nothing when no
one watches. A caller that wants to show progress wraps its work in
:func:`watching` with a callback ``(what, done, total)``. The callback is
held per thread (a context variable), so only the work started inside the
``with`` block reports to it; the app's first-start builder uses this to
show what it is making (:mod:`ui.warmup`).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Optional

Callback = Callable[[str, int, int], None]
_watcher: ContextVar[Optional[Callback]] = ContextVar("knn_progress", default=None)


@contextmanager
def watching(callback: Callback):
    """Send every :func:`report` made inside this block, on this thread, to ``callback(what, done, total)``."""
    token = _watcher.set(callback)
    try:
        yield
    finally:
        _watcher.reset(token)


def report(what: str, done: int, total: int) -> None:
    """``done`` of ``total`` of ``what`` (a few words: "learned features") are made; tell the watcher, if any."""
    callback = _watcher.get()
    if callback is not None:
        callback(what, done, total)
