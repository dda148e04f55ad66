"""Shared fixtures: the real MNIST (from MNIST_DIR or ../shared) and small seeded data."""

import os
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
