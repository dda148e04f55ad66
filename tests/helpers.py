"""What several test modules use: paths, small synthetic digits, the hostile-file corpus, page and CLI helpers."""

from __future__ import annotations

import io
import math
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
EVALUATE_PAGE = "ui/evaluate_page.py"  # as st.navigation names it, relative to app.py
DEFAULT_MNIST = ROOT.parent / "shared" / "data" / "mnist"
HOLD_OUT = "21-30"  # the pen writers the browser tests draw: their servers' references hold the other twenty


def mnist_dir() -> Path:
    return Path(os.environ.get("MNIST_DIR") or DEFAULT_MNIST)


# ---- synthetic digits: ten stroke shapes, jittered, drawn like the canvas (no data set needed) ----

def _curve(fx, fy, n=24):
    return [(fx(t), fy(t)) for t in np.linspace(0, 2 * math.pi, n)]


SHAPES = {  # strokes in a unit square, y down
    0: [_curve(lambda t: 0.5 + 0.3 * math.sin(t), lambda t: 0.5 - 0.45 * math.cos(t))],
    1: [[(0.5, 0.05), (0.5, 0.95)]],
    2: [[(0.2, 0.3), (0.35, 0.08), (0.65, 0.08), (0.8, 0.3), (0.6, 0.55), (0.2, 0.92), (0.85, 0.92)]],
    3: [[(0.2, 0.1), (0.7, 0.1), (0.75, 0.3), (0.45, 0.48), (0.8, 0.7), (0.7, 0.9), (0.2, 0.9)]],
    4: [[(0.6, 0.95), (0.6, 0.05), (0.15, 0.65), (0.85, 0.65)]],
    5: [[(0.8, 0.08), (0.3, 0.08), (0.25, 0.45), (0.65, 0.42), (0.8, 0.65), (0.65, 0.9), (0.2, 0.88)]],
    6: [[(0.7, 0.05), (0.35, 0.35), (0.25, 0.7), (0.45, 0.93), (0.7, 0.85), (0.72, 0.6), (0.45, 0.52), (0.27, 0.65)]],
    7: [[(0.15, 0.08), (0.85, 0.08), (0.45, 0.95)]],
    8: [_curve(lambda t: 0.5 + 0.25 * math.sin(2 * t), lambda t: 0.5 - 0.45 * math.cos(t), 40)],
    9: [[(0.72, 0.3), (0.5, 0.08), (0.28, 0.25), (0.4, 0.48), (0.72, 0.35), (0.7, 0.95)]],
}


def synthetic_digit(label: int, rng) -> np.ndarray:
    """One jittered drawing of a SHAPES digit as a (280, 280) canvas picture, white on black."""
    from knn.drawn import render

    a, shear, sx = rng.uniform(-0.15, 0.15), rng.uniform(-0.2, 0.2), rng.uniform(0.8, 1.1)
    m = np.array([[math.cos(a) * sx, -math.sin(a) + shear], [math.sin(a) * sx, math.cos(a)]])
    strokes = [(np.asarray(s) - 0.5) @ m.T + rng.normal(0, 0.015, (len(s), 2)) for s in SHAPES[label]]
    return render(strokes, float(rng.uniform(14, 30)), 0.7, (140, 140))


def synthetic_pen(writers, seed: int = 3) -> list:
    """Ten pen digits (knn.pen.PenDigit) for each writer number in ``writers``: SHAPES jittered, as pen strokes."""
    from knn.pen import PenDigit

    rng = np.random.default_rng(seed)
    return [PenDigit(tuple(np.asarray(s) * 100 + rng.normal(0, 2, (len(s), 2)) for s in SHAPES[y]), y, w)
            for w in writers for y in range(10)]


def synthetic_mnist(n_train: int = 400, n_test: int = 60, seed: int = 0):
    """A small stand-in for MNIST: the same shapes and types, labels cycling 0-9 (a :class:`knn.data.Mnist`)."""
    from knn.data import Mnist
    from knn.preprocess import to_mnist

    rng = np.random.default_rng(seed)

    def split(n):
        labels = (np.arange(n) % 10).astype(np.uint8)
        return np.stack([to_mnist(synthetic_digit(int(y), rng)) for y in labels]), labels

    (xtr, ytr), (xte, yte) = split(n_train), split(n_test)
    return Mnist(train_images=xtr, train_labels=ytr, test_images=xte, test_labels=yte, source="synthetic")


