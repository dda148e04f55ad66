"""The Evaluate page through AppTest: charts, the confusion cell browser, the map, the disk cache."""

import json
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from helpers import APP, EVALUATE_PAGE, ROOT, captions

PAGE = str(ROOT / EVALUATE_PAGE)


def charts(at) -> dict:
    """Plotly charts by key -> their figure as a dict (an element's id ends with the key the page gave it)."""
    return {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_charts_and_figures_present(eval_cache):
    at = AppTest.from_file(PAGE, default_timeout=600).run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 7  # accuracy vs k, confusion, per-class, coverage, credibility, digit-likeness, map
    curves = specs[0]["data"]
    names = [t["name"] for t in curves]
    for metric in ("L1", "L2"):
        for pipe in ("raw pixels", "learned features"):
            for size in ("60,000 / 10,000", "5,000 / 200"):
                assert f"{metric}, {pipe}, {size}" in names
    # The best pixel pipeline's 120,000-vector tables (about six minutes) are computed only on request.
    assert not any("thickened pixels" in n for n in names) and at.checkbox(key="with_thicken").value is False
    assert any(n.startswith("TF1 tutorial setting") for n in names)
    full_l1 = next(t for t in curves if t["name"] == "L1, raw pixels, 60,000 / 10,000")
    assert abs(full_l1["y"][0] - 96.31) < 0.01  # 1-NN raw pixels: the exact figure
    assert [m.value for m in at.metric][0].endswith("%")


def test_certainty_keeps_its_promise_on_the_page(eval_cache):
    at = AppTest.from_file(PAGE, default_timeout=600).run()
    assert not at.exception
    figures = charts(at)
    names = [t["name"] for t in figures["coverage"]["data"] if "name" in t]
    assert names[0].startswith("the promise") and "MNIST test digits" in names and "real pen digits" in names
    mnist = next(m for m in at.metric if m.label.startswith("MNIST test digits"))
    assert 94 <= float(mnist.value.rstrip("%")) <= 96.5, mnist.value  # measured 95.02%
    other = next(m for m in at.metric if m.label.startswith("non-digits"))
    assert float(other.value.rstrip("%")) >= 60  # measured 70.4%
    assert {t["name"].split(" (")[0] for t in figures["likeness"]["data"] if t.get("type") == "bar"} == {
        "MNIST test digits", "real pen digits", "non-digits"}
    at.select_slider(key="eval_level").set_value(0.8).run()
    assert not at.exception
    assert float(next(m for m in at.metric if m.label.startswith("MNIST")).value.rstrip("%")) < 85


def test_picking_a_cell_lists_its_digits(eval_cache):
    at = AppTest.from_file(PAGE, default_timeout=600).run()
    t, p = at.selectbox(key="cell_true").value, at.selectbox(key="cell_pred").value  # opens on the worst cell
    assert t != p
    at.selectbox(key="cell_true").set_value(5).run()
    at.selectbox(key="cell_true").set_value(t).run()
    assert not at.exception
    head = [s.value for s in at.subheader if f"labelled {t}, read as {p}" in s.value]
    assert len(head) == 1
    n = int(head[0].split()[0])
    caps = captions(at)
    shown = [c for c in caps if "test #" in c]
    assert len(shown) == min(n, 12) and n > 0
    at.selectbox(key="cell_true").set_value(7)
    at.selectbox(key="cell_pred").set_value(7).run()  # the diagonal: correctly read sevens
    assert any("labelled 7, read as 7" in s.value for s in at.subheader)


def test_map_places_the_last_drawing(eval_cache, monkeypatch):
    """Through the app's navigation: draw on the Draw page, then open the Evaluate page."""
    monkeypatch.setenv("KNN_CACHE", str(eval_cache))
    at = AppTest.from_file(APP, default_timeout=600).run()
    at.radio(key="input").set_value("MNIST").run()
    at.switch_page(EVALUATE_PAGE).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["How good is nearest-neighbour, and where does it fail?"]
    map_fig = json.loads(at.get("plotly_chart")[-1].proto.spec)
    names = [t.get("name") for t in map_fig["data"]]
    assert "your drawing" in names and "its nearest neighbours" in names


def test_opens_fast_once_cached(eval_cache):
    """Results on disk (the cache fixture cleared memory): the page's own work stays under 2 s."""
    from ui import resources

    st.cache_resource.clear()
    resources.mnist()  # the data a running server already holds for the Draw page
    start = time.perf_counter()
    at = AppTest.from_file(PAGE, default_timeout=600).run()
    seconds = time.perf_counter() - start
    assert not at.exception and len(at.get("plotly_chart")) == 7
    assert seconds < 2.0, f"{seconds:.2f} s"


@pytest.mark.unit
def test_two_first_visitors_at_once_compute_each_table_once(synthetic, monkeypatch, tmp_path):
    """Two visitors open the Evaluate page at the same moment on a fresh server: each of its tables is computed
    once, and both pages show the same curves (synthetic digits stand in for MNIST)."""
    import threading

    from knn import evaluate, tables
    from ui import resources

    st.cache_resource.clear()
    monkeypatch.setenv("KNN_CACHE", str(tmp_path))
    monkeypatch.setattr(resources, "mnist", lambda: synthetic)
    monkeypatch.setitem(evaluate.TUTORIAL, "n_train", 200)
    monkeypatch.setitem(evaluate.TUTORIAL, "n_test", 30)
    computed, real = [], tables.neighbour_table

    def counted(*args, **kwargs):
        computed.append(args[1:4])
        time.sleep(0.2)  # long enough for the second page to arrive while the first computes
        return real(*args, **kwargs)

    monkeypatch.setattr(tables, "neighbour_table", counted)
    pages = [AppTest.from_file(PAGE, default_timeout=300) for _ in range(2)]
    runs = [threading.Thread(target=at.run) for at in pages]
    for r in runs:
        r.start()
    for r in runs:
        r.join()
    try:
        for at in pages:
            assert not at.exception, at.exception
        assert len(computed) == 8 and len({str(c) for c in computed}) == 8, computed  # 2 sizes x 2 metrics x 2 spaces
        curves = [json.loads(at.get("plotly_chart")[0].proto.spec)["data"] for at in pages]
        assert [t["y"] for t in curves[0]] == [t["y"] for t in curves[1]]
    finally:
        st.cache_resource.clear()


@pytest.mark.unit
def test_a_page_that_waits_shows_the_other_pages_progress():
    """While one visitor's page computes a table, a second one waiting for it is shown that page's progress."""
    import threading

    from ui import resources

    slot = {"lock": threading.Lock(), "table": None}
    held, shown = threading.Event(), []

    def first_page():
        with slot["lock"]:
            held.set()
            time.sleep(0.3)  # no progress yet: nothing to show
            for done in (250, 500):
                slot["progress"] = (done, 1000)
                time.sleep(0.3)
            slot["table"] = "computed"

    other = threading.Thread(target=first_page)
    other.start()
    held.wait()
    try:
        with resources.held(slot, lambda done, total, own: shown.append((done, total, own)), every=0.1) as tick:
            assert slot["table"] == "computed"  # the lock came only once the first page was done
            assert shown[0] == (250, 1000, False) and (500, 1000, False) in shown, shown
            tick(7, 10)  # its own work: left in the slot for others, and shown as its own
            assert slot["progress"] == (7, 10) and shown[-1] == (7, 10, True)
        assert not slot["lock"].locked()  # given back when the block ends
    finally:
        other.join()


@pytest.mark.unit
def test_a_progress_bar_whose_count_stands_still_says_what_is_being_made(monkeypatch):
    """A first visit's tables wait minutes for references made from nothing: once the count of what is read has
    stood still a while, the bar names what is being made and how far it is, and keeps its place."""
    from knn import progress
    from ui import widgets

    shown = []

    class Bar:
        def progress(self, fraction, text):
            shown.append((fraction, text))

    monkeypatch.setattr(widgets.st, "progress", lambda fraction, text: Bar().progress(fraction, text) or Bar())
    bar = widgets.ProgressBar("Certainty (once; kept on disk)", still=0.3)
    with progress.watching(bar.making):
        bar.show(0.25, "Certainty: 10 of 40 pictures read")
        progress.report("learned features", 256, 60_000)  # the count has just moved: nothing more to say
        time.sleep(0.35)
        progress.report("learned features", 512, 60_000)
        bar.show(0.5, "Certainty: 20 of 40 pictures read")
        progress.report("digits calibrating the certainty", 500, 10_000)
    assert shown == [(0.0, "Certainty (once; kept on disk)"), (0.25, "Certainty: 10 of 40 pictures read"),
                     (0.25, "Certainty: 10 of 40 pictures read · now learned features: 512 of 60,000"),
                     (0.5, "Certainty: 20 of 40 pictures read")]
