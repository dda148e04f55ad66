"""The first minute, timed: ``streamlit run app.py`` on an empty cache, a browser's first visit, a first answer.

Starts the app on a fresh port with ``$KNN_CACHE`` an empty folder (nothing
the app made before is on disk), opens it in Debian's chromium at once, as a
lecturer would, and times from the moment the command is started:

* ``server``: the port accepts connections;
* ``progress``: the page names what it is building ("Starting TensorFlow...", "Building ...");
* ``canvas``: the canvas is on screen;
* ``answer``: a 7 drawn with the mouse is read (the Prediction shows);
* ``full``: the page uses the full index (its sidebar names the real pen
  digits among its references).

It then prints the builder's own timeline (:class:`ui.warmup.Warmup`) from a
second, in-process build on another empty folder, so each step's seconds can
be read: TensorFlow's import, MNIST, the first index, the full index and its
parts. Run where ``MNIST_DIR`` (and the pen digits, ``../shared/data``) are at hand:

    python benchmarks/first_start.py [--keep DIR] [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import re
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEVEN = [[(60, 60), (220, 60), (120, 240)]]  # canvas px, y down


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_run(cache: str, timeout: float) -> dict:
    """Start the server on an empty cache and time the first visit (see the module docstring)."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import ARGS, CHROMIUM, PROJECTOR, mouse_draw, read_prediction

    port = free_port()
    env = dict(os.environ, KNN_CACHE=cache)
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    out = {}
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        out["server"] = time.perf_counter() - t0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            pg = browser.new_page(viewport=PROJECTOR)
            out["browser"] = time.perf_counter() - t0
            pg.goto(f"http://127.0.0.1:{port}")
            pg.get_by_text(re.compile(r"^(Starting|Building)")).first.wait_for(timeout=timeout * 1000)
            out["progress"] = time.perf_counter() - t0
            out["progress_after_visit"] = out["progress"] - out["browser"]
            canvas = pg.locator("canvas.upper-canvas")
            canvas.wait_for(timeout=timeout * 1000)
            out["canvas"] = time.perf_counter() - t0
            mouse_draw(pg, SEVEN, steps=8)
            out["prediction"] = read_prediction(pg, timeout=timeout)
            out["answer"] = time.perf_counter() - t0
            out["first_index_note"] = pg.get_by_text("Until it is ready").count() > 0
            out["ink_first"] = ink(canvas)
            pg.screenshot(path=str(Path(cache).parent / "first-answer.png"))
            pg.get_by_text("drawings of real pen digits").first.wait_for(timeout=timeout * 1000)
            out["full"] = time.perf_counter() - t0
            out["prediction_full"] = read_prediction(pg, timeout=timeout)
            time.sleep(1)
            out["ink_full"] = ink(canvas)  # the drawing is still on the canvas after the switch
            pg.screenshot(path=str(Path(cache).parent / "full-answer.png"))
            browser.close()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    out["server_stderr"] = [line for line in err.splitlines() if line.strip()]
    return out


def ink(canvas) -> int:
    """How many pixels of the canvas on screen are lit: the drawing is there, or gone."""
    import io

    import numpy as np
    from PIL import Image

    return int((np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("L")) > 128).sum())


def builder_timeline(cache: str) -> list:
    """The builder's phases and the parts it reported, in seconds from its start (in this process)."""
    os.environ["KNN_CACHE"] = cache
    from ui import warmup

    parts, last = [], {}

    def seen(what, done, total):
        if what not in last:
            last[what] = time.perf_counter()
            parts.append([what, last[what], None, total])
        parts[[p[0] for p in parts].index(what)][2] = time.perf_counter()

    w = warmup.Warmup(warmup._imports, warmup._first, warmup._full, warmup._data)
    original = w._report

    def report(what, done, total):
        seen(w.step.phase + ": " + what, done, total)
        original(what, done, total)

    w._report = report
    t0 = time.perf_counter()
    w.start()
    w.finished.wait()
    if w.error:
        raise w.error
    return {"phases": [(round(t, 1), phase) for t, phase in w.timeline],
            "parts": [(what, round(a - t0, 1), round(b - t0, 1), total) for what, a, b, total in parts]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--keep", help="a folder to keep the empty caches in (and the screenshot)")
    a = ap.parse_args()
    base = a.keep or tempfile.mkdtemp(prefix="knn-first-")
    Path(base, "browser").mkdir(parents=True, exist_ok=True)
    Path(base, "builder").mkdir(parents=True, exist_ok=True)
    result = {"browser": browser_run(str(Path(base, "browser")), a.timeout)}
    print(json.dumps(result, indent=1), flush=True)
    result["builder"] = builder_timeline(str(Path(base, "builder")))
    print(json.dumps(result["builder"], indent=1), flush=True)
    Path(base, "first-start.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
