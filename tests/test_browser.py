"""The page in a real browser: Debian's chromium, real mouse strokes on the canvas.

Starts ``streamlit run app.py`` on a free localhost port, draws a 1, a 0 and
a 7 with the mouse (clearing the canvas with its toolbar between digits),
reads the "Prediction" metric, and saves screenshots under artifacts/.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from deploy.replicas import free_port
from helpers import (ARGS, CHROMIUM, HOLD_OUT, NON_DIGITS, PHONE, PROJECTOR, ROOT, TABLET, big_seven, in_view,
                     mnist_dir, read_prediction, ready, settled_prediction, touch_draw)
from helpers import mouse_draw as draw
from knn.drawn import BROWSER_DIGITS

pytestmark = pytest.mark.browser

# strokes in canvas pixels (280x280), as a person would draw them; the drawn-digit
# benchmark (knn.drawn) renders the same strokes at every pen width
DIGITS = {str(label): strokes for label, strokes in BROWSER_DIGITS.items()}


HELD_OUT = range(21, 31)  # the pen writers these tests draw; the server's references hold the other twenty


@pytest.fixture(scope="module")
def server_process(eval_cache, tmp_path_factory):
    """``streamlit run app.py`` on a free localhost port; its ``url`` attribute says where. Its rooms'
    database is a file of its own, not the one in the cache folder."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    port = free_port()
    env = dict(os.environ, MNIST_DIR=str(mnist_dir()), KNN_CACHE=str(eval_cache), PENDIGITS_HOLD_OUT=HOLD_OUT,
               KNN_ROOM_DB=f"sqlite:///{tmp_path_factory.mktemp('rooms') / 'rooms.sqlite'}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            time.sleep(0.5)
    proc.url = f"http://127.0.0.1:{port}"
    yield proc
    proc.terminate()
    proc.wait(20)


@pytest.fixture(scope="module")
def server(server_process):
    return server_process.url


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1400})
        pg.goto(server)
        ready(pg)  # the server's first visitor: the full index loaded (or computed) before the tests draw
        yield pg
        browser.close()


def clear_canvas(pg):
    pg.locator("canvas.upper-canvas").hover()
    pg.locator('button[aria-label="Reset canvas & history"]').click()  # the canvas toolbar's bin
    pg.get_by_text("Draw a digit (0").wait_for(timeout=30_000)


def test_navigation_names_the_pages(page, server):
    links = page.locator('[data-testid="stSidebarNavLink"]')
    links.first.wait_for(timeout=30_000)
    names = [t.split("\n")[-1].strip() for t in links.all_inner_texts()]
    hrefs = [links.nth(j).get_attribute("href") for j in range(links.count())]
    assert names == ["Draw", "Evaluate", "Room"], names
    assert hrefs[0].rstrip("/") == server and hrefs[1:] == [server + "/Evaluate", server + "/Room"], hrefs


def test_draw_digits_and_read_predictions(page):
    art = ROOT / "artifacts"
    art.mkdir(exist_ok=True)
    read = {}
    for i, (digit, strokes) in enumerate(DIGITS.items()):
        if i:
            clear_canvas(page)
        draw(page, strokes)
        read[digit] = read_prediction(page)
        page.wait_for_timeout(1500)  # let the gallery finish drawing
        page.screenshot(path=str(art / f"page-drawn-{digit}.png"), full_page=True)
    assert read == {d: d for d in DIGITS}
    shutil.copy(art / "page-drawn-7.png", art / "page.png")


def captions(pg):
    return pg.locator("figure.knn-pic figcaption").all_inner_texts()


def wait_for_caption(pg, text, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(text in c for c in captions(pg)):
            return True
        time.sleep(0.25)
    return False


def pick(pg, label, option):
    """Choose an option of the Streamlit selectbox with this label (typed, as a keyboard user would)."""
    box = pg.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)
    pg.get_by_role("option", name=option, exact=True).wait_for(timeout=10_000)
    box.press("Enter")


def test_a_correction_is_private_to_the_session(page, server):
    """After the digits above the canvas holds a 7: say it is a 3 with one click, see the answer change and the
    drawing as its own nearest neighbour; a second visitor drawing the same 7 sees none of it."""
    assert not any("yours" in c for c in captions(page))
    page.locator("strong", has_text="Not a 7? It's a").wait_for(timeout=30_000)
    page.get_by_role("button", name="3", exact=True).click()
    assert wait_for_caption(page, "★ yours · 0"), captions(page)
    assert read_prediction(page) == "3"
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ROOT / "artifacts" / "page-taught.png"), full_page=True)
    # a second visitor, drawing the same 7, does not see it
    other = page.context.browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
    other.goto(server)
    ready(other, 120)
    draw(other, DIGITS["7"])
    assert read_prediction(other) == "7"
    other.wait_for_timeout(1500)
    assert captions(other) and not any("yours" in c for c in captions(other))
    other.context.close()
    page.get_by_text("Your digits (1)").click()
    page.get_by_role("button", name="Forget all my digits (1)").click()
    page.get_by_text("Forgotten").wait_for(timeout=30_000)
    assert settled_prediction(page) == "7"


