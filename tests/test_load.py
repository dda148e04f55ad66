"""The lecture-hall test: 10 visitors drawing at once, 3 digits each (benchmarks/load.py).

The benchmark's own default is 10 x 20; docs/load.md has those runs. Here
the crowd is shorter (the suite's time) but the same: ten browsers on the
server's two cores, drawing flat out.
"""

import os
import sys

import pytest

from helpers import ROOT, mnist_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS, DRAWINGS = 10, 3


def test_ten_visitors_drawing_at_once():
    os.environ.setdefault("MNIST_DIR", str(mnist_dir()))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from load import run

    # nice 19: the browsers stand for the visitors' own devices, so the server is served first.
    # The memory after the first visitor alone is the benchmark's figure, not checked here: no settle for it.
    # Settles of 5 s, not the benchmark's 15: Streamlit frees a closed page's session within a second or two.
    r = run(sessions=SESSIONS, drawings=DRAWINGS, timeout=60.0, settle=5.0, nice=19, first_visitor_memory=False)
    print(r)
    total = SESSIONS * DRAWINGS
    # Correctness under load: every drawing gets its own answer, and sessions' state is freed when
    # they leave. Speed is reported, not asserted (timed tests flake): the ten browsers share the
    # server's two cores and take most of them (docs/load.md: about 1.2 CPU-s per drawing, the server 0.15).
    # With this chromium build one drawing in 200 now and then gets no answer in the harness (the
    # canvas reports no stroke; "got None"), so the guard is 98% answered, not all.
    assert r["answers"] >= 0.98 * total and r["errors"] <= 0.02 * total, r["error_list"]
    # The server's answer times were logged (timed_server.py still finds Streamlit's methods): one
    # script run at least per drawing, its stroke's.
    assert r["server_runs"] >= r["answers"], r
    # Within 50 MB once the visitors have left: measured +21 and -33 MB with the searches on two shared
    # worker threads (ui.resources.answer); +72 to +147 MB when each script thread kept its own malloc arena.
    assert r["server_mb_after"] - r["server_mb_before"] < 50, r
