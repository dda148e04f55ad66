"""Hostile input: odd and broken files on the page and in the CLI; property-based checks of input validation."""

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

from helpers import APP, ROOT, big_seven, corpus, prediction, upload
from knn.engine import as_vectors
from knn.preprocess import ImageError, mnist_steps, read_image

CORPUS = corpus()


@pytest.fixture(scope="module")
def small_refs(mnist):
    from knn.references import build

    return build(mnist, n_train=20000, seed=0)


@pytest.mark.parametrize("name,data,expect,digit", CORPUS, ids=[c[0] for c in CORPUS])
def test_each_file_gets_a_prediction_or_a_message(name, data, expect, digit, small_refs):
    from knn.answer import answer

    start = time.perf_counter()
    try:
        ans = answer(small_refs, data, k=3)
        outcome = ("digit", ans.prediction)
    except ImageError as e:
        assert str(e) and "\n" not in str(e)
        outcome = ("message", None)
    assert time.perf_counter() - start < 10
    assert outcome == (expect, digit), (name, outcome)


def test_the_page_answers_every_file(monkeypatch, mnist):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=600).run()
    for name, data, expect, digit in CORPUS:
        upload(monkeypatch, at, name, data)
        assert not at.exception, name
        if expect == "digit":
            assert prediction(at) == [str(digit)], name
        else:
            said = [e.value for e in at.error] + [i.value for i in at.info]
            assert not prediction(at) and len(said) == 1, (name, said)
        at.radio(key="input").set_value("Draw").run()  # back to the start between files


PEAK = ("import resource, sys; from knn.__main__ import main; rc = main(sys.argv[1:]); "
        "print('peak-rss-kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)")


def predict_peak(files) -> tuple:
    """``python -m knn predict FILES`` in a child: (the finished run, seconds, its peak resident memory in MB)."""
    import os
    import subprocess
    import sys

    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", PEAK, "predict", *map(str, files)], cwd=ROOT, capture_output=True,
                       text=True, env=os.environ, timeout=600)
    return r, time.perf_counter() - start, int(r.stderr.split("peak-rss-kb")[1].split()[0]) / 1024


@pytest.fixture(scope="module")
def one_file_mb(tmp_path_factory) -> float:
    """predict's peak memory in MB on one small drawing of a 7: the index and TensorFlow alone, the peer of this
    module's memory checks, measured once in the same run."""
    small = tmp_path_factory.mktemp("one-file") / "small.png"
    big_seven("L", (280, 280)).save(small)
    r, _, mb = predict_peak([small])
    assert r.returncode == 0 and f"{small}: 7 " in r.stdout, r.stderr
    return mb


def test_the_cli_answers_every_file(tmp_path, one_file_mb):
    """``python -m knn predict`` on the whole corpus at once, with its own peak memory measured."""
    paths = []
    for name, data, _, _ in CORPUS:
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    baseline_mb = one_file_mb
    r, seconds, peak_mb = predict_peak(paths)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if ": error: " in line]
    for name, _, expect, digit in CORPUS:
        mine = [line for line in errors if line.startswith(str(tmp_path / name) + ":")]
        if expect == "message":
            assert len(mine) == 1, (name, r.stderr)
        else:
            assert f"{tmp_path / name}: {digit} " in r.stdout, (name, r.stdout)
    print(f"predict on the corpus: {seconds:.1f} s, peak {peak_mb:.0f} MB (one good file: {baseline_mb:.0f} MB)")
    assert peak_mb < baseline_mb + 300 and seconds < 300, (peak_mb, baseline_mb, seconds)  # the files add little


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_a_40_megapixel_png_costs_predict_little(tmp_path, mode, one_file_mb):
    """A small file holding a 40-megapixel picture: read as a 7 (grey) or refused as too large (colour: 160 MB
    to decode), with predict's peak memory at most 300 MB above a small file's, measured in the same run."""
    big = tmp_path / "big.png"
    big_seven(mode, (6320, 6320)).save(big, compress_level=1)
    small_mb = one_file_mb
    r, seconds, big_mb = predict_peak([big])
    print(f"predict on a 40-megapixel {mode} PNG ({big.stat().st_size / 1e6:.1f} MB): {seconds:.1f} s, "
          f"peak {big_mb:.0f} MB against {small_mb:.0f} MB for a small file")
    if mode == "L":
        assert r.returncode == 0 and f"{big}: 7 " in r.stdout, r.stderr
    else:
        assert r.returncode == 1 and "too large to read" in r.stderr and "Traceback" not in r.stderr
    assert big_mb - small_mb <= 300, (big_mb, small_mb)


# ---- property-based: any array in, an ink map or one ImageError out ----

shapes = hs.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
    hs.tuples(hs.integers(1, 30), hs.integers(1, 30), hs.sampled_from([1, 2, 3, 4, 5])),
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
)
dtypes = hs.sampled_from([np.uint8, np.uint16, np.int32, np.int64, np.float32, np.float64, np.bool_])


@pytest.mark.unit
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hnp.arrays(dtypes, shapes, elements=None))
def test_read_image_any_array(a):
    try:
        ink = read_image(a)
    except ImageError as e:
        assert str(e)
        return
    assert ink.ndim == 2 and ink.dtype == np.float32 and 0 <= ink.min() and ink.max() <= 1
    try:
        s = mnist_steps(ink)
    except ImageError:
        return
    assert s.centred.shape == (28, 28) and s.centred.dtype == np.uint8


special = hs.sampled_from(["zeros", "ones", "pixel", "nan", "inf"])


@pytest.mark.unit
@settings(max_examples=60, deadline=None)
@given(special, hs.integers(1, 300), hs.integers(1, 300))
def test_read_image_special_pictures(kind, h, w):
    a = np.zeros((h, w), np.float64)
    if kind == "ones":
        a[:] = 1
    elif kind == "pixel":
        a[h // 2, w // 2] = 1
    elif kind in ("nan", "inf"):
        a[h // 2, w // 2] = np.nan if kind == "nan" else np.inf
    try:
        steps = mnist_steps(read_image(a))
    except ImageError as e:
        assert str(e)
        return
    assert kind == "pixel" and steps.centred.max() > 0


@pytest.mark.unit
@settings(max_examples=300, deadline=None)
@given(hnp.arrays(dtypes, shapes, elements=None))
def test_engine_input_checks(a):
    try:
        v = as_vectors(a)
    except ValueError as e:
        assert "queries" in str(e)
        return
    assert v.dtype == np.uint8 and v.ndim == 2 and v.shape[1] == 784 and len(v) >= 1
