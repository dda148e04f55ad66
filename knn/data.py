"""MNIST on disk -> uint8 NumPy arrays, with every byte checked.

Where the data is looked for, in order:

1. an explicit folder (``--data DIR`` or ``load_mnist(data_dir)``) holding the
   four original IDX files, gzipped or not;
2. the folder in the environment variable ``MNIST_DIR``;
3. the Keras cache, ``~/.keras/datasets/mnist.npz`` (read with
   ``allow_pickle=False``);
4. a download through ``keras.datasets.mnist`` where the machine is online.

Anything wrong (a missing, truncated or corrupt file, wrong magic number,
shape, dtype or label range) raises :class:`DataError`, whose message names
the file, what is wrong, and where the loader looked. :func:`subset` draws
the seeded subsets (the TF1 tutorial's 5,000 / 200) the rest of the package
evaluates on. This module knows nothing about images beyond their bytes,
and nothing about the engine.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
COUNTS = {"train": 60000, "test": 10000}
KERAS_CACHE = Path("~/.keras/datasets/mnist.npz")


class DataError(Exception):
    """The data could not be found or read; the message says why and where."""


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays: images (n, 28, 28) uint8, labels (n,) uint8."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str  # where it was read from, for messages and reports


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped if its name ends in .gz) and check its header.

    Returns uint8 images (n, rows, cols) for magic 0x803 or labels (n,) for
    0x801. Raises DataError naming the file for anything malformed.
    """
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise DataError(f"{path}: cannot be read ({e}); the file is damaged or not an IDX file") from None
    if len(raw) < 8:
        raise DataError(f"{path}: truncated, only {len(raw)} bytes")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in (0x801, 0x803):
        raise DataError(f"{path}: not an IDX file of uint8 data (magic number {magic:#010x}, expected 0x00000801 or 0x00000803)")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated inside its header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: truncated or padded: header declares shape {shape} = {expected} bytes, "
            f"file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"  # ../shared/data beside the project


def find_file(file: str, places, what: str, hint: str, explicit: Optional[str] = None) -> Path:
    """The first of ``places`` (folders; empty ones skipped) that holds ``file``.

    ``explicit``, a folder the user named, comes first, and if it lacks the
    file that is an error, not a hint to look further. Raises DataError
    naming ``what`` was not found, where it looked, and ``hint``.
    """
    looked = []
    for p in [explicit, *places] if explicit else places:
        if p:
            f = Path(p) / file
            if f.is_file():
                return f
            looked.append(str(f))
            if p == explicit:
                break
    raise DataError(f"{what} not found: looked for {', '.join(looked)}. {hint}")


def read_gzip_text(path: Path, what: str, parse: Callable[[str], list]) -> list:
    """``parse`` of a gzipped ASCII file's text; DataError naming ``what`` if it cannot be read or holds
    nothing."""
    try:
        with gzip.open(path, "rt", encoding="ascii") as f:
            items = parse(f.read())
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise DataError(f"{what}: {path} is not a readable gzip text file ({e})") from None
    if not items:
        raise DataError(f"{what}: {path} holds no digits")
    return items


def _find(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: missing {stem}.gz (or {stem})")


def check(images: np.ndarray, labels: np.ndarray, split: str, where: str) -> None:
    """Check one split's arrays: shapes, dtype, counts and label range."""
    n = COUNTS[split]
    if images.dtype != np.uint8 or images.shape != (n, 28, 28):
        raise DataError(f"{where}: {split} images have shape {images.shape} {images.dtype}, expected ({n}, 28, 28) uint8")
    if labels.dtype != np.uint8 or labels.shape != (n,):
        raise DataError(f"{where}: {split} labels have shape {labels.shape} {labels.dtype}, expected ({n},) uint8")
    if labels.max() > 9:
        raise DataError(f"{where}: {split} labels must lie in 0-9; found {int(labels.max())}")


def load_folder(folder: Path) -> Mnist:
    """Read the four IDX files from one folder."""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    arrays = {key: read_idx(_find(folder, stem)) for key, stem in FILES.items()}
    for split in ("train", "test"):
        check(arrays[f"{split}_images"], arrays[f"{split}_labels"], split, str(folder))
    return Mnist(**arrays, source=str(folder))


def load_npz(path: Path) -> Mnist:
    """Read the Keras cache file (x_train, y_train, x_test, y_test)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {
                "train_images": z["x_train"], "train_labels": z["y_train"],
                "test_images": z["x_test"], "test_labels": z["y_test"],
            }
    except (OSError, ValueError, KeyError, zlib.error, EOFError) as e:
        raise DataError(f"{path}: cannot be read as the Keras MNIST cache ({e})") from None
    for split in ("train", "test"):
        check(arrays[f"{split}_images"], arrays[f"{split}_labels"], split, str(path))
    return Mnist(**arrays, source=str(path))


def _download() -> Mnist:
    """Fetch MNIST through Keras (online machines only) into its cache."""
    from knn.tf import tf  # imported (quietly) on this path only

    keras = tf.keras

    try:
        keras.datasets.mnist.load_data()
    except Exception as e:  # any network or HTTP failure
        raise DataError(f"download through keras.datasets.mnist failed ({type(e).__name__}: {e})") from None
    return load_npz(KERAS_CACHE.expanduser())


def subset(n_total: int, n: Optional[int], seed: int) -> np.ndarray:
    """Indices of a seeded random subset of n of n_total items, sorted (all of them, in order, if n is None or n_total)."""
    if n is None or n == n_total:
        return np.arange(n_total)
    if not 1 <= n <= n_total:
        raise ValueError(f"subset size must be between 1 and {n_total}; got {n}")
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


def load_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> Mnist:
    """Load MNIST from the first source that has it (see the module docstring).

    An explicit ``data_dir`` or ``MNIST_DIR`` that is given but broken is an
    error of its own: the loader does not silently fall back past it.
    """
    if data_dir is not None:
        return load_folder(Path(data_dir).expanduser())
    env = os.environ.get("MNIST_DIR")
    if env:
        return load_folder(Path(env).expanduser())
    cache = KERAS_CACHE.expanduser()
    if cache.is_file():
        return load_npz(cache)
    looked = f"no --data DIR was given, MNIST_DIR is not set, and {cache} does not exist"
    if not download:
        raise DataError(f"MNIST not found: {looked}.")
    try:
        return _download()
    except DataError as e:
        raise DataError(
            f"MNIST not found: {looked}; {e}. Put the four IDX files "
            "(train-images-idx3-ubyte.gz, ...) in a folder and pass --data DIR or set MNIST_DIR=DIR."
        ) from None
