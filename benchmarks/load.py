"""Load test: many visitors drawing at once on one Streamlit server.

Starts ``streamlit run app.py`` on localhost, opens N pages (one headless
chromium, one browser context per visitor), and has each visitor draw
digits with the mouse again and again: clear the canvas, draw a 1, a 0 or
a 7, and wait for the Prediction to show. The visitors open the page
together and start drawing once every page has loaded (the page-load times
are reported apart). It reports answers per second,
the time from releasing the mouse to the prediction on screen (p50, p95),
the server's part of every answer (from a request reaching the server to
the end of the script run that answered it, logged by timed_server.py),
the server's CPU seconds per answer, errors (a wrong or missing answer, an
exception on the page), and the server's resident memory: after the first
visitor (MNIST and the index loaded), after one warm-up round of the whole
crowd ("before": thread pools and compiled shapes exist), at its peak, and
after the visitors have left. All browsers run on the same machine as the
server, so on 2 cores the browsers' own work is most of the time from
release to screen; ``--nice 19`` runs them at a lower CPU priority, so the
server is served first, as when each visitor's browser is on their own device;
``--pin`` puts the server alone on core 0 and the browsers on the others.

``--replicas N`` sends the crowd through nginx to N replicas
(``deploy/replicas.py``) and counts the runs each answered; ``--url`` sends
it to a server already running.

    python benchmarks/load.py --sessions 10 --drawings 20 [--pause 10] [--nice 19] [--pin] [--replicas N] [--json]

Needs Debian's chromium at /usr/bin/chromium and MNIST (``$MNIST_DIR``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.replicas import Replicas, free_port, wait_healthy  # noqa: E402
from knn.drawn import BROWSER_DIGITS  # noqa: E402
from ui.warmup import MEANWHILE  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows"]


def rss_mb(pids) -> float:
    """Resident memory of the processes, MB, added up."""
    total = 0.0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
    return total


def cpu_s(pids) -> float:
    """CPU seconds (user + system) the processes and their finished children have used, added up."""
    total = 0.0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


class Sampler(threading.Thread):
    """Samples the processes' resident memory (added up) every 0.2 s; keeps the peak."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.running = pids, 0.0, True

    def run(self):
        while self.running:
            try:
                self.peak = max(self.peak, rss_mb(self.pids))
            except (OSError, StopIteration):
                return
            time.sleep(0.2)


