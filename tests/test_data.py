"""The loader: real MNIST, the order of sources, and clear errors for broken files."""

import gzip
import shutil

import numpy as np
import pytest

from helpers import mnist_dir
from knn import data
from knn.data import DataError, load_mnist, read_idx, subset

unit = pytest.mark.unit


def test_real_mnist_shapes_and_checksum_figure(mnist):
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_labels.shape == (60000,) and mnist.test_labels.shape == (10000,)
    assert set(np.unique(mnist.train_labels)) == set(range(10))
    # the sanity figure in the data's README
    assert round(float(mnist.train_images.mean()), 4) == 33.3184


def copy_mnist(tmp_path, gunzip=()):
    for stem in data.FILES.values():
        src = mnist_dir() / (stem + ".gz")
        if stem in gunzip:
            with gzip.open(src) as f, open(tmp_path / stem, "wb") as g:
                shutil.copyfileobj(f, g)
        else:
            shutil.copy(src, tmp_path)
    return tmp_path


def test_plain_and_gzipped_files_mix(tmp_path, mnist):
    d = copy_mnist(tmp_path, gunzip=("t10k-labels-idx1-ubyte",))
    m = load_mnist(d)
    assert np.array_equal(m.test_labels, mnist.test_labels)


def test_env_var_is_used(tmp_path, monkeypatch, mnist):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir()))
    assert load_mnist().source == str(mnist_dir())


def test_keras_cache_is_read_without_pickle(tmp_path, monkeypatch, mnist):
    cache = tmp_path / "mnist.npz"
    np.savez(cache, x_train=mnist.train_images, y_train=mnist.train_labels,
             x_test=mnist.test_images, y_test=mnist.test_labels)
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "KERAS_CACHE", cache)
    m = load_mnist()
    assert m.source == str(cache) and np.array_equal(m.test_labels, mnist.test_labels)


@unit
def test_object_array_in_cache_is_refused(tmp_path, monkeypatch):
    cache = tmp_path / "mnist.npz"
    np.savez(cache, x_train=np.array([object()], dtype=object), y_train=1, x_test=1, y_test=1)
    monkeypatch.setattr(data, "KERAS_CACHE", cache)
    monkeypatch.delenv("MNIST_DIR", raising=False)
    with pytest.raises(DataError, match="mnist.npz"):
        load_mnist()


@unit
def test_offline_without_data_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "none.npz")
    with pytest.raises(DataError) as e:
        load_mnist(download=False)
    msg = str(e.value)
    assert "MNIST_DIR" in msg and "--data" in msg and "none.npz" in msg


@unit
def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_mnist(tmp_path / "absent")


def test_missing_file_is_named(tmp_path):
    d = copy_mnist(tmp_path)
    (d / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-labels-idx1-ubyte"):
        load_mnist(d)


def test_truncated_file_is_named(tmp_path):
    d = copy_mnist(tmp_path, gunzip=("t10k-images-idx3-ubyte",))
    p = d / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:5000])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: truncated"):
        load_mnist(d)


def test_corrupt_gzip_is_named(tmp_path):
    d = copy_mnist(tmp_path)
    p = d / "train-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:1000])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: cannot be read"):
        load_mnist(d)


@unit
def test_bad_magic_and_truncated_header(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"\x00\x00\x08\x04" + b"\x00" * 20)
    with pytest.raises(DataError, match="magic"):
        read_idx(p)
    p.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(DataError, match="truncated"):
        read_idx(p)
    p.write_bytes(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes([1, 2, 3]))
    assert read_idx(p).tolist() == [1, 2, 3]


@unit
def test_subsets_are_seeded_sorted_and_checked():
    a = subset(1000, 50, seed=3)
    assert len(a) == 50 and len(set(a.tolist())) == 50 and np.all(np.diff(a) > 0)
    assert np.array_equal(a, subset(1000, 50, seed=3)) and not np.array_equal(a, subset(1000, 50, seed=4))
    assert np.array_equal(subset(7, None, 0), np.arange(7)) and np.array_equal(subset(7, 7, 5), np.arange(7))
    with pytest.raises(ValueError, match="subset size must be between 1 and 1000; got 0"):
        subset(1000, 0, 0)


def test_bad_labels(tmp_path):
    d = copy_mnist(tmp_path)
    labels = read_idx(d / "t10k-labels-idx1-ubyte.gz").copy()
    labels[7] = 12
    with gzip.open(d / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01" + (10000).to_bytes(4, "big") + labels.tobytes())
    with pytest.raises(DataError, match="labels must lie in 0-9; found 12"):
        load_mnist(d)
