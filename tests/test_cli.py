"""The command line as a user runs it: real MNIST, real files, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT, assert_one_line_error, in_process, mnist_dir, run


def test_tutorial_setting_json(capsys):
    r = in_process(capsys, "evaluate", "--train", "5000", "--test", "200", "--k", "1", "--space", "none", "--seed", "0", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"accuracy", "errors", "n_train", "index_size", "n_test", "k", "metric", "space", "voting",
                        "seconds", "queries_per_second", "level", "coverage", "set_size", "flagged"}
    assert 0.9 <= out["coverage"] <= 1 and out["level"] == 0.95
    assert out["n_train"] == 5000 and out["n_test"] == 200 and out["space"] == "none"
    assert out["accuracy"] == 1 - out["errors"] / 200


def test_tutorial_setting_reaches_92_percent_on_average(mnist):
    """The same code path as the CLI, in-process, over ten seeds (each its own random subsets)."""
    from knn.evaluate import evaluate_mnist
    from knn.references import build

    accs = [evaluate_mnist(build(mnist, "none", n_train=5000, seed=s), mnist, n_test=200, seed=s, k=1,
                           certainty=False).accuracy for s in range(10)]
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


def test_predict_reads_large_drawings(drawn_files, tmp_path, capsys):
    files, labels = drawn_files
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    r = in_process(capsys, "predict", "--k", "3", "--json", *files, str(bad))
    assert r.returncode == 1  # one file failed
    out = json.loads(r.stdout)
    assert len(out) == 61 and out[-1]["file"] == str(bad) and "error" in out[-1]
    preds = [o["prediction"] for o in out[:-1]]
    assert np.mean(np.array(preds) == labels) >= 0.95
    first = out[0]
    assert len(first["votes"]) == 10 and len(first["neighbours"]) == 3
    assert {"index", "label", "distance", "variant", "source"} == set(first["neighbours"][0])
    dists = [n["distance"] for n in first["neighbours"]]
    assert dists == sorted(dists)
    for o in out[:-1]:  # the certainty's fields, at the default level
        assert 0 < o["credibility"] <= 1 and 0 <= o["confidence"] <= 1 and o["level"] == 0.95
        assert isinstance(o["not_a_digit"], bool) and all(0 <= d <= 9 for d in o["prediction_set"])
    assert np.mean([o["prediction"] in o["prediction_set"] for o in out[:-1]]) >= 0.9
    assert np.mean([o["not_a_digit"] for o in out[:-1]]) <= 0.1
    for o in out[:-1]:  # one digit a file: its string is its prediction, its one part the whole picture's answer
        assert o["digits"] == str(o["prediction"]) and len(o["parts"]) == 1
        assert o["parts"][0]["neighbours"] == o["neighbours"] and len(o["parts"][0]["box"]) == 4


def test_predict_reads_a_number_digit_by_digit(mnist, tmp_path, capsys):
    row = np.concatenate([np.pad(mnist.test_images[i], ((4, 4), (8, 8))) for i in (3, 2, 1, 0)], axis=1)  # 0, 1, 2, 7
    path = tmp_path / "number.jpg"
    Image.fromarray(255 - np.kron(row, np.ones((5, 5), np.uint8))).save(path, quality=90)
    r = in_process(capsys, "predict", "--json", str(path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)[0]
    assert out["digits"] == "0127" and [p["prediction"] for p in out["parts"]] == [0, 1, 2, 7]
    lefts = [p["box"][1] for p in out["parts"]]
    assert lefts == sorted(lefts) and all(len(p["neighbours"]) == 7 for p in out["parts"])
    text = in_process(capsys, "predict", str(path))
    assert "as a number: 0127 (4 digits, left to right)" in text.stdout


def test_predict_text_output(drawn_files, capsys):
    r = run("predict", drawn_files[0][0])
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr  # nothing from TensorFlow's start-up (knn/tf.py)
    assert r.stdout.startswith(drawn_files[0][0] + ": 7")
    assert "training #" in r.stdout and "note:" not in r.stderr
    r = in_process(capsys, "predict", "--pen-data", "off", drawn_files[0][0])
    assert r.returncode == 0 and r.stdout.startswith(drawn_files[0][0] + ": 7")
    assert "note: no real pen digits as references (turned off" in r.stderr and "Traceback" not in r.stderr


def test_errors_are_one_line(tmp_path, drawn_files, capsys):
    drawn = drawn_files[0][0]
    assert_one_line_error(run("evaluate", "--data", str(tmp_path / "nowhere")), "no such folder")  # the entry point
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
    assert "k must be between 1 and 74988" in r.stderr  # the learned index: 60,000 training and 14,988 pen digits


def test_pen_set_reports_widths_groups_and_confusions(tmp_path, capsys):
    sheet = tmp_path / "errors.png"
    r = in_process(capsys, "evaluate", "--set", "pen", "--n", "140", "--errors", str(sheet), "--level", "0.9")
    assert r.returncode == 0, r.stderr
    assert "real pen digits: accuracy" in r.stdout and "by pen width: 8 px" in r.stdout
    assert "prediction sets at 90%: coverage" in r.stdout and "'not a digit' by pen width: 8 px" in r.stdout
    assert "writers 1-10" in r.stdout and "confusion" in r.stdout
    assert "references: MNIST alone, no writer's own digits" in r.stdout
    assert sheet.exists() and Image.open(sheet).size[0] > 0
    r = in_process(capsys, "evaluate", "--set", "pen", "--n", "70", "--json")
    out = json.loads(r.stdout)
    assert out["set"] == "pen" and out["n"] == 70 and out["space"] == "learned" and out["k"] == 7
    assert set(out["by_width"]) == {"8", "12", "16", "20", "24", "32", "40"}
    assert sum(map(sum, out["confusion"])) == 70 and out["level"] == 0.95 and 0 <= out["flagged"] <= 1
    assert_one_line_error(in_process(capsys, "evaluate", "--set", "pen", "--n", "0"), "--n must be between 1 and 7494; got 0")


@pytest.mark.slow
def test_train_writes_weights_the_space_can_use(tmp_path, capsys):
    out = tmp_path / "w.npz"
    r = in_process(capsys, "train", "--train", "512", "--epochs", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert ("trained 2 networks, 1 epochs each, on 461 digits (51 MNIST training digits set aside to calibrate "
            "the certainty)") in r.stdout and str(out) in r.stdout
    from knn import learned
    from knn.data import subset

    aside = learned.set_aside(out)  # a tenth of the 512, never learned: the certainty is calibrated on them
    assert len(aside) == 51 and set(aside) <= set(subset(60000, 512, 0))

    w = learned.load(out)
    assert [int(m["seed"]) for m in learned.split(w)] == [0, 1]  # one seed per member
    assert [float(m["clean"]) for m in learned.split(w)] == [m.clean for m in learned.MEMBERS]
    assert learned.Embedder(w).dim == 2 * learned.FEATURES
    assert learned.never_saw(out) is None  # trained on MNIST alone: no pen writer seen


# ---- argument errors: one line each, before any data is read (the fast tier) ----

@pytest.mark.unit
@pytest.mark.parametrize("args,text", [
    (("evaluate", "--k", "0"), "k must be at least 1; got 0"),
    (("predict", "--k", "-3", "x.png"), "k must be at least 1; got -3"),
    (("evaluate", "--set", "drawn", "--per-width", "0"), "--per-width must be at least 1; got 0"),
    (("bench", "--queries", "0"), "--queries must be at least 1; got 0"),
    (("bench", "--single", "-1"), "--single must be at least 1; got -1"),
    (("train", "--epochs", "0"), "--epochs must be at least 1; got 0"),
    (("train", "--train", "100"), "--train must be at least 128 (one batch); got 100"),
    (("train", "--calibration", "-1"), "--calibration must be at least 0; got -1"),
    (("train", "--without", "writer 3"), "--without must list writer numbers such as '21-30' or '1,4,7'; got 'writer 3'"),
])
def test_bad_arguments_are_one_line_errors(capsys, args, text):
    assert_one_line_error(in_process(capsys, *args), text)


@pytest.mark.unit
def test_missing_data_and_pen_digits_are_one_line_errors(capsys, tmp_path):
    assert_one_line_error(in_process(capsys, "evaluate", "--data", str(tmp_path / "nowhere")), "no such folder")
    assert_one_line_error(in_process(capsys, "evaluate", "--set", "pen", "--pen-data", str(tmp_path)),
                          "Pen digits not found")
    assert_one_line_error(in_process(capsys, "predict", "x.png"), "MNIST not found")  # no source reachable


@pytest.mark.unit
def test_unknown_choices_are_refused_with_the_choices(capsys):
    from knn.__main__ import main

    for args, text in ((["evaluate", "--space", "fancy"], "invalid choice: 'fancy'"),
                       (["evaluate", "--voting", "cubic"], "invalid choice: 'cubic'")):
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code == 2 and text in capsys.readouterr().err


@pytest.mark.unit
def test_help_names_every_space_and_its_default_k(capsys):
    from knn import spaces
    from knn.__main__ import main

    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for s in spaces.SPACES.values():
        assert f"'{s.name}'" in out and f"{s.name} {s.default_k}" in out


def test_scans_read_as_uploads(capsys):
    """USPS scans made into JPEG uploads (measured 99.14%; 5s and 7s are the hardest)."""
    r = in_process(capsys, "evaluate", "--set", "scans", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n"] == 7291 and out["set"] == "scans" and out["accuracy"] >= 0.98, out
    assert set(out["by_digit"]) == {str(d) for d in range(10)} and sum(map(sum, out["confusion"])) == 7291
    assert out["flagged"] <= 0.02  # scans are digits


def test_numbers_from_pen_digits_and_scans(capsys):
    """``evaluate --set numbers``: strings of 1-4 digits from both sources, split and read."""
    r = in_process(capsys, "evaluate", "--set", "numbers", "--n", "40", "--json")
    assert r.returncode == 0, r.stderr
    pen, scans = json.loads(r.stdout)
    assert (pen["set"], scans["set"]) == ("pen numbers", "scan numbers")
    for e in (pen, scans):
        assert e["n"] == 30 and e["n_single"] == 10 and set(e["by_length"]) == {"2", "3", "4"}
        assert e["split_right"] >= 0.9 and e["exact"] >= 0.6 and abs(e["single"] - e["single_whole"]) <= 0.1
        assert all(len(t) == 1 for t in e["truths"][::4])  # lengths 1-4 in turn
    text = in_process(capsys, "evaluate", "--set", "numbers", "--n", "8")
    assert "pen numbers: 6 strings of 2-4 digits read exactly" in text.stdout and "scan numbers:" in text.stdout


def test_folds_need_a_pen_set(capsys):
    assert_one_line_error(in_process(capsys, "evaluate", "--set", "mnist", "--folds", "3"), "--folds needs --set pen")
    assert_one_line_error(in_process(capsys, "evaluate", "--set", "pen", "--nested"), "--nested needs --set pen and --folds")
    assert_one_line_error(in_process(capsys, "evaluate", "--set", "pen", "--folds", "3", "--nested", "--k", "3"),
                          "--nested chooses k itself")
    assert_one_line_error(in_process(capsys, "evaluate", "--set", "pen", "--stream"), "--stream needs --set pen and --folds")
    assert_one_line_error(in_process(capsys, "evaluate", "--set", "scans", "--folds", "3", "--stream"), "--folds needs")


def test_predict_with_a_missing_taught_folder_says_so(capsys, tmp_path):
    assert_one_line_error(in_process(capsys, "predict", "--taught", str(tmp_path / "nowhere"), str(tmp_path / "a.png")),
                          "--taught must be a folder with a folder per digit (0 to 9)")


@pytest.mark.unit
def test_help_and_refusals_are_quiet_and_import_no_tensorflow():
    """Help and a command line refused before any work answer at once: TensorFlow is imported when first used
    (knn/tf.py), and they use it nowhere."""
    r = run("--help")
    assert r.returncode == 0 and r.stderr == "" and "--verbose" in r.stdout
    for args, code in ((["--help"], 0), (["evaluate", "--verbose", "--help"], 0), (["evaluate", "--k", "0"], 1)):
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "knn", *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == code and ("--verbose" in r.stdout or code), (args, r.stderr[-500:])
        imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
        assert {"knn.engine", "knn.learned"} <= imported and not {"tensorflow", "keras"} & imported, args
