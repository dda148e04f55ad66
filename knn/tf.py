"""TensorFlow, imported once without the lines its C++ start-up writes to the terminal.

Importing TensorFlow 2.20 writes absl's "before InitializeLog" notice and
oneDNN's and the CPU guard's INFO lines straight to file descriptor 2,
before ``TF_CPP_MIN_LOG_LEVEL`` can stop them. Every module imports ``tf``
from here instead: while TensorFlow loads, descriptor 2 goes to a temporary
file, and afterwards every line of it but those start-up notices goes back
to stderr, so a real warning still shows. ``KNN_VERBOSE=1`` (``python -m
knn --verbose``) lets everything through.
"""

from __future__ import annotations

import os
import sys
import tempfile

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


tf = _quiet_import()