PEN_WIDTH = 18  # the page's default brush


@pytest.fixture(scope="module")
def pen_digits():
    """Real pen digits by a writer the server's references do not hold, in the European styles MNIST lacks:
    a flagged 1, a crossed 7, a curled 9, and a 4."""
    from knn.pen import load_pendigits

    pen = load_pendigits()
    return [next(d for d in pen if d.writer == 25 and d.label == y) for y in (1, 7, 9, 4)]


def test_pen_digits_replayed_with_the_mouse(page, pen_digits, mnist, eval_cache, monkeypatch):
    """The page reads each replayed pen digit as the library reads the same strokes drawn offline."""
    from knn.answer import answer
    from knn.drawn import render, to_canvas
    from knn.references import build

    monkeypatch.setenv("KNN_CACHE", str(eval_cache))
    monkeypatch.setenv("PENDIGITS_HOLD_OUT", "21-30")
    refs = build(mnist, pen="default")  # the server's references
    assert not set(refs.writers.tolist()) & set(HELD_OUT)
    page_says, library_says, styled, penned = [], [], [], []
    for d in pen_digits:
        clear_canvas(page)
        strokes = [[tuple(p) for p in line] for line in to_canvas(d.strokes, 0.7, (140, 140))]
        draw(page, strokes)
        page_says.append(read_prediction(page))
        page.wait_for_timeout(1000)  # the gallery follows the prediction
        page.screenshot(path=str(ROOT / "artifacts" / f"page-pen-{d.label}.png"), full_page=True)
        styled.append(any("ˢ" in c for c in captions(page)))
        penned.append(any("ᵖ" in c or "writer" in c for c in captions(page)))
        ans = answer(refs, render(d.strokes, PEN_WIDTH, 0.7, (140, 140)))
        library_says.append("not a digit" if ans.certainty.not_a_digit else str(ans.prediction))
    print("labels", [d.label for d in pen_digits], "page", page_says, "library", library_says)
    assert page_says == library_says
    assert sum(p == str(d.label) for p, d in zip(page_says, pen_digits)) >= 3
    assert any(styled) or any(penned), "no styled copy or pen digit among the neighbours of European-style digits"
    assert any(penned), "no real pen digit (another writer's) among the neighbours"


def test_a_drawn_star_is_not_a_digit(page):
    """Drawn with the mouse: the answer says it is not a digit, and still shows its nearest references."""
    clear_canvas(page)
    draw(page, [[(round(x), round(y)) for x, y in NON_DIGITS["star"][0]]])
    assert read_prediction(page) == "not a digit"
    page.get_by_text("This does not look like a digit.").wait_for(timeout=30_000)
    page.get_by_text("What it would take").wait_for(timeout=30_000)
    assert len(captions(page)) > 7  # the steps, the neighbours and the nearest of the other digits
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ROOT / "artifacts" / "page-not-a-digit.png"), full_page=True)
    clear_canvas(page)


def test_evaluate_page_lists_a_confusion_cell(page, server):
    page.goto(server + "/Evaluate")
    page.get_by_text("Accuracy against k").wait_for(timeout=240_000)  # the tables, the first time
    page.locator('[data-testid="stPlotlyChart"]').nth(3).wait_for(timeout=60_000)
    pick(page, "True label", "7")
    page.get_by_text("labelled 7, read as").wait_for(timeout=30_000)  # the rerun has finished
    page.wait_for_timeout(500)
    pick(page, "Predicted as", "7")  # the diagonal: the sevens it reads, never an empty cell
    page.get_by_text("labelled 7, read as 7").wait_for(timeout=30_000)
    assert wait_for_caption(page, "test #")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ROOT / "artifacts" / "evaluate.png"), full_page=True)
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 7
    page.get_by_text("How sure, and is it a digit at all?").scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ROOT / "artifacts" / "evaluate-certainty.png"))


