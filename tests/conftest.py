"""Fixtures, and the fast tier's guard.

Tests marked ``unit`` (``python -m pytest -m unit``) run on small synthetic
data with an empty cache: they may not use the fixtures that read MNIST, and
the loader is cut off from every data source while they run. Everything else
reads the real MNIST from $MNIST_DIR or ../shared/data/mnist.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import knn  # noqa: F401  (first: it sets TensorFlow's log level before anything imports TensorFlow)
import numpy as np
import pytest

from helpers import HOLD_OUT, mnist_dir, synthetic_mnist

DATA_FIXTURES = {"mnist", "full_index", "eval_cache"}

if mnist_dir().is_dir():
    os.environ.setdefault("MNIST_DIR", str(mnist_dir()))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("unit") and DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            raise pytest.UsageError(f"{item.nodeid} is marked unit but uses "
                                    f"{sorted(DATA_FIXTURES & set(item.fixturenames))}: the fast tier reads no data set")
    waiting = {item.module.__name__ for item in items if "eval_cache" in getattr(item, "fixturenames", ())}
    if waiting and not config.option.collectonly:  # eval_cache's work, started now beside the tests before it
        _start_eval_cache(folds=any(item.get_closest_marker("folds") for item in items))
    # the modules that need it run last, each whole and in its own order: the others run meanwhile
    items[:] = [i for i in items if i.module.__name__ not in waiting] + [i for i in items if i.module.__name__ in waiting]


@pytest.fixture(scope="session")
def unit_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("unit-cache")


@pytest.fixture(autouse=True)
def _unit_tier(request, monkeypatch, unit_cache, tmp_path):
    """For unit tests: an empty cache of their own, no MNIST_DIR, no Keras cache, no download, and none of
    the other data sets (pen digits, scans, Omniglot) unless a test names its folder."""
    if not request.node.get_closest_marker("unit"):
        return
    from knn import data, omniglot, pen, scans

    def offline():
        raise data.DataError("the fast tier reads no data set")

    monkeypatch.setenv("KNN_CACHE", str(unit_cache))
    monkeypatch.delenv("MNIST_DIR", raising=False)
    for name in ("PENDIGITS_DIR", "PENDIGITS_HOLD_OUT", "USPS_DIR", "OMNIGLOT_DIR"):
        monkeypatch.delenv(name, raising=False)
    for module in (data, pen, scans, omniglot):
        monkeypatch.setattr(module, "SHARED", tmp_path / "no-shared-data")
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "no-keras-cache.npz")
    monkeypatch.setattr(data, "_download", offline)
    monkeypatch.setattr(pen, "CACHE", tmp_path / "no-pen-cache")
    monkeypatch.setattr(pen, "_fetch", lambda url: offline())


@pytest.fixture(scope="session")
def synthetic():
    """400 training and 60 test digits drawn from ten stroke shapes (tests/helpers.py), as a knn.data.Mnist."""
    return synthetic_mnist()


@pytest.fixture(scope="session")
def mnist():
    from knn.data import load_mnist

    d = mnist_dir()
    if not d.is_dir():
        pytest.fail(f"MNIST not found at {d}: set MNIST_DIR")
    return load_mnist(d)


@pytest.fixture(scope="session")
def full_index(mnist):
    """The raw-pixel L1 index over all 60,000 training digits."""
    from knn.references import build

    return build(mnist, "none").index


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL URL whose rooms' tables start empty (helpers.start_postgres)."""
    from helpers import start_postgres
    from room.store import Store, meta

    try:
        url = start_postgres()
    except RuntimeError as e:
        pytest.fail(str(e))
    store = Store(url)
    meta.drop_all(store.engine)
    store.dispose()
    return url


def _room_db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rooms.sqlite'}"
    return request.getfixturevalue("postgres")


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.unit), "postgresql"])
def room_db(request, tmp_path):
    """A rooms' database URL, once per kind: a SQLite file of the test's own (the fast tier), and PostgreSQL."""
    return _room_db_url(request, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def room_db_full(request, tmp_path):
    """room_db for tests that read a data set or the shipped references: both kinds outside the fast tier."""
    return _room_db_url(request, tmp_path)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def eval_cache():
    """The cache folder, once it holds the Evaluate page's results and the browser tests' references,
    computed once per test session (helpers.make_eval_cache).

    Computing them is the page's first-visit cost (a few minutes: every test
    digit under four settings); every later visit reads them from disk. The
    work starts in a process of its own as soon as the suite is collected,
    so it runs beside the tests that come before the first one needing it.
    It writes to the suite's cache folder, where the cache computes each
    file once however many processes ask for it (knn.cache), so nothing is
    computed twice. It makes what the tests need in the order they need it
    (helpers.make_eval_cache): when a test marked ``folds`` is collected, that
    includes the references of the pen writers' writer-disjoint folds, which
    that test, run mid-suite, then reads from disk. The page's work is
    done as the browser tests' servers run, with the pen writers they
    draw (helpers.HOLD_OUT) held out, and from here on the tests in this
    process run that way too: the modules that need this fixture run last.
    """
    import streamlit as st

    folder, job, log = _EVAL.get("job") or _start_eval_cache()
    if job.wait() != 0:
        pytest.fail(f"computing the Evaluate page's tables failed:\n{Path(log).read_text()[-4000:]}")
    os.environ["KNN_CACHE"] = str(folder)
    os.environ["PENDIGITS_HOLD_OUT"] = HOLD_OUT
    st.cache_resource.clear()  # later tests start from the disk cache, like a fresh server
    return folder


_EVAL = {}  # the background job that fills eval_cache's folder: (the folder, the process, its log file)


def _start_eval_cache(folds: bool = False) -> tuple:
    from knn import cache

    folder = cache.folder()
    out, log = tempfile.mkstemp(prefix="knn-eval-cache-", suffix=".log")
    with os.fdopen(out, "w") as out:
        here = Path(__file__).parent
        job = subprocess.Popen([sys.executable, "-c", f"import helpers; helpers.make_eval_cache({str(folder)!r}, {folds})"],
                               cwd=os.getcwd(), stdout=out, stderr=subprocess.STDOUT,  # relative paths as pytest sees them
                               env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(here.parent), str(here)])))
    _EVAL["job"] = (folder, job, log)
    return _EVAL["job"]


def pytest_sessionfinish(session):
    if "job" in _EVAL:
        _, job, log = _EVAL.pop("job")
        job.kill()
        job.wait()
        Path(log).unlink(missing_ok=True)
