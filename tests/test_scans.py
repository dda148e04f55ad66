"""Scanned digits (knn.scans): the file format, the uploads made from them, friendly errors."""

import gzip

import numpy as np
import pytest

from helpers import assert_one_line_error, in_process
from knn.data import DataError
from knn.preprocess import read_image
from knn.scans import FILE, UPLOAD_SIDE, as_upload, load_scans, parse

pytestmark = pytest.mark.unit


def line(label: int, ink) -> str:
    """One scan in the file's format: ink 0-1 (16, 16) as values from -1 (paper) to 1 (ink)."""
    return f"{label:.4f} " + " ".join(f"{2 * v - 1:.4f}" for v in np.asarray(ink).reshape(-1))


def bar() -> np.ndarray:
    ink = np.zeros((16, 16))
    ink[2:14, 7:9] = 1  # a 1
    return ink


def test_scans_are_read_and_made_into_uploads(tmp_path):
    folder = tmp_path / "usps"
    folder.mkdir()
    with gzip.open(folder / FILE, "wt") as f:
        f.write(line(1, bar()) + "\n" + line(7, bar().T) + "\n")
    scans = load_scans(str(folder))
    assert [s.label for s in scans] == [1, 7] and np.array_equal(scans[0].image, bar())
    jpeg = as_upload(scans[0])
    assert jpeg[:3] == b"\xff\xd8\xff"  # a JPEG, as a scan would be
    ink = read_image(jpeg)  # dark ink on light paper, read back as ink
    assert ink.shape == (UPLOAD_SIDE, UPLOAD_SIDE) and ink[80, 80] > 0.8 and ink[80, 20] < 0.1


def test_bad_scan_files_say_what_is_wrong(tmp_path, capsys):
    with pytest.raises(DataError, match="line 1 must be a digit label and 256 values; got 3 numbers"):
        parse("1.0 0.5 0.2\n")
    with pytest.raises(DataError, match="line 2 holds something other than numbers"):
        parse(line(3, bar()) + "\nthree " + "0 " * 256)
    with pytest.raises(DataError, match="not found"):
        load_scans(str(tmp_path / "nowhere"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / FILE).write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="not a readable gzip"):
        load_scans(str(tmp_path / "broken"))
    r = in_process(capsys, "evaluate", "--set", "scans", "--scans-data", str(tmp_path / "nowhere"))
    assert_one_line_error(r, "USPS scans not found")
