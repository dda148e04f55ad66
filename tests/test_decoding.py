"""Bounded decoding (knn.preprocess): big pictures are shrunk by Pillow before they become arrays, or refused first.

Memory is measured in a child process: its peak resident memory while it
reads one big file, above what it held just before (``/proc/self/clear_refs``
resets the peak).
"""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageFile

from helpers import ROOT, big_seven, seven
from knn.preprocess import MAX_DECODE, MAX_SIDE, ImageError, read_image, to_mnist

pytestmark = pytest.mark.unit
BUDGET_MB = 150  # what reading any accepted file may add to a process

CHILD = """
import sys
from knn.preprocess import ImageError, read_image

def mb(key):
    return int(next(line for line in open("/proc/self/status") if line.startswith(key)).split()[1]) / 1024

read_image(open(sys.argv[1], "rb").read())  # imports and a first decode, as a running server has done
before = mb("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # the peak starts again from here
try:
    ink = read_image(open(sys.argv[2], "rb").read())
    said = f"read {ink.shape[0]}x{ink.shape[1]}"
except ImageError as e:
    said = str(e)
print(f"{mb('VmHWM') - before:.1f}", said)
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    made = {
        "small.png": (Image.fromarray(255 - seven()), "PNG"),
        "grey-40mpx.png": (big_seven("L", (6320, 6320)), "PNG"),
        "palette-40mpx.png": (big_seven("L", (6320, 6320)).convert("P"), "PNG"),
        "colour-25mpx.png": (big_seven("RGB", (5000, 5000)), "PNG"),
        "photo-40mpx.jpg": (big_seven("RGB", (8000, 5000)), "JPEG"),
        "colour-40mpx.png": (big_seven("RGBA", (6300, 6300)), "PNG"),
    }
    for name, (img, fmt) in made.items():
        img.save(d / name, fmt, **({"compress_level": 1} if fmt == "PNG" else {"quality": 85}))
    return d


def child_reads(files, name: str) -> tuple:
    r = subprocess.run([sys.executable, "-c", CHILD, str(files / "small.png"), str(files / name)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    mb, said = r.stdout.strip().split(" ", 1)
    return float(mb), said


@pytest.mark.parametrize("name", ["grey-40mpx.png", "palette-40mpx.png", "colour-25mpx.png", "photo-40mpx.jpg"])
def test_big_pictures_are_read_within_the_memory_budget(files, name):
    assert (files / name).stat().st_size < 10e6  # under the page's upload cap
    mb, said = child_reads(files, name)
    print(f"{name}: +{mb:.0f} MB, {said}")
    assert said.startswith("read ") and max(map(int, said[5:].split("x"))) <= MAX_SIDE, said
    assert mb <= BUDGET_MB, f"{name}: +{mb:.0f} MB"
    assert to_mnist((files / name).read_bytes()).max() > 200  # the digit survives the shrinking


def test_a_picture_too_big_to_decode_is_refused_before_decoding(files, monkeypatch):
    mb, said = child_reads(files, "colour-40mpx.png")
    assert "too large to read: 6,300x6,300 pixels in RGBA take 159 MB to decode" in said and mb < 30, (mb, said)

    def decoded(*args):
        raise AssertionError("the picture was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)
    with pytest.raises(ImageError, match=f"at most {MAX_DECODE / 1e6:.0f} MB"):
        read_image((files / "colour-40mpx.png").read_bytes())


def test_only_the_formats_the_app_reads_are_decoded(tmp_path):
    picture = Image.fromarray(255 - seven())
    for fmt in ("TIFF", "ICO", "PPM", "TGA"):
        path = tmp_path / f"seven.{fmt.lower()}"
        picture.save(path, fmt)
        with pytest.raises(ImageError, match=r"not an image the app reads \(PNG, JPEG, GIF, BMP or WebP\)"):
            read_image(path.read_bytes())
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
        path = tmp_path / f"seven.{fmt.lower()}"
        picture.save(path, fmt)
        assert read_image(path.read_bytes()).shape == (280, 280)


def test_shrinking_keeps_orientation_and_transparency():
    import io

    a = np.zeros((4400, 300), np.uint8)
    a[200:4200, 100:200] = 255  # a tall bar ...
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # ... stored on its side: viewers turn it 90 degrees clockwise
    Image.fromarray(np.ascontiguousarray(a.T)).save(buf, "JPEG", exif=exif)
    ink = read_image(buf.getvalue())
    assert max(ink.shape) <= MAX_SIDE and ink.shape[0] > ink.shape[1]  # upright, and shrunk
    p = Image.fromarray((a > 0).astype(np.uint8), "P")
    p.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    buf = io.BytesIO()
    p.save(buf, "PNG", transparency=0)  # black strokes on a transparent ground
    ink = read_image(buf.getvalue())
    assert max(ink.shape) <= MAX_SIDE and ink.max() == 1 and ink.min() == 0
