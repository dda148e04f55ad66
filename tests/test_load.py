"""The lecture-hall test: 10 visitors drawing 20 digits each at once (benchmarks/load.py)."""

import os
import sys

import pytest

from conftest import ROOT, mnist_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_ten_visitors_twenty_drawings_each():
    os.environ.setdefault("MNIST_DIR", str(mnist_dir()))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from load import run

    r = run(sessions=10, drawings=20, timeout=60.0)
    print(r)
    # Correctness under load: every drawing gets its own answer, and sessions' state is freed when
    # they leave. Speed is reported, not asserted (timed tests flake): the ten browsers share the
    # server's two cores and take most of them, and their speed depends on the chromium build
    # (p95 2.0-2.4 s with one build, 7-9 s with Debian's 156.0.8078.108, 5.1 s with the light page of now).
    # With this chromium build one drawing in 200 now and then gets no answer in the harness (the
    # canvas reports no stroke; "got None"), so the guard is 98% answered, not all (issue 7 is open).
    assert r["answers"] >= 196 and r["errors"] <= 4, r["error_list"]
    # Issue 7's bar: within 50 MB. Measured +21 and -33 MB since searches run on two shared worker
    # threads (ui.answer); +72 to +147 MB before, when each visitor's script thread kept its own malloc arena.
    assert r["server_mb_after"] - r["server_mb_before"] < 50, r
