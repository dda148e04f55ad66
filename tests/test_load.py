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

    r = run(sessions=10, drawings=20)
    print(r)
    assert r["errors"] == 0, r["error_list"]
    assert r["answers"] == 200
    # Measured here: p95 1.6-2.0 s, with all ten browsers on the server's own 2 cores (they, not
    # the server, use most of the CPU). The guard leaves room for a slower CI machine.
    assert r["p95_ms"] < 4000, r
    assert r["server_mb_after"] - r["server_mb_before"] < 50, r  # sessions' state is freed when they leave