# ---- drawings that are not digits, in canvas pixels ----

NON_DIGITS = {
    "star": [[(140 + 110 * math.cos(math.pi / 2 + i * 4 * math.pi / 5), 140 - 110 * math.sin(math.pi / 2 + i * 4 * math.pi / 5))
              for i in range(6)]],
    "scribble": [[tuple(p) for p in np.random.default_rng(0).uniform(30, 250, (25, 2))]],
    "letter H": [[(70, 40), (70, 240)], [(210, 40), (210, 240)], [(70, 140), (210, 140)]],
    "spiral": [[(140 + t * 5.5 * math.cos(t), 140 + t * 5.5 * math.sin(t)) for t in np.linspace(0, 6 * math.pi, 80)]],
}


def non_digit(name: str, width: float = 14) -> np.ndarray:
    """A NON_DIGITS drawing as a (280, 280) canvas picture, white on black."""
    from knn.drawn import render

    return render(NON_DIGITS[name], width, 0.8, (140, 140))


# ---- a corpus of hostile and odd image files, built in memory ----

def _save(img, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png_of(a: np.ndarray) -> bytes:
    return _save(Image.fromarray(a), "PNG")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(side: int = 100_000) -> bytes:
    """A valid PNG header declaring side x side pixels, with a tiny compressed body."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * 1000)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def seven(size: int = 280) -> np.ndarray:
    """The mouse-drawn 7 of knn.drawn.BROWSER_DIGITS, white on black, uint8 (size, size)."""
    from knn.drawn import BROWSER_DIGITS, render

    img = render(BROWSER_DIGITS[7], 18, 0.8, (140, 140))
    return np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BILINEAR)) if size != 280 else img


def big_seven(mode: str, side: tuple) -> Image.Image:
    """A white picture of ``side`` pixels with a black 7 filling most of its height (a small file, a big picture)."""
    img = Image.new(mode, side, "white")
    digit = Image.fromarray(255 - seven()).resize((min(side) * 3 // 4,) * 2, Image.Resampling.NEAREST)
    img.paste(digit.convert(mode), (side[0] // 8, side[1] // 8))
    return img


def corpus() -> list:
    """[(file name, bytes, expect, digit or None)]: "digit" files must be read as that digit, "message" ones refused."""
    s = seven()
    dark_on_light = 255 - s
    files = []
    files.append(("random-bytes.png", np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "message", None))
    full_png = _save(Image.fromarray(dark_on_light), "PNG")
    files.append(("truncated.png", full_png[: len(full_png) // 3], "message", None))
    full_jpg = _save(Image.fromarray(dark_on_light), "JPEG", quality=90)
    files.append(("truncated.jpg", full_jpg[: len(full_jpg) // 3], "message", None))
    files.append(("bomb.png", bomb_png(), "message", None))
    sixteen = Image.fromarray((s.astype(np.uint16) * 257)).convert("I;16")
    files.append(("gray16.png", _save(sixteen, "PNG"), "digit", 7))
    files.append(("cmyk.jpg", _save(Image.fromarray(dark_on_light).convert("CMYK"), "JPEG"), "digit", 7))
    pal = Image.fromarray(np.where(s > 127, 1, 0).astype(np.uint8), "P")
    pal.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    files.append(("palette-transparent.png", _save(pal, "PNG", transparency=0), "digit", 7))
    frames = [Image.fromarray(dark_on_light).convert("P"), Image.fromarray(np.full_like(s, 255)).convert("P")]
    files.append(("animated.gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
                  "digit", 7))
    rotated = Image.fromarray(np.rot90(dark_on_light, 1).copy())  # stored on its side ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... and EXIF says: rotate 90 degrees clockwise to view
    files.append(("exif-rotated.jpg", _save(rotated, "JPEG", exif=exif), "digit", 7))
    files.append(("one-pixel.png", _save(Image.fromarray(np.array([[255]], np.uint8)), "PNG"), "message", None))
    big = Image.new("L", (10_000, 10_000), 255)
    big.paste(Image.fromarray(dark_on_light).resize((6000, 6000), Image.Resampling.NEAREST), (2000, 2000))
    files.append(("huge-10000x10000.png", _save(big, "PNG", compress_level=1), "message", None))
    files.append(("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M10 10 L50 10 L30 90"/></svg>', "message", None))
    files.append(("notes.txt", b"this is a 7", "message", None))
    files.append(("empty.png", b"", "message", None))
    return files


# ---- the page through AppTest ----

def prediction(at) -> list:
    return [m.value for m in at.metric if m.label == "Prediction"]


def fix(at, digit: int):
    """The correction button "It's a <digit>" under the answer (its key also names the drawing it corrects)."""
    [button] = [b for b in at.button if b.key.startswith(f"fix-{digit}-")]
    return button


def lost_session(at):
    """``at`` run as the server runs a page whose session it lost (a restart, a replica stopped, an hour away):
    a new session, given the values of every widget on the old session's page, as the browser sends them with
    its next tap: the canvas's strokes (those the page drew it with), the settings, the button just clicked."""
    import json

    from streamlit.runtime.state import SafeSessionState, SessionState
    from streamlit.testing.v1.app_test import TESTING_KEY

    states = at._tree.get_widget_states()
    for canvas in at.get("bidi_component"):
        state = states.widgets.add()
        state.id = canvas.proto.id
        state.json_value = json.dumps({"drawing": {"raw": json.loads(canvas.proto.json)["initialDrawing"], "data": None}})
    new = SessionState()
    new[TESTING_KEY] = {}
    at._session_state = SafeSessionState(new, lambda: None)
    at.session_state = type(at.session_state)(at._session_state)
    return at._run(states)


def captions(at) -> list:
    """Every picture's caption on the page, in order: st.image captions and the strips' figcaptions."""
    import html
    import re

    found = [c for img in at.get("image") for c in img.captions]
    for block in at.get("html"):
        found += [html.unescape(c) for c in re.findall(r"<figcaption>(.*?)</figcaption>", block.proto.body)]
    return found


class FakeUpload:
    """What st.file_uploader returns: a name and the bytes (AppTest cannot upload files)."""

    def __init__(self, name, data):
        self.name, self._data = name, data

    def getvalue(self):
        return self._data


def upload(monkeypatch, at, name: str, data: bytes):
    """Switch the Draw page to Upload with this file "uploaded"."""
    import streamlit as st

    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: FakeUpload(name, data))
    at.radio(key="input").set_value("Upload").run()
    return at


