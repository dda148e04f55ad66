"""A small on-disk cache of NumPy results, keyed by settings and the data's checksum.

Heavy results (an evaluation over all 10,000 test digits for every k) are
computed once and kept as ``.npz`` files (``allow_pickle=False``: nothing a
cache file holds can run code). Files are written to a temporary name and
moved into place atomically, so a reader never sees half a file; a file
that is missing, corrupt or from another version is recomputed, with one
log line saying why. Knows nothing about what it stores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Dict

import numpy as np

VERSION = 2  # bump when the meaning of cached results changes
log = logging.getLogger("knn.cache")


def folder() -> Path:
    """``$KNN_CACHE``, else ``~/.cache/knn-digits``."""
    return Path(os.environ.get("KNN_CACHE") or Path.home() / ".cache" / "knn-digits")


def checksum(*arrays: np.ndarray) -> str:
    """A short SHA-256 of arrays' bytes, shapes and dtypes: the data's identity."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def key_of(settings: dict) -> str:
    return hashlib.sha256(json.dumps({**settings, "version": VERSION}, sort_keys=True).encode()).hexdigest()[:20]


def cached(name: str, settings: dict, compute: Callable[[], Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
    """The arrays ``compute()`` returns for these settings, from disk when already computed.

    ``settings`` must be JSON-serialisable and hold everything the result
    depends on (including the data checksum). A cache folder that cannot be
    written is not fatal: the result is computed and returned all the same.
    """
    path = folder() / f"{name}-{key_of(settings)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            log.warning("cache file %s is unreadable (%s); recomputing it", path, e)
    result = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **result)
            os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as e:
        log.warning("could not write cache file %s (%s); continuing without it", path, e)
    return result