def start_server(port: int, run_log: Path, pin: bool = False) -> subprocess.Popen:
    """``streamlit run app.py`` through timed_server.py, which logs each answer's time on the server to run_log.

    ``pin``: the server runs on core 0 alone (``taskset``), the browsers on the others.
    """
    env = dict(os.environ, KNN_RUN_LOG=str(run_log))
    proc = subprocess.Popen(
        (["taskset", "-c", "0"] if pin else [])
        + [sys.executable, str(ROOT / "benchmarks" / "timed_server.py"), "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", 60)
    except RuntimeError:
        proc.kill()
        raise
    return proc


@contextmanager
def served(replicas: int = 0, pin: bool = False, url: Optional[str] = None):
    """What the crowd visits: (url, the app processes' ids, their answer-time logs), stopped afterwards.

    One app process (``replicas=0``), N replicas behind nginx
    (:class:`deploy.replicas.Replicas`), or a server already running at
    ``url`` (nothing measured on the server's side).
    """
    if url:
        yield url, [], []
        return
    logs = Path(tempfile.mkdtemp(prefix="knn-load-"))
    try:
        if replicas:
            with Replicas(replicas, timed=logs) as r:
                yield r.url, r.pids(), r.logs
        else:
            port, log = free_port(), logs / "runs.log"
            proc = start_server(port, log, pin)
            try:
                yield f"http://127.0.0.1:{port}", [proc.pid], [log]
            finally:
                proc.terminate()
                proc.wait(30)
    finally:
        shutil.rmtree(logs, ignore_errors=True)


def _metric(pg):
    return pg.locator('[data-testid="stMetric"]').filter(has_text="Prediction").locator('[data-testid="stMetricValue"]')


async def answer(pg, expected: str, timeout: float):
    """Wait for the Prediction metric to read ``expected``; (True, seconds) or (False, last value seen)."""
    metric = _metric(pg)
    start = time.perf_counter()
    seen = None
    while time.perf_counter() - start < timeout:
        if await pg.locator('[data-testid="stException"]').count():
            return False, "an exception on the page"
        if await metric.count():
            try:
                seen = (await metric.first.inner_text(timeout=1000)).strip()
            except Exception:  # replaced while being read: look again
                continue
            if seen == expected:
                return True, time.perf_counter() - start
        await asyncio.sleep(0.03)
    return False, seen


async def cleared(pg, timeout: float) -> bool:
    """After the canvas's reset: wait until no prediction is shown."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if not await _metric(pg).count():
            return True
        await asyncio.sleep(0.05)
    return False


async def visitor(browser, url: str, drawings: int, times: list, errors: list, who: int, timeout: float,
                  loads: list, began: list, everyone: asyncio.Barrier, pause: float = 0.0):
    ctx = await browser.new_context(viewport={"width": 1300, "height": 1100})
    pg = await ctx.new_page()
    start = time.perf_counter()
    await pg.goto(url, timeout=180_000)  # twenty pages loading at once on two cores take about half a minute
    await pg.locator("canvas.upper-canvas").wait_for(timeout=180_000)
    await pg.get_by_text(MEANWHILE).wait_for(state="detached", timeout=180_000)  # the full index answers
    loads.append(time.perf_counter() - start)
    await everyone.wait()  # the room opens the page, then draws
    began.append(time.perf_counter())
    digits = list(BROWSER_DIGITS.items())
    for n in range(drawings):
        label, strokes = digits[(n + who) % len(digits)]
        if n:
            await asyncio.sleep(pause)  # the visitor looks at the answer before drawing again
            await pg.locator("canvas.upper-canvas").hover()
            await pg.locator('button[aria-label="Reset canvas & history"]').click()
            if not await cleared(pg, timeout):
                errors.append(f"visitor {who}, drawing {n}: the old answer stayed after clearing the canvas")
                continue
        box = await pg.locator("canvas.upper-canvas").bounding_box()
        for pts in strokes:
            await pg.mouse.move(box["x"] + pts[0][0], box["y"] + pts[0][1])
            await pg.mouse.down()
            for x, y in pts[1:]:
                await pg.mouse.move(box["x"] + x, box["y"] + y, steps=4)
            await pg.mouse.up()
        ok, got = await answer(pg, str(label), timeout)  # timed from the last mouse release
        if ok:
            times.append(got)
        else:
            errors.append(f"visitor {who}, drawing {n}: expected {label}, got {got}")
    await ctx.close()


def browser_launcher(nice: int, pin: bool) -> str:
    """Chromium itself, or a launcher that runs it (and its every process) at lower priority and/or off core 0."""
    if not nice and not pin:
        return CHROMIUM
    cores = f"taskset -c 1-{os.cpu_count() - 1} " if pin else ""
    path = Path(tempfile.gettempdir()) / f"knn-load-chromium-nice{nice}{'-pinned' if pin else ''}"
    path.write_text(f'#!/bin/sh\nexec {cores}nice -n {int(nice)} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return str(path)


async def crowd(url: str, sessions: int, drawings: int, timeout: float, pause: float = 0.0, nice: int = 0,
                pin: bool = False):
    from playwright.async_api import async_playwright

    times, errors, loads, began = [], [], [], []
    everyone = asyncio.Barrier(sessions)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=browser_launcher(nice, pin), headless=True, args=ARGS)
        await asyncio.gather(*(visitor(browser, url, drawings, times, errors, i, timeout, loads, began, everyone, pause)
                               for i in range(sessions)))
        seconds = time.perf_counter() - min(began)  # since the first visitor began to draw
        await browser.close()
    return times, errors, seconds, loads


def run(sessions: int = 10, drawings: int = 20, timeout: float = 20.0, settle: float = 15.0, pause: float = 0.0,
        nice: int = 0, pin: bool = False, replicas: int = 0, url: Optional[str] = None,
        first_visitor_memory: bool = True, warm_up: bool = True) -> dict:
    """The crowd's run (see the module docstring); ``first_visitor_memory=False`` skips the settle before the
    server's memory after its first visitor, reported as None (the figures before and after the crowd stay);
    ``warm_up=False`` skips the warm-up round, for a run that checks the answers rather than times or memory."""
    import numpy as np

    if pin and (replicas or url):
        raise SystemExit("--pin puts one server on core 0: it goes with neither --replicas nor --url")
    if pin and (os.cpu_count() or 1) < 2:
        raise SystemExit("--pin needs at least two cores: one for the server, the rest for the browsers")
    with served(replicas, pin, url) as (url, pids, logs):
        asyncio.run(crowd(url, 1, 1, 240.0, nice=nice, pin=pin))  # the first visitor: MNIST loaded, the index built
        if first_visitor_memory:
            time.sleep(settle)
        cold = rss_mb(pids) if first_visitor_memory else None
        if warm_up:
            asyncio.run(crowd(url, sessions, 1, 60.0, nice=nice, pin=pin))  # one round: thread pools, compiled shapes
            time.sleep(settle)
        before = rss_mb(pids)
        sampler = Sampler(pids)
        sampler.start()
        cpu_before, wall_before = cpu_s(pids), time.time()
        times, errors, seconds, loads = asyncio.run(crowd(url, sessions, drawings, timeout, pause, nice, pin))
        server_cpu = cpu_s(pids) - cpu_before
        per_replica = [[tuple(map(float, line.split())) for line in log.read_text().splitlines()] if log.exists() else []
                       for log in logs]
        server_s = [done - asked for runs in per_replica for asked, done in runs if asked >= wall_before]
        sampler.running = False
        time.sleep(settle)  # Streamlit drops a session's state once its page is closed
        gc.collect()
        after = rss_mb(pids)
    ms = np.array(times) * 1000
    server_ms = np.array(server_s) * 1000
    measured = bool(pids)
    return {
        "sessions": sessions, "drawings_each": drawings, "pause_s": pause, "browser_nice": nice, "pinned": pin,
        "replicas": replicas, "answers": len(times), "errors": len(errors),
        "error_list": errors[:20], "page_load_p50_s": float(np.median(loads)), "page_load_max_s": max(loads),
        "seconds": seconds, "answers_per_second": len(times) / seconds,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
        "p95_ms": float(np.percentile(ms, 95)) if len(ms) else None,
        "server_cpu_s_per_answer": server_cpu / max(len(times), 1) if measured else None,
        "server_runs": len(server_ms),
        "runs_per_replica": [sum(asked >= wall_before for asked, _ in runs) for runs in per_replica],
        "server_p50_ms": float(np.percentile(server_ms, 50)) if len(server_ms) else None,
        "server_p95_ms": float(np.percentile(server_ms, 95)) if len(server_ms) else None,
        "server_mb_first_visitor": cold if measured else None, "server_mb_before": before if measured else None,
        "server_mb_peak": max(sampler.peak, before) if measured else None,
        "server_mb_after": after if measured else None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--drawings", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for one answer")
    ap.add_argument("--pause", type=float, default=0.0,
                    help="seconds each visitor looks at an answer before clearing and drawing again "
                         "(0: flat out, every browser always busy; a person reads for a few seconds)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the browsers at this lower CPU priority (e.g. 19), so that on a machine they share the "
                         "server comes first, as when every visitor's browser runs on their own device")
    ap.add_argument("--pin", action="store_true",
                    help="run the server alone on core 0 and the browsers on the other cores (taskset): a closer "
                         "stand-in for visitors on their own devices than --nice alone")
    ap.add_argument("--replicas", type=int, default=0,
                    help="N app replicas behind nginx (deploy/replicas.py) instead of one process")
    ap.add_argument("--url", help="send the crowd to a server already running there (nothing measured on its side)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = run(a.sessions, a.drawings, a.timeout, pause=a.pause, nice=a.nice, pin=a.pin, replicas=a.replicas, url=a.url)
    if a.json:
        print(json.dumps(r))
    else:
        print(f"{r['sessions']} visitors opened the page together: the canvas showed after "
              f"{r['page_load_p50_s']:.1f} s (median), {r['page_load_max_s']:.1f} s (slowest)")
        pace = f", {r['pause_s']:g} s looking at each answer" if r["pause_s"] else ", flat out"
        pace += f", browsers at nice {r['browser_nice']}" if r["browser_nice"] else ""
        pace += ", the server alone on core 0" if r["pinned"] else ""
        pace += f", {r['replicas']} replicas behind nginx" if r["replicas"] else ""
        print(f"{r['sessions']} visitors x {r['drawings_each']} drawings{pace}: {r['answers']} answers, {r['errors']} errors, "
              f"{r['answers_per_second']:.1f} answers/s")
        if r["p50_ms"] is not None:
            print(f"mouse released -> prediction shown: p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms")
        if r["server_cpu_s_per_answer"] is None:
            print("the server: not measured (a server given by --url)")
        else:
            if r["server_p50_ms"] is not None:
                print(f"the server's part, request arrived -> its run finished ({r['server_runs']} runs: strokes and "
                      f"resets): p50 {r['server_p50_ms']:.0f} ms, p95 {r['server_p95_ms']:.0f} ms")
            else:
                print("the server's part: not logged (timed_server.py found no Streamlit methods to time)")
            if r["replicas"]:
                print("runs per replica: " + ", ".join(map(str, r["runs_per_replica"])))
            print(f"the server's CPU: {r['server_cpu_s_per_answer']:.2f} s per answer (the drawing's strokes and the "
                  f"canvas's reset included)")
            print(f"server memory: {r['server_mb_first_visitor']:.0f} MB after the first visitor, "
                  f"{r['server_mb_before']:.0f} MB after one round of the crowd (before), "
                  f"{r['server_mb_peak']:.0f} MB at peak, {r['server_mb_after']:.0f} MB after the visitors left")
        for e in r["error_list"]:
            print("  " + e)
    return 0 if r["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