# ---- a real browser: Debian's chromium through playwright ----

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
PHONE_SIDEWAYS = {"width": 844, "height": 390}
PROJECTOR = {"width": 1280, "height": 720}
TABLET = {"width": 820, "height": 1180}  # a tablet upright: wide enough for Streamlit to show the sidebar open


def ready(pg, timeout: float = 240) -> None:
    """Wait until the page's canvas is on screen and it answers from the full index: on a server that
    computes part of it at its start, the page answers from a first index meanwhile (ui.warmup) and says so."""
    from ui.warmup import MEANWHILE

    pg.locator("canvas.upper-canvas").wait_for(timeout=timeout * 1000)
    pg.get_by_text(MEANWHILE).wait_for(state="detached", timeout=timeout * 1000)


def make_eval_cache(folder: str, folds: bool = False) -> None:
    """Fill ``folder`` (a KNN_CACHE holding the references' caches) with what the browser tests' servers read,
    with the pen writers they hold out (HOLD_OUT) out of the index and read by networks that never saw them:
    the Draw page's references, then the Evaluate page's tables (its first visit, through AppTest). Between
    the two, if ``folds``, the references of the pen writers' three writer-disjoint folds and their
    certainty's calibration, which the tests marked ``folds`` measure (knn.evaluate.fold_references). In
    that order because the tests in the other process need them in that order: the references' parts
    (MNIST read by the networks that learned from MNIST alone) early, the folds mid-suite, the tables last.
    Run in a process of its own (conftest.eval_cache)."""
    os.environ["KNN_CACHE"] = folder
    before = os.environ.get("PENDIGITS_HOLD_OUT")
    os.environ["PENDIGITS_HOLD_OUT"] = HOLD_OUT
    from ui import resources

    resources.build_references(*resources.DEFAULT)
    if folds:  # as the other process measures them: with the hold-out it was started with
        from knn.conformal import calibrate
        from knn.data import load_mnist
        from knn.evaluate import fold_references
        from knn.pen import load_pendigits

        os.environ.pop("PENDIGITS_HOLD_OUT")
        if before is not None:
            os.environ["PENDIGITS_HOLD_OUT"] = before
        for _, refs in fold_references(load_mnist(mnist_dir()), load_pendigits()):
            calibrate(refs)
        os.environ["PENDIGITS_HOLD_OUT"] = HOLD_OUT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / EVALUATE_PAGE), default_timeout=1200).run()
    if at.exception:
        raise SystemExit(f"the Evaluate page failed: {at.exception}")


