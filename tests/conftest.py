"""Shared fixtures: the real MNIST (from MNIST_DIR or ../shared) and small seeded data."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MNIST = ROOT.parent / "shared" / "data" / "mnist"


def mnist_dir() -> Path:
    return Path(os.environ.get("MNIST_DIR") or DEFAULT_MNIST)


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
    from knn.evaluate import build_index

    return build_index(mnist, preprocess="none")[0]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory):
    """A cache folder holding the Evaluate page's results, computed once per test session.

    Computing them is the page's first-visit cost (a few minutes: every test
    digit under four settings); every later visit reads them from disk.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from knn import cache

    folder = tmp_path_factory.mktemp("knn-cache")
    for made in [*cache.folder().glob("copies-*.npz"), *cache.folder().glob("features-*.npz")]:
        shutil.copy(made, folder)  # the learned index's styled copies and features, if made already: not the page's results
    os.environ["KNN_CACHE"] = str(folder)
    os.environ.setdefault("MNIST_DIR", str(mnist_dir()))
    at = AppTest.from_file(str(ROOT / "pages" / "2_Evaluate.py"), default_timeout=1200).run()
    assert not at.exception, at.exception
    st.cache_resource.clear()  # later tests start from the disk cache, like a fresh server
    return folder
