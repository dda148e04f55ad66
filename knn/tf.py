"""TensorFlow, imported once, when first used, without the lines its C++ start-up writes to the terminal.

Every module imports ``tf`` from here. It is a stand-in that imports
TensorFlow the first time one of its names is used (``tf.constant``), so
what never computes, such as ``python -m knn --help`` or a command line
refused before any work, answers without TensorFlow's seconds of import.
:func:`load` imports it at a moment of the caller's choosing (the page's
builder does, first).

Importing TensorFlow 2.20 writes absl's "before InitializeLog" notice and
oneDNN's and the CPU guard's INFO lines straight to file descriptor 2,
before ``TF_CPP_MIN_LOG_LEVEL`` can stop them. While TensorFlow loads,
descriptor 2 goes to a temporary file, and afterwards every line of it but
those start-up notices goes back to stderr, so a real warning still shows.
``KNN_VERBOSE=1`` (``python -m knn --verbose``) lets everything through.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading

NOISE = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
         "cpu_feature_guard.cc", "To enable the following instructions:")


def _quiet_import():
    if os.environ.get("KNN_VERBOSE") or "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # no real stderr (a test's capture): nothing to keep quiet
        import tensorflow

        return tensorflow
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), fd)
        try:
            import tensorflow
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            caught.seek(0)
            said = caught.read().decode("utf-8", "replace").splitlines()
    for line in said:
        if line.strip() and not any(n in line for n in NOISE):
            print(line, file=sys.stderr)
    return tensorflow


_module = None
_loading = threading.Lock()  # one import at a time: two threads must not both redirect descriptor 2


def load():
    """The tensorflow module, imported (quietly) now if it is not yet."""
    global _module
    if _module is None:
        with _loading:
            if _module is None:
                _module = _quiet_import()
    return _module


class _TensorFlow:
    """Stands in for the tensorflow module: the first name asked of it imports TensorFlow (:func:`load`)."""

    def __getattr__(self, name: str):
        return getattr(load(), name)

    def __dir__(self):
        return dir(load())

    def __repr__(self) -> str:
        return f"<TensorFlow, {'imported' if _module is not None else 'imported when first used'}>"


tf = _TensorFlow()