def read_prediction(pg, previous=None, timeout=60):
    """The Prediction metric once it shows (and differs from ``previous`` if given)."""
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        metric = pg.locator('[data-testid="stMetric"]').filter(has_text="Prediction")
        if metric.count():
            value = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
            if value != previous:
                return value
        time.sleep(0.25)
    return value


def settled_prediction(pg, quiet: float = 1.5, timeout: float = 60) -> str:
    """The Prediction metric once it has not changed for ``quiet`` seconds: the answer to the whole drawing,
    not to its first strokes (the page answers after each stroke), as a person reads it before acting."""
    deadline = time.time() + timeout
    value, since = read_prediction(pg, timeout=timeout), time.time()
    while time.time() < deadline and time.time() - since < quiet:
        time.sleep(0.2)
        now = read_prediction(pg, timeout=timeout)
        if now != value:
            value, since = now, time.time()
    return value


def in_view(pg, locator) -> bool:
    """Whether the element lies wholly inside the viewport as it is now (nothing scrolled)."""
    box = locator.bounding_box()
    view = pg.viewport_size
    return box is not None and box["y"] >= 0 and box["x"] >= 0 and box["y"] + box["height"] <= view["height"] \
        and box["x"] + box["width"] <= view["width"]


# The canvas's box once one drawing canvas alone has been on the page, the same element, for ``quiet`` ms (checked
# every 25 ms: a canvas seen taken out and put back counts as new). Canvases inside components' shadow roots count.
_SETTLED_CANVAS = """([token, quiet]) => {
  const found = [], visit = (root) => {
    for (const c of root.querySelectorAll('canvas.upper-canvas')) if (c.getBoundingClientRect().width) found.push(c);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) visit(el.shadowRoot);
  };
  visit(document);
  const now = performance.now(), seen = window.__settledCanvas;
  if (!seen || seen.token !== token || found.length !== 1 || found[0] !== seen.canvas) {
    window.__settledCanvas = {token, canvas: found.length === 1 ? found[0] : null, since: now};
    return false;
  }
  if (now - seen.since < quiet) return false;
  const r = seen.canvas.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""


def settled_canvas(pg, quiet: float = 0.3, timeout: float = 30) -> dict:
    """The drawing canvas's box once it alone has been on the page for ``quiet`` seconds, as a person sees it
    before drawing. Clear, a change of input and a first visit put a new canvas in place of the old: for a
    moment both may be there, or the old one is taken out and put back, and on a loaded machine strokes begun
    in that moment may be lost, as a test drawing at once would and a person, slower to start, does not."""
    token = time.monotonic_ns()
    box = pg.wait_for_function(_SETTLED_CANVAS, arg=[token, quiet * 1000], polling=25, timeout=timeout * 1000)
    return box.json_value()


def mouse_draw(pg, strokes, steps: int = 6):
    """Strokes in canvas px drawn with the mouse, each point reached in ``steps`` moves, once the canvas has
    settled (:func:`settled_canvas`)."""
    box = settled_canvas(pg)
    for pts in strokes:
        pg.mouse.move(box["x"] + pts[0][0], box["y"] + pts[0][1])
        pg.mouse.down()
        for x, y in pts[1:]:
            pg.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
        pg.mouse.up()


def touch_draw(pg, cdp, strokes, width=280):
    """Strokes in canvas px drawn by one finger: CDP touch events where the canvas is on the screen
    (a canvas ``width`` px wide may be shown smaller), once it has settled (:func:`settled_canvas`)."""
    box = settled_canvas(pg)
    f = box["width"] / width
    for pts in strokes:
        xy = [(box["x"] + f * x, box["y"] + f * y) for x, y in pts]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": xy[0][0], "y": xy[0][1]}]})
        for (x0, y0), (x1, y1) in zip(xy, xy[1:]):  # the pen's points, up to 30 px apart here, halved
            for t in (0.5, 1.0):
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                    {"x": x0 + t * (x1 - x0), "y": y0 + t * (y1 - y0)}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


# ---- the rooms' databases ----

PG_URL = "postgresql://knn:knn@127.0.0.1:5432/knn_test"  # the role and database start_postgres makes


def start_postgres() -> str:
    """A PostgreSQL URL for the tests: ``$KNN_TEST_PG``, else Debian's local cluster, started (as root, with
    ``pg_ctlcluster``) with a ``knn`` role and a ``knn_test`` database made if missing. Raises RuntimeError
    when there is no PostgreSQL to be had (``apt-get install postgresql``)."""
    import glob
    import shutil

    if os.environ.get("KNN_TEST_PG"):
        return os.environ["KNN_TEST_PG"]
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not versions or shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        raise RuntimeError("PostgreSQL is not installed here (apt-get install postgresql; the tests start it as "
                           "root), and KNN_TEST_PG names no other")
    version = Path(versions[-1]).parent.parent.name
    subprocess.run(["pg_ctlcluster", version, "main", "start"], capture_output=True)  # fails if already up: fine

    def psql(sql):
        return subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-tAc", sql], capture_output=True,
                              text=True, timeout=60)

    if psql("SELECT 1 FROM pg_roles WHERE rolname = 'knn'").stdout.strip() != "1":
        psql("CREATE ROLE knn LOGIN PASSWORD 'knn'")
    if psql("SELECT 1 FROM pg_database WHERE datname = 'knn_test'").stdout.strip() != "1":
        psql("CREATE DATABASE knn_test OWNER knn")
    return PG_URL


# ---- the command line ----

def run(*args, env=None) -> subprocess.CompletedProcess:
    """``python -m knn ARGS`` in a new interpreter, as a user runs it."""
    e = dict(os.environ, MNIST_DIR=str(mnist_dir()), **(env or {}))
    return subprocess.run([sys.executable, "-m", "knn", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=900)


def in_process(capsys, *args) -> subprocess.CompletedProcess:
    """``main(args)`` in this process, as a finished run: (returncode, stdout, stderr).

    The same code as ``python -m knn`` without a new interpreter and TensorFlow
    start-up per call (several seconds each); the entry point itself is tested
    through :func:`run`.
    """
    from knn.__main__ import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["knn", *args], code, out, err)


def assert_one_line_error(r, text: str) -> None:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and text in lines[0], r.stderr


def unipen(digits) -> str:
    """knn.pen.PenDigit records written back as UNIPEN text, the pen digits' file format (tablet y grows upward)."""
    lines = [".INCLUDE        dene.doc", "", '.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"', ".HIERARCHY      DIGIT", ""]
    for i, d in enumerate(digits):
        lines += [f'.SEGMENT DIGIT {i:4d} ? "{d.label}"', f".COMMENT {d.label} {d.writer} {i}"]
        for stroke in d.strokes:
            lines.append(".PEN_DOWN")
            lines += [f" {x:4.0f} {-y:4.0f}" for x, y in stroke]
            lines.append(".PEN_UP")
    return "\n".join(lines) + "\n"


def compress_z(data: bytes, run: int = 200) -> bytes:
    """A valid Unix-compress (.Z) stream of data, the format UCI keeps the pen digits in, without compressing:
    every byte a 9-bit literal code, and a CLEAR code every ``run`` bytes (padded to the end of its group of
    eight codes, as compress does) so the code width never grows. gzip -d, ncompress and unlzw3 all read it."""
    codes = []
    for i, c in enumerate(data):
        if i and i % run == 0:
            codes.append(256)  # CLEAR: the decoder skips to the end of this group of eight codes
            codes += [0] * (-len(codes) % 8)
        codes.append(c)
    out, bits, held = bytearray(b"\x1f\x9d\x90"), 0, 0  # magic, then block mode and at most 16-bit codes
    for c in codes:
        bits |= c << held
        held += 9
        while held >= 8:
            out.append(bits & 255)
            bits >>= 8
            held -= 8
    if held:
        out.append(bits & 255)
    return bytes(out)
