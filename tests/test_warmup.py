"""The first minute: the shipped index built on a thread of its own, a first index answering meanwhile (ui.warmup)."""

import threading

import pytest
from streamlit.testing.v1 import AppTest

from helpers import APP, prediction
from ui import warmup


def stub(first_reports: bool = False, full_reports: bool = True, first_error=None):
    """A Warmup whose builds are stand-ins: 'first' at once, 'full' once ``release`` is set."""
    from knn import progress

    release = threading.Event()

    def first():
        if first_error is not None:
            raise first_error
        if first_reports:
            progress.report("learned features", 10, 10)
        return "first"

    def full():
        if full_reports:
            progress.report("pen digits drawn on the canvas", 500, 14988)
        release.wait(10)
        return "full"

    return warmup.Warmup(lambda: None, first, full).start(), release


@pytest.mark.unit
def test_the_first_index_answers_while_the_full_one_is_computed():
    w, release = stub(first_reports=True)
    assert w.imported.wait(5)
    while w.usable() is None:
        w.finished.wait(0.01)
    assert w.usable() == "first" and w.computing
    line, fraction = warmup.describe(w.step)
    assert line == "Building the full index: pen digits drawn on the canvas, 500 of 14,988"
    assert fraction == pytest.approx(500 / 14988)
    release.set()
    assert w.wait_full() == "full" and w.usable() == "full"
    assert [phase for _, phase in w.timeline] == ["Starting TensorFlow", "Loading MNIST",
                                                  "Building a first index of 5,000 MNIST digits",
                                                  "Building the full index", "Ready"]
    assert w.first_refs is None  # dropped once the full index is in


@pytest.mark.unit
def test_a_full_index_read_from_disk_is_waited_for():
    """A full build that reports no progress (every part read from disk) is waited for: the first index,
    less sure, never answers in its place."""
    w, release = stub(full_reports=False)
    for _ in range(50):
        assert w.usable() is None
        if w.first_refs is not None:
            break
        w.finished.wait(0.01)
    assert w.first_refs == "first" and w.usable() is None
    release.set()
    assert w.wait_full() == "full" and w.usable() == "full"


@pytest.mark.unit
def test_a_failed_build_is_raised_to_the_page():
    from knn.data import DataError

    w, _ = stub(first_error=DataError("MNIST not found in nowhere"))
    assert w.finished.wait(5)
    with pytest.raises(DataError, match="nowhere"):
        w.usable()
    with pytest.raises(DataError):
        w.wait_full()


def test_the_page_answers_from_the_first_index_and_switches_by_itself(monkeypatch):
    """While the full index is computed the Draw page answers from the first one and says so; once it is
    in, the page uses it."""
    import streamlit as st

    from knn import progress
    from ui import resources

    st.cache_resource.clear()
    release = threading.Event()

    def full():
        progress.report("learned features", 30000, 60000)
        release.wait(60)
        return resources.build_references(*resources.DEFAULT)

    w = warmup.Warmup(warmup._imports, warmup._first, full, warmup._data).start()
    monkeypatch.setattr(warmup, "_one", lambda: w)
    at = AppTest.from_file(APP, default_timeout=600)
    at.run()
    assert not at.exception
    sidebar = [c.value for c in at.sidebar.caption if c.value.startswith("References")]
    assert sidebar == ["References: 5,000 MNIST training digits."], sidebar
    assert any("Until it is ready, answers come from a first index" in c.value for c in at.caption)
    assert any("learned features, 30,000 of 60,000" in p.proto.text for p in at.get("progress"))
    at.radio(key="input").set_value("MNIST").run()
    assert len(prediction(at)) == 1
    release.set()
    assert w.wait_full() is not None
    at.run()
    sidebar = [c.value for c in at.sidebar.caption if c.value.startswith("References")]
    assert "drawings of real pen digits" in sidebar[0], sidebar
    assert not any("Until it is ready" in c.value for c in at.caption)
    st.cache_resource.clear()


@pytest.mark.unit
def test_the_builder_starts_once():
    w, release = stub()
    thread = w.thread
    assert w.start() is w and w.thread is thread
    release.set()
    assert w.wait_full() == "full"


@pytest.mark.unit
def test_the_room_page_opens_while_tensorflow_is_imported(monkeypatch, tmp_path):
    """A lecturer's first visit to /Room shows the page at once and starts the builder for the phones to come:
    the Room page reads no digit, so it does not wait for TensorFlow's import as Draw and Evaluate do."""
    from knn.data import DataError

    def missing():
        raise DataError("MNIST not found in nowhere")

    monkeypatch.setenv("KNN_ROOM_DB", f"sqlite:///{tmp_path / 'rooms.sqlite'}")
    monkeypatch.setattr(warmup, "_one", lambda: warmup.Warmup(lambda: None, missing, missing))
    at = AppTest.from_file(APP, default_timeout=60).run()  # the Draw page first: AppTest knows the pages after a run
    assert not at.exception
    importing = threading.Event()
    w = warmup.Warmup(importing.wait, missing, missing)  # a builder whose TensorFlow import does not end
    monkeypatch.setattr(warmup, "_one", lambda: w)
    at.switch_page("ui/room_page.py").run(timeout=30)
    try:
        assert not at.exception
        assert [t.value for t in at.title] == ["Room"] and "Open a room" in [b.label for b in at.button]
        assert w.thread is not None and not w.imported.is_set()  # started, and still importing
    finally:
        importing.set()
