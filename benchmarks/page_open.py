"""How long a page takes to open again, in a real browser: the Evaluate page against the Draw page.

Starts ``streamlit run app.py`` (or uses ``--url``), opens the Evaluate page
once (its tables read from disk, or computed if they are not there yet),
then goes back and forth between Draw and Evaluate through the sidebar, as
a visitor does, and times each click until the page is on screen:

* Evaluate: every chart drawn (each plotly chart has its SVG), and the
  script run over;
* Draw, its peer in the same run: the canvas on screen and the run over.

Prints the times and the ratio of the medians as JSON. ``KNN_CACHE`` and
``MNIST_DIR`` are passed through, so point them at a cache that holds the
tables to time a reopen on a server that has them on disk.

    python benchmarks/page_open.py [--times 5] [--url http://...] [--shot evaluate.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

CHARTS = 7  # the Evaluate page's plotly charts with its default choices


def settled(pg) -> None:
    """Wait until the page's script run is over (Streamlit's running indicator is gone)."""
    while pg.locator('[data-testid="stStatusWidget"]').count():
        time.sleep(0.02)


def open_evaluate(pg, timeout: float = 600) -> float:
    """Click Evaluate in the sidebar; seconds until every chart is drawn and the run is over."""
    t = time.perf_counter()
    pg.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Evaluate").click()
    pg.locator(".js-plotly-plot .main-svg").nth(CHARTS - 1).wait_for(timeout=timeout * 1000)
    settled(pg)
    return time.perf_counter() - t


def open_draw(pg, timeout: float = 120) -> float:
    """Click Draw in the sidebar; seconds until the canvas is on screen and the run is over."""
    t = time.perf_counter()
    pg.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Draw").click()
    pg.locator("canvas.upper-canvas").wait_for(timeout=timeout * 1000)
    settled(pg)
    return time.perf_counter() - t


def measure(url: str, times: int, shot=None) -> dict:
    from playwright.sync_api import sync_playwright

    from helpers import ARGS, CHROMIUM, ready

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(url)
        ready(pg)
        first = open_evaluate(pg)
        evaluate, draw = [], []
        for _ in range(times):
            draw.append(open_draw(pg))
            evaluate.append(open_evaluate(pg))
        if shot:
            pg.screenshot(path=shot, full_page=True)
        browser.close()
    return {"evaluate_first_s": round(first, 2), "evaluate_reopen_s": [round(x, 2) for x in evaluate],
            "draw_reopen_s": [round(x, 2) for x in draw],
            "evaluate_reopen_median_s": round(statistics.median(evaluate), 2),
            "evaluate_reopen_max_s": round(max(evaluate), 2),
            "draw_reopen_median_s": round(statistics.median(draw), 2),
            "ratio_evaluate_to_draw": round(statistics.median(evaluate) / statistics.median(draw), 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--times", type=int, default=5)
    ap.add_argument("--url", help="a server already running there")
    ap.add_argument("--shot", help="save a full-page screenshot of the Evaluate page here")
    a = ap.parse_args()
    if a.url:
        print(json.dumps(measure(a.url, a.times, a.shot), indent=1))
        return 0
    import os
    import subprocess

    from deploy.replicas import free_port, wait_healthy

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                              cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}")
        print(json.dumps(measure(f"http://127.0.0.1:{port}", a.times, a.shot), indent=1))
    finally:
        server.terminate()
        server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