def test_the_evaluate_page_opens_again_from_memory(page, server):
    """Back on the Evaluate page after the Draw page: nothing is evaluated again and all its charts are drawn
    (benchmarks/page_open.py times it against the Draw page; docs/first-start.md has the figures)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from page_open import CHARTS, open_draw, open_evaluate

    page.goto(server)
    ready(page, 120)
    open_evaluate(page)  # the tables from disk (the test above put them there), or from memory
    seconds = []
    for _ in range(3):
        open_draw(page)
        seconds.append(open_evaluate(page))
        assert page.get_by_text("Evaluating").count() == 0
        assert page.locator(".js-plotly-plot .main-svg").count() >= CHARTS
    print(f"Evaluate reopened in {', '.join(f'{x:.2f}' for x in seconds)} s")


@pytest.mark.parametrize("size", [PHONE, TABLET, PROJECTOR, {"width": 1400, "height": 1000}],
                         ids=["phone", "tablet", "projector", "laptop"])
def test_the_canvas_toolbar_overlaps_no_choice(page, server, size):
    """The canvas draws its own toolbar (upload, undo, redo, edit, bin) just above itself, where the pointer
    or a finger shows it: at a phone's, a tablet's, a projector's and a laptop's size it covers none of the
    input choices, and the canvas is whole: its column is never narrower than it. So is Number mode's wider
    canvas, zoomed out where the page is narrower, and on a tablet a finger writes a number on it."""
    touch = size in (PHONE, TABLET)
    ctx = page.context.browser.new_context(viewport=size, has_touch=touch, is_mobile=touch)
    pg = ctx.new_page()
    pg.goto(server)
    ready(pg, 120)
    canvas = pg.locator("canvas.upper-canvas").bounding_box()
    column = pg.locator('[data-testid="stColumn"]').filter(has=pg.locator(".st-key-canvas-box")).bounding_box()
    assert column["x"] <= canvas["x"] and canvas["x"] + canvas["width"] <= column["x"] + column["width"], \
        (canvas, column)
    pg.locator("canvas.upper-canvas").hover()
    bar = pg.locator('button[aria-label="Reset canvas & history"]').locator("xpath=..")  # the toolbar's card
    bar.wait_for(timeout=10_000)
    toolbar = bar.bounding_box()
    choices = pg.locator('[data-testid="stRadio"] label')
    names = [choices.nth(j).inner_text().strip() for j in range(choices.count())]
    boxes = [choices.nth(j).bounding_box() for j in range(choices.count())]
    pg.screenshot(path=str(ROOT / "artifacts" / f"toolbar-{size['width']}.png"))
    pg.get_by_text("Number", exact=True).click()
    pg.get_by_text("Write a number").wait_for(timeout=30_000)
    wide = pg.locator("canvas.upper-canvas").bounding_box()
    main = pg.locator('[data-testid="stMainBlockContainer"]').bounding_box()
    said = None
    if size is TABLET:
        from knn.drawn import to_canvas

        strokes = [[tuple(p) for p in line] for x, label in ((190, 7), (530, 0)) for line in
                   to_canvas(BROWSER_DIGITS[label], 0.7, (x, 120))]
        touch_draw(pg, ctx.new_cdp_session(pg), strokes, width=720)
        number = pg.locator('[data-testid="stMetric"]').filter(has_text="Number")
        number.wait_for(timeout=60_000)
        for _ in range(60):  # each stroke is read as it ends: wait for the last one's reading
            said = number.locator('[data-testid="stMetricValue"]').inner_text().strip()
            if said == "70":
                break
            pg.wait_for_timeout(500)
        pg.screenshot(path=str(ROOT / "artifacts" / f"number-{size['width']}.png"))
    ctx.close()
    assert main["x"] <= wide["x"] and wide["x"] + wide["width"] <= main["x"] + main["width"], (wide, main)
    assert said in (None, "70"), said
    assert names[-4:] == ["Draw", "Number", "Upload", "MNIST"], names

    def apart(a, b):
        return (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])

    assert toolbar is not None and toolbar["width"] > 50, toolbar
    shown = [(name, box) for name, box in zip(names, boxes) if box is not None]  # a closed sidebar's are not
    assert len(shown) >= 4 and all(apart(toolbar, box) for _, box in shown), (toolbar, shown)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def test_eight_big_uploads_at_once(page, server, server_process, tmp_path):
    """Eight visitors upload a 40-megapixel picture (a 0.2 MB file) at the same moment: every one is read,
    and the server's memory, sampled throughout, stays within 1.5 GB of where it was."""
    big = tmp_path / "big-seven.png"
    big_seven("L", (6320, 6320)).save(big, compress_level=1)
    visitors = []
    for _ in range(8):
        pg = page.context.browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        pg.goto(server)
        ready(pg, 120)
        pg.get_by_text("Upload", exact=True).click()
        pg.locator('input[type="file"]').wait_for(state="attached", timeout=30_000)
        visitors.append(pg)
    before = peak = rss_mb(server_process.pid)
    sampling = True

    def sample():
        nonlocal peak
        while sampling:
            peak = max(peak, rss_mb(server_process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for pg in visitors:
        pg.locator('input[type="file"]').set_input_files(str(big))
    said = [read_prediction(pg, timeout=180) for pg in visitors]
    sampling = False
    sampler.join()
    visitors[0].screenshot(path=str(ROOT / "artifacts" / "page-big-upload.png"), full_page=True)
    for pg in visitors:
        pg.context.close()
    print(f"eight 40-megapixel uploads at once: read {said}; server {before:.0f} MB before, peak {peak:.0f} MB")
    assert said == ["7"] * 8
    assert peak - before <= 1500, (before, peak)


# ---- the lecture hall: a phone drawn on by finger, a projector, a drawing shared by link ----



@pytest.fixture(scope="module")
def ten_pen_digits():
    """Ten real pen digits, a seeded draw of one per digit from the held-out writers (none of them in the index)."""
    from knn.pen import load_pendigits

    pen = [d for d in load_pendigits() if d.writer in HELD_OUT]
    rng = __import__("numpy").random.default_rng(0)
    return [d for y in range(10) for d in [pen[int(rng.choice([i for i, p in enumerate(pen) if p.label == y]))]]]


def test_a_phone_reads_ten_pen_digits_drawn_by_finger(page, server, ten_pen_digits):
    """390x844, touch: each digit drawn with a finger; its prediction, the canvas and the first neighbour all on
    screen at once; the page's own Clear between digits (the canvas toolbar shows only on hover)."""
    from knn.drawn import to_canvas

    phone = page.context.browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True,
                                             device_scale_factor=2)
    pg = phone.new_page()
    pg.goto(server)
    ready(pg, 120)
    cdp = phone.new_cdp_session(pg)
    read, together = [], []
    for j, d in enumerate(ten_pen_digits):
        if j:
            pg.get_by_role("button", name="Clear").tap()
            pg.get_by_text("Draw a digit (0").wait_for(timeout=30_000)
        strokes = [[tuple(p) for p in line] for line in to_canvas(d.strokes, 0.7, (140, 140))]
        touch_draw(pg, cdp, strokes)
        read.append(read_prediction(pg))
        assert read[-1] is not None, f"no answer to the {d.label} drawn, digit {j + 1} of 10"
        first = pg.locator("figure.knn-pic").first
        first.wait_for(timeout=30_000)
        pg.wait_for_timeout(300)
        metric = pg.locator('[data-testid="stMetric"]').filter(has_text="Prediction")
        together.append(in_view(pg, pg.locator("canvas.upper-canvas")) and in_view(pg, metric) and in_view(pg, first))
        if j == 4:
            pg.screenshot(path=str(ROOT / "artifacts" / "phone.png"))
    # Number mode: its 720 px canvas shrinks to the phone's width, and a finger writes two digits on it
    pg.get_by_text("Number", exact=True).tap()
    pg.get_by_text("Write a number").wait_for(timeout=30_000)
    wide = pg.locator("canvas.upper-canvas").bounding_box()
    two = ten_pen_digits[3], ten_pen_digits[5]
    strokes = [[tuple(p) for p in line] for x, d in zip((190, 530), two)
               for line in to_canvas(d.strokes, 0.62, (x, 120))]
    touch_draw(pg, cdp, strokes, width=720)
    number = pg.locator('[data-testid="stMetric"]').filter(has_text="Number")
    number.wait_for(timeout=60_000)
    pg.wait_for_timeout(500)
    said = number.locator('[data-testid="stMetricValue"]').inner_text().strip()
    pg.screenshot(path=str(ROOT / "artifacts" / "phone-number.png"))
    phone.close()
    labels = [str(d.label) for d in ten_pen_digits]
    print("phone: labels", labels, "read", read, "all on screen", together, "number", said)
    assert sum(r == t for r, t in zip(read, labels)) >= 9, (labels, read)
    assert all(together), together
    assert wide["x"] >= 0 and wide["x"] + wide["width"] <= PHONE["width"], wide  # the whole canvas on screen
    assert said == "".join(str(d.label) for d in two), said


def test_a_correction_sticks_on_a_phone(page, server):
    """390x844, touch: a held-out writer's 9 that the page reads as a 7; a tap on 9 teaches it, and another 9 of
    the same writer is read as a 9; Clear keeps that one as read. A fresh visitor still reads the second 9 as a 7
    (found offline: writer 28's 9s, the index without them)."""
    from knn.drawn import to_canvas
    from knn.pen import load_pendigits

    nines = [d for d in load_pendigits() if d.writer == 28 and d.label == 9]
    first, second = nines[22], nines[8]
    phone = page.context.browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)

    def visitor():
        pg = phone.new_page()
        pg.goto(server)
        ready(pg, 120)
        return pg, phone.new_cdp_session(pg)

    def finger(pg, cdp, d, clear=True):
        if clear:
            pg.get_by_role("button", name="Clear").tap()
            pg.get_by_text("Draw a digit (0").wait_for(timeout=30_000)
        touch_draw(pg, cdp, [[tuple(p) for p in line] for line in to_canvas(d.strokes, 0.7, (140, 140))])
        return settled_prediction(pg)

    pg, cdp = visitor()
    said = finger(pg, cdp, first, clear=False)
    pg.locator("strong", has_text="? It's a").wait_for(timeout=30_000)
    pg.get_by_role("button", name="9", exact=True).tap()
    pg.get_by_text("Taught: that was a 9").wait_for(timeout=30_000)
    corrected = settled_prediction(pg)
    pg.screenshot(path=str(ROOT / "artifacts" / "phone-corrected.png"))
    after = finger(pg, cdp, second)
    pg.wait_for_timeout(500)
    pg.screenshot(path=str(ROOT / "artifacts" / "phone-sticks.png"))
    pg.get_by_role("button", name="Clear").tap()
    pg.get_by_text("Kept as your 9 (★)").wait_for(timeout=30_000)  # the second 9, read right, joins the visitor's own
    pg.screenshot(path=str(ROOT / "artifacts" / "phone-kept.png"))
    stranger, cdp2 = visitor()
    before = finger(stranger, cdp2, second, clear=False)
    phone.close()
    print("phone correction: first 9", said, "corrected", corrected, "second 9 after", after, "for a stranger", before)
    assert (said, corrected, after, before) == ("7", "9", "9", "7")


