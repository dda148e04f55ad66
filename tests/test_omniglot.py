"""Reading the non-digit drawings (knn.omniglot): the archive, its text format, and friendly errors."""

import io
import tarfile

import numpy as np
import pytest

from helpers import assert_one_line_error, in_process
from knn.data import DataError
from knn.omniglot import FILE, NOT_A_DIGIT, load_omniglot, omniglot_drawings, parse

pytestmark = pytest.mark.unit

DRAWING = "START\n10.0,-5.0,0\n20.0,-5.0,10\nBREAK\n15.0,-1.0,20\n15.0,-9.0,30\nBREAK\n"


def archive(folder, files: dict):
    folder.mkdir(exist_ok=True)
    with tarfile.open(folder / FILE, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode("ascii")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return folder


def test_drawings_are_read_with_their_alphabet_and_drawer(tmp_path):
    folder = archive(tmp_path / "om", {
        "strokes_background_small1/Greek/character02/0402_07.txt": DRAWING,
        "strokes_background_small1/Greek/character01/0401_03.txt": DRAWING,
        "strokes_background_small1/Latin/character05/0701_11.txt": DRAWING,
        "strokes_background_small1/.DS_Store": "junk",
    })
    chars = load_omniglot(str(folder))
    assert [(c.alphabet, c.character, c.drawer) for c in chars] == [
        ("Greek", "character01", 3), ("Greek", "character02", 7), ("Latin", "character05", 11)]
    assert len(chars[0].strokes) == 2 and np.array_equal(chars[0].strokes[0], [[10, 5], [20, 5]])  # y flipped
    drawn = list(omniglot_drawings(chars, widths=(8, 30)))
    assert [a for _, a in drawn] == ["Greek", "Greek", "Latin"] and [d.width for d, _ in drawn] == [8, 30, 8]
    assert all(d.label == NOT_A_DIGIT and d.image.shape == (280, 280) and d.image.max() == 255 for d, _ in drawn)


def test_bad_archives_say_what_is_wrong(tmp_path):
    with pytest.raises(DataError, match="cannot read line 2"):
        parse("START\n1.0;2.0\n")
    with pytest.raises(DataError, match="has no strokes"):
        parse("START\nBREAK\n")
    with pytest.raises(DataError, match="not found"):
        load_omniglot(str(tmp_path / "nowhere"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / FILE).write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="not a readable tar.gz"):
        load_omniglot(str(tmp_path / "broken"))
    with pytest.raises(DataError, match="holds no drawings"):
        load_omniglot(str(archive(tmp_path / "empty", {"README": "nothing here"})))


def test_the_cli_names_a_missing_archive(tmp_path, capsys):
    r = in_process(capsys, "evaluate", "--set", "omniglot", "--omniglot-data", str(tmp_path / "nowhere"))
    assert_one_line_error(r, "Omniglot drawings not found")
    assert_one_line_error(in_process(capsys, "evaluate", "--level", "0"), "level must lie strictly between 0 and 1")
