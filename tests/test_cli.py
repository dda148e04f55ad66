"""The command line as a user runs it: real MNIST, real files, one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, mnist_dir


def run(*args, env=None):
    e = dict(os.environ, MNIST_DIR=str(mnist_dir()), **(env or {}))
    return subprocess.run([sys.executable, "-m", "knn", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=900)


def in_process(capsys, *args):
    """``main(args)`` in this process, as a finished run: (returncode, stdout, stderr).

    The same code as ``python -m knn`` without a new interpreter and TensorFlow
    start-up per call (several seconds each); the entry point itself is tested
    through :func:`run`.
    """
    from knn.__main__ import main

    os.environ.setdefault("MNIST_DIR", str(mnist_dir()))
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["knn", *args], code, out, err)


def assert_one_line_error(r, text):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and text in lines[0], r.stderr


def test_tutorial_setting_json():
    r = run("evaluate", "--train", "5000", "--test", "200", "--k", "1", "--preprocess", "none", "--seed", "0", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"accuracy", "errors", "n_train", "index_size", "n_test", "k", "metric", "preprocess", "weights",
                        "seconds", "queries_per_second"}
    assert out["n_train"] == 5000 and out["n_test"] == 200 and out["preprocess"] == "none"
    assert out["accuracy"] == 1 - out["errors"] / 200


def test_tutorial_setting_reaches_92_percent_on_average(mnist):
    """The same code path as the CLI, in-process, over ten seeds (each its own random subsets)."""
    from knn.evaluate import evaluate

    accs = [evaluate(mnist, 5000, 200, seed=s, k=1, preprocess="none").accuracy for s in range(10)]
    assert np.mean(accs) >= 0.92, accs


@pytest.fixture(scope="module")
def drawn_files(tmp_path_factory, mnist):
    """MNIST test digits drawn large: white on black PNG and black on white JPEG."""
    d = tmp_path_factory.mktemp("drawn")
    files, labels = [], []
    for i in range(60):
        a = Image.fromarray(mnist.test_images[i]).resize((280, 280), Image.Resampling.BICUBIC)
        if i % 2:
            p = d / f"digit{i}.jpg"
            Image.fromarray(255 - np.asarray(a)).convert("RGB").save(p, quality=90)
        else:
            p = d / f"digit{i}.png"
            a.save(p)
        files.append(str(p))
        labels.append(int(mnist.test_labels[i]))
    return files, labels


def test_predict_reads_large_drawings(drawn_files, tmp_path):
    files, labels = drawn_files
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    r = run("predict", "--k", "3", "--json", *files, str(bad))
    assert r.returncode == 1  # one file failed
    out = json.loads(r.stdout)
    assert len(out) == 61 and out[-1]["file"] == str(bad) and "error" in out[-1]
    preds = [o["prediction"] for o in out[:-1]]
    assert np.mean(np.array(preds) == labels) >= 0.95
    first = out[0]
    assert len(first["votes"]) == 10 and len(first["neighbours"]) == 3
    assert {"index", "label", "distance", "variant"} == set(first["neighbours"][0])
    dists = [n["distance"] for n in first["neighbours"]]
    assert dists == sorted(dists)


def test_predict_text_output(drawn_files):
    r = run("predict", drawn_files[0][0])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(drawn_files[0][0] + ": 7")
    assert "training #" in r.stdout


def test_errors_are_one_line(tmp_path, drawn_files, capsys):
    drawn = drawn_files[0][0]
    assert_one_line_error(run("evaluate", "--data", str(tmp_path / "nowhere")), "no such folder")  # the entry point
    assert_one_line_error(in_process(capsys, "evaluate", "--k", "0"), "k must be")
    trunc = tmp_path / "mnist"
    trunc.mkdir()
    for f in mnist_dir().glob("*.gz"):
        (trunc / f.name).write_bytes(f.read_bytes())
    p = trunc / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:100])
    assert_one_line_error(in_process(capsys, "evaluate", "--data", str(trunc)), "t10k-labels-idx1-ubyte.gz")
    empty = tmp_path / "empty.png"
    Image.new("L", (64, 64)).save(empty)
    r = in_process(capsys, "predict", str(empty))
    assert r.returncode == 1 and "Nothing drawn" in r.stderr and "Traceback" not in r.stderr
    r = in_process(capsys, "predict", str(tmp_path / "missing.png"))
    assert r.returncode == 1 and "No such file" in r.stderr and "Traceback" not in r.stderr
    r = in_process(capsys, "predict", "--k", "200000", str(drawn))
    assert_one_line_error(r, "; got 200000")
    assert "k must be between 1 and 9" in r.stderr  # the learned index: 60,000 digits and some 30,000 styled copies


def test_pen_set_reports_widths_groups_and_confusions(tmp_path, capsys):
    sheet = tmp_path / "errors.png"
    r = run("evaluate", "--set", "pen", "--n", "140", "--errors", str(sheet))
    assert r.returncode == 0, r.stderr
    assert "real pen digits: accuracy" in r.stdout and "by pen width: 8 px" in r.stdout
    assert "writers 1-10" in r.stdout and "confusion" in r.stdout
    assert sheet.exists() and Image.open(sheet).size[0] > 0
    r = in_process(capsys, "evaluate", "--set", "pen", "--n", "70", "--json")
    out = json.loads(r.stdout)
    assert out["set"] == "pen" and out["n"] == 70 and out["preprocess"] == "learned"
    assert set(out["by_width"]) == {"8", "12", "16", "20", "24", "32", "40"}
    assert sum(map(sum, out["confusion"])) == 70
    assert_one_line_error(in_process(capsys, "evaluate", "--set", "pen", "--pen-data", str(tmp_path)), "Pen digits not found")
    assert_one_line_error(in_process(capsys, "evaluate", "--set", "pen", "--n", "0"), "--n must be between 1 and 7494; got 0")


@pytest.mark.slow
def test_train_writes_weights_the_pipeline_can_use(tmp_path, capsys):
    out = tmp_path / "w.npz"
    r = in_process(capsys, "train", "--train", "512", "--epochs", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "trained 1 epochs on 512 digits" in r.stdout and str(out) in r.stdout
    from knn import learned

    w = learned.load(out)
    assert int(w["seed"]) == 0 and learned.Embedder(w).dim == 64
    assert_one_line_error(in_process(capsys, "train", "--epochs", "0"), "--epochs must be at least 1; got 0")
    assert_one_line_error(in_process(capsys, "train", "--train", "100"), "--train must be at least 128")
