"""Where one script run of the Draw page spends its time: the page through AppTest, profiled in its own thread.

Answers N MNIST test digits in a row (a new drawing each run, as a stroke
does) and prints the wall time per run and the functions that took most of
it. AppTest compiles the page anew on every run; a server compiles it once,
so the compile is taken out (one script cache for all runs) to profile what
a server's run does.

    MNIST_DIR=../shared/data/mnist python benchmarks/page_profile.py [--runs 20] [--top 25] [--sort tottime]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def profile(runs: int = 20, top: int = 25, sort: str = "cumulative") -> str:
    import knn  # noqa: F401  (TensorFlow's log level, before Streamlit imports anything)
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test
    from streamlit.testing.v1.app_test import AppTest

    shared = ScriptCache()
    app_test.ScriptCache = lambda: shared  # compile once, as a server does
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    at.radio(key="input").set_value("MNIST").run()
    for row in range(3):  # warm: compiled kernels, caches
        at.session_state.test_row = row
        at.run()
    prof = cProfile.Profile()

    def start(frame, event, arg):  # the first event in each new thread: profile the script thread
        sys.setprofile(None)
        prof.enable()

    threading.setprofile(start)
    began = time.perf_counter()
    for row in range(runs):
        at.session_state.test_row = 100 + row
        at.run()
    seconds = (time.perf_counter() - began) / runs
    threading.setprofile(None)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats(sort).print_stats(top)
    return f"{seconds * 1000:.1f} ms per run (wall, AppTest included), {runs} runs\n" + out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--sort", default="cumulative", help="a pstats sort key: cumulative, tottime, ...")
    a = ap.parse_args()
    print(profile(a.runs, a.top, a.sort))


if __name__ == "__main__":
    main()
