"""The disk cache (knn.cache): results kept by settings, corrupt or missing files recomputed, nothing pickled."""

import os

import numpy as np
import pytest

from knn import cache

pytestmark = pytest.mark.unit


def test_corrupt_cache_file_is_rebuilt(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KNN_CACHE", str(tmp_path))
    calls = []
    labels = np.arange(10, dtype=np.uint8)

    def compute():
        calls.append(1)
        return {"a": labels}

    first = cache.cached("t", {"x": 1}, compute)
    (path,) = tmp_path.glob("t-*.npz")
    path.write_bytes(path.read_bytes()[:40])  # truncated mid-way
    again = cache.cached("t", {"x": 1}, compute)
    assert len(calls) == 2 and (again["a"] == first["a"]).all()
    assert any("unreadable" in r.message and "recomputing" in r.message for r in caplog.records)
    assert cache.cached("t", {"x": 1}, compute)["a"].tolist() == first["a"].tolist() and len(calls) == 2
    path.unlink()  # deleted: recomputed
    cache.cached("t", {"x": 1}, compute)
    assert len(calls) == 3 and not list(tmp_path.glob("*.tmp"))


def test_settings_and_data_make_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("KNN_CACHE", str(tmp_path))
    a, b = np.zeros(5, np.uint8), np.ones(5, np.uint8)
    assert cache.checksum(a) != cache.checksum(b) and cache.checksum(a) == cache.checksum(a.copy())
    assert cache.checksum(a) != cache.checksum(a.astype(np.int16))  # the dtype counts, not just the bytes
    cache.cached("t", {"x": 1}, lambda: {"v": a})
    assert cache.cached("t", {"x": 2}, lambda: {"v": b})["v"].tolist() == b.tolist()  # other settings: its own file
    assert len(list(tmp_path.glob("t-*.npz"))) == 2


def test_an_unwritable_folder_still_returns_the_result(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KNN_CACHE", str(blocker / "cache"))
    assert cache.cached("t", {}, lambda: {"v": np.arange(3)})["v"].tolist() == [0, 1, 2]
    assert any("could not write" in r.message for r in caplog.records)


def test_pickled_objects_are_never_loaded(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KNN_CACHE", str(tmp_path))
    path = tmp_path / f"t-{cache.key_of({})}.npz"
    np.savez(path, v=np.array([object()], dtype=object))  # a file that would need pickle to read
    assert cache.cached("t", {}, lambda: {"v": np.arange(2)})["v"].tolist() == [0, 1]
    assert any("unreadable" in r.message for r in caplog.records)


def test_processes_sharing_the_folder_compute_a_result_once(tmp_path):
    """Two processes asking for the same result at once: one computes it, the other waits and reads it."""
    import subprocess
    import sys

    from helpers import ROOT

    calls = tmp_path / "calls"
    script = f"""
import time
import os

import numpy as np
from knn import cache

def compute():
    with open({str(calls)!r}, "a") as f:
        f.write("computed\\n")
    time.sleep(1.0)
    return {{"v": np.arange(4)}}

print(cache.cached("t", {{"x": 1}}, compute)["v"].tolist())
"""
    env = dict(os.environ, KNN_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    jobs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    outs = [j.communicate(timeout=60)[0] for j in jobs]
    assert [j.returncode for j in jobs] == [0, 0] and outs == ["[0, 1, 2, 3]\n"] * 2
    assert calls.read_text() == "computed\n"  # once, not once per process
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        f"t-{cache.key_of({'x': 1})}.lock", f"t-{cache.key_of({'x': 1})}.npz"]