def test_a_projector_shows_the_neighbours(page, server):
    """1280x720 with the sidebar open: after a mouse-drawn 7, the canvas, the prediction and the k nearest
    training digits are all on screen."""
    room = page.context.browser.new_context(viewport=PROJECTOR)
    pg = room.new_page()
    pg.goto(server)
    ready(pg, 120)
    draw(pg, DIGITS["7"])
    assert read_prediction(pg) == "7"
    pg.locator("figure.knn-pic").first.wait_for(timeout=30_000)
    pg.wait_for_timeout(800)
    figures = pg.locator("figure.knn-pic")
    metric = pg.locator('[data-testid="stMetric"]').filter(has_text="Prediction")
    shown = [in_view(pg, figures.nth(j)) for j in range(7)]
    together = in_view(pg, pg.locator("canvas.upper-canvas")) and in_view(pg, metric)
    pg.screenshot(path=str(ROOT / "artifacts" / "projector.png"))
    room.close()
    assert together and all(shown), (together, shown)


def test_a_drawing_shared_by_link(page, server):
    """Draw, Share, open the link in another browser: the same drawing on its canvas and the same answer."""
    desk = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = desk.new_page()
    pg.goto(server)
    ready(pg, 120)
    draw(pg, DIGITS["7"])
    said = read_prediction(pg)
    pg.wait_for_timeout(800)
    first = captions(pg)[:7]
    pg.get_by_role("button", name="Share").click()
    code = pg.locator('[data-testid="stCode"]').filter(has_text="?drawing=")
    code.wait_for(timeout=30_000)
    link = code.inner_text().strip()
    assert link.startswith(server) and "?drawing=" in link and len(link) < 2000, link
    assert "drawing=" in pg.url  # the address itself now names the drawing
    other = page.context.browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.goto(link)
    ready(other, 120)
    assert read_prediction(other) == said
    other.wait_for_timeout(800)
    assert captions(other)[:7] == first  # the same neighbours at the same distances
    ink = other.locator("canvas.dc-canvas.lower-canvas").evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s; }")
    assert ink > 255 * 2000, ink  # the strokes are on the canvas, not only in the answer
    other.screenshot(path=str(ROOT / "artifacts" / "shared-link.png"))
    other.context.close()
    bad = desk.new_page()
    bad.goto(server + "/?drawing=not-a-drawing")
    bad.get_by_text("This link's drawing is damaged").wait_for(timeout=60_000)
    assert bad.locator('[data-testid="stException"]').count() == 0
    desk.close()
