"""Where the pen digits come from (knn.pen): local folders, a download checked by hash and kept, or none at all."""

import gzip
import hashlib
import io
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from helpers import SHAPES, compress_z, unipen
from knn import pen, references, spaces
from knn.data import DataError
from knn.pen import PenDigit

pytestmark = pytest.mark.unit
FETCH = pen._fetch  # the real one: the fast tier replaces it with one that is always offline


@pytest.fixture(scope="module")
def text():
    """Four writers, ten digits each, as UNIPEN text."""
    rng = np.random.default_rng(5)
    digits = [PenDigit(tuple(np.rint(np.asarray(s) * 300 + rng.normal(0, 3, (len(s), 2))) for s in SHAPES[y]), y, w)
              for w in range(1, 5) for y in range(10)]
    return unipen(digits).encode()


@pytest.fixture
def local(tmp_path, text):
    """A local pen-digits folder (what --pen-data names) holding this text."""
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / pen.FILE).write_bytes(gzip.compress(text))
    return str(folder)


def archive(*members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def online(monkeypatch, tmp_path, text):
    """The public copy as file:// addresses in tmp_path, this text's MD5 as the expected one; returns a function
    that writes bytes under a name and gives its address."""
    monkeypatch.setattr(pen, "_fetch", FETCH)
    monkeypatch.setattr(pen, "MD5", hashlib.md5(text).hexdigest())
    monkeypatch.setattr(pen, "CACHE", tmp_path / "keras" / "pendigits")

    def serve(name, data):
        (tmp_path / name).write_bytes(data)
        return (tmp_path / name).as_uri()
    return serve


def test_the_archive_is_fetched_unpacked_checked_and_kept(online, monkeypatch, text):
    url = online("uci.zip", archive(("pendigits-orig.names", b"about"), ("pendigits-orig.tra.Z", compress_z(text))))
    monkeypatch.setattr(pen, "URLS", (url,))
    path = pen.find_pendigits()
    assert path == pen.CACHE / pen.FILE and gzip.decompress(path.read_bytes()) == text
    digits = pen.load_pendigits()
    assert len(digits) == 40 and sorted({d.writer for d in digits}) == [1, 2, 3, 4]
    monkeypatch.setattr(pen, "_fetch", lambda url: pytest.fail("fetched again"))
    assert pen.find_pendigits() == path  # kept: the next start reads the copy on disk


@pytest.mark.parametrize("kind", ["Z", "gz", "plain"])
def test_a_single_file_is_understood_too(online, monkeypatch, text, kind):
    data = {"Z": compress_z(text), "gz": gzip.compress(text), "plain": text}[kind]
    monkeypatch.setattr(pen, "URLS", (online("pendigits-orig.tra." + kind, data),))
    assert gzip.decompress(pen.download().read_bytes()) == text


@pytest.mark.parametrize("damage, says", [
    (lambda t: archive(("pendigits-orig.tra.Z", compress_z(t)))[:-200], "damaged"),  # cut short
    (lambda t: archive(("pendigits-orig.tra.Z", compress_z(t)[:len(compress_z(t)) // 2])), "damaged|not the expected"),
    (lambda t: archive(("pendigits-orig.tra.Z", compress_z(t.replace(b'"7"', b'"1"')))), "not the expected file"),
    (lambda t: archive(("readme.txt", b"nothing here")), "holds no pendigits-orig.tra"),
    (lambda t: b"\x1f\x9d\x90" + bytes(range(256)) * 4, "damaged"),
    (lambda t: b"<html>Service unavailable</html>", "not the expected file"),
])
def test_a_corrupt_download_is_refused_and_leaves_nothing(online, monkeypatch, text, damage, says):
    monkeypatch.setattr(pen, "URLS", (online("bad.bin", damage(text)),))
    with pytest.raises(DataError, match=says) as e:
        pen.find_pendigits()
    message = str(e.value)
    assert "\n" not in message and "bad.bin" in message and "--pen-data" in message
    assert not pen.CACHE.exists() or not any(pen.CACHE.iterdir())


def test_the_next_address_is_tried_when_one_fails(online, monkeypatch, text):
    good = online("good.zip", archive(("pendigits/pendigits-orig.tra.Z", compress_z(text))))
    monkeypatch.setattr(pen, "URLS", ((pen.CACHE.parent / "missing.zip").as_uri(), good))
    assert gzip.decompress(pen.download().read_bytes()) == text


def test_a_download_larger_than_the_limit_is_refused(online, monkeypatch, text):
    monkeypatch.setattr(pen, "MOST", 1000)
    monkeypatch.setattr(pen, "URLS", (online("big.Z", compress_z(text * 3)),))
    with pytest.raises(DataError, match="more than"):
        pen.download()


def test_an_index_without_pen_digits_says_why(synthetic, online, monkeypatch, local, tmp_path):
    space = replace(spaces.NONE, pen_references=True)  # a space that holds pen digits, cheap to build
    monkeypatch.setattr(pen, "URLS", ((tmp_path / "offline.zip").as_uri(),))
    refs = references.build(synthetic, space, pen="default")
    assert refs.writers is None and len(refs) == len(synthetic.train_labels)
    assert "could not be fetched" in refs.note and "\n" not in refs.note
    assert refs.sets == ["400 MNIST training digits"]
    monkeypatch.setenv("PENDIGITS_DIR", "off")
    assert "turned off" in references.build(synthetic, space, pen="default").note
    monkeypatch.delenv("PENDIGITS_DIR")
    refs = references.build(synthetic, space, pen="default", pen_data=local)
    assert refs.note == "" and refs.sets[1] == "80 drawings of real pen digits by 4 writers"
    assert references.build(synthetic, "none", pen="default", pen_data=local).writers is None  # not its set
    with pytest.raises(ValueError, match="pen must be"):
        references.build(synthetic, space, pen="all")


def test_the_test_s_z_files_are_real_unix_compress(text):
    """compress_z (tests/helpers.py) writes what gzip -d, the standard reader of .Z files, reads back."""
    import subprocess

    out = subprocess.run(["gzip", "-dc"], input=compress_z(text), capture_output=True, check=True).stdout
    assert out == text


def test_copies_that_stand_in_for_pen_digits_join_only_an_index_without_them(synthetic, local):
    space = replace(spaces.THICKEN, pen_references=True, copies_stand_in_for_pen=True)
    n = len(synthetic.train_labels)
    with_pen = references.build(synthetic, space, pen="default", pen_data=local)
    assert len(with_pen) == n + 80 and set(with_pen.kinds[:n]) == {0} and with_pen.writers[n:].min() >= 1
    without = references.build(synthetic, space, pen="default", pen_data="off")
    assert len(without) == 2 * n and without.writers is None  # the thickened copies in their stead
    assert len(references.build(synthetic, spaces.THICKEN, pen=pen.references(space, local)[0])) == 2 * n + 80


def test_writers_can_be_held_out_of_the_index(synthetic, local, monkeypatch):
    space = replace(spaces.NONE, pen_references=True)
    monkeypatch.setenv("PENDIGITS_HOLD_OUT", "3-4")
    refs = references.build(synthetic, space, pen="default", pen_data=local)
    assert set(refs.writers[refs.writers > 0].tolist()) == {1, 2} and refs.sets[1].endswith("by 2 writers")
    assert pen.writers_of("21-30, 5") == {5, *range(21, 31)} and pen.writers_of("") == set()
    monkeypatch.setenv("PENDIGITS_HOLD_OUT", "writer 3")
    refs = references.build(synthetic, space, pen="default", pen_data=local)
    assert refs.writers is None and "must list writer numbers such as '21-30'" in refs.note


def test_held_out_writers_are_read_with_networks_that_never_saw_them(monkeypatch):
    from knn import learned

    assert spaces.LEARNED.weights_file == learned.WEIGHTS_FILE and spaces.LEARNED.never_saw() == frozenset()
    monkeypatch.setenv("PENDIGITS_HOLD_OUT", "21-30")  # writers of every fold: the networks trained on MNIST alone
    assert spaces.LEARNED.weights_file.name == "mnist.npz" and spaces.LEARNED.never_saw() is None
    monkeypatch.setenv("PENDIGITS_HOLD_OUT", "4, 28")
    assert spaces.LEARNED.weights_file.name == "held-out-1-of-3.npz"
    monkeypatch.setenv("PENDIGITS_HOLD_OUT", "writer 3")  # malformed: the index holds no pen digit at all
    assert spaces.LEARNED.weights_file == learned.WEIGHTS_FILE
    assert spaces.LEARNED.trained_without({2}).never_saw() == frozenset(range(2, 31, 3))
    assert spaces.NONE.trained_without({2}) is spaces.NONE and spaces.NONE.never_saw() is None
