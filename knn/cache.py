"""A small on-disk cache of NumPy results, keyed by settings and the data's checksum.

Heavy results (an evaluation over all 10,000 test digits for every k) are
computed once and kept as ``.npz`` files (``allow_pickle=False``: nothing a
cache file holds can run code). Files are written to a temporary name and
moved into place atomically, so a reader never sees half a file; a file
that is missing, corrupt or from another version is recomputed, with one
log line saying why. Processes sharing the folder (replicas started
together, a server and a script) compute each file once: while one
computes it, holding a lock file beside it (``name-key.lock``, left in
place), the others wait and then read its result. Knows nothing about
what it stores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import numpy as np

try:
    import fcntl
except ImportError:  # not POSIX: no lock between processes, each computes for itself
    fcntl = None

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
    made = _read(path)
    if made is not None:
        return made
    with _computing(path):
        made = _read(path, quiet=True)  # another process may have computed it while this one waited
        if made is not None:
            return made
        result = compute()
        _write(path, result)
    return result


def _read(path: Path, quiet: bool = False) -> Optional[Dict[str, np.ndarray]]:
    """The arrays a cache file holds; None if it is missing or unreadable (said in a log line unless quiet)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        if not quiet:
            log.warning("cache file %s is unreadable (%s); recomputing it", path, e)
        return None


def _write(path: Path, result: Dict[str, np.ndarray]) -> None:
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


@contextmanager
def _computing(path: Path) -> Iterator[None]:
    """Held while this process computes ``path``: an exclusive lock on ``path``'s lock file, which other
    processes (and threads) wanting the same file wait for. Released when the block ends or the process dies.
    Where no lock can be had (no ``fcntl``, a folder that cannot be written, a file system without locks),
    the block runs unlocked."""
    lock = _lock(path.with_suffix(".lock"))
    try:
        yield
    finally:
        if lock is not None:
            lock.close()  # closing the file releases its lock


def _lock(path: Path):
    """The file at ``path``, open and exclusively locked once no other holder has it; None if it cannot be."""
    if fcntl is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a")
    except OSError:
        return None
    try:
        fcntl.flock(f, fcntl.LOCK_EX)
    except OSError:
        f.close()
        return None
    return f
