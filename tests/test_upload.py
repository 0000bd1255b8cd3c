"""What reaches the service, seen on the bytes the test server receives: a fresh image, nothing else."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import openpyxl
import pytest
from PIL import Image, PngImagePlugin

from tests.fake_aigen import FakeAigen
from tests.photos import jpeg_markers, make_photo
from xlwings_meter.cli import main

from .workbooks import photo_book

#: SOI, APP0 (JFIF), DQT, SOF0, DHT, SOS, EOI: a baseline JPEG and nothing else.
PLAIN_JPEG_MARKERS = {0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA, 0xD9}
PRIVATE = [b"iPhone 15 Pro", b"Apple", b"42 Acacia Avenue", b"PK\x03\x04", b"flat 4B"]


def _statuses(book: Path) -> list[object]:
    return [row[4] for row in openpyxl.load_workbook(book)["Photos"].iter_rows(min_row=2, values_only=True)]


def _phone_jpeg(path: Path, *, mode: str = "RGB", orientation: int = 1) -> Path:
    """A JPEG as a phone writes it: EXIF with the phone model and GPS position, a comment,
    and then a zip someone appended (as some apps and malware do)."""
    make_photo(path, size=(800, 600), seed=len(path.name))
    img = Image.open(path).convert(mode)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 15 Pro"
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.9)})
    img.save(path, "JPEG", exif=exif.tobytes(), comment=b"42 Acacia Avenue")
    with open(path, "ab") as fh:
        fh.write(b"PK\x03\x04" + bytes(200))
    return path


def test_the_service_receives_fresh_upright_jpegs_and_nothing_private(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    _phone_jpeg(tmp_path / "phone.jpg")
    _phone_jpeg(tmp_path / "turned.jpg", orientation=6)
    _phone_jpeg(tmp_path / "cmyk.jpg", mode="CMYK")
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "flat 4B, 42 Acacia Avenue")
    Image.open(make_photo(tmp_path / "a.png", seed=7, fmt="PNG")).save(tmp_path / "text.png", pnginfo=info)
    Image.new("I;16", (400, 300), 30000).save(tmp_path / "16bit.png")
    names = ["phone.jpg", "turned.jpg", "cmyk.jpg", "text.png", "16bit.png"]
    book = photo_book(tmp_path / "bill.xlsx", [[n] for n in names])

    assert main(["read", str(book), "--quiet"]) == 0

    assert _statuses(book) == [None] * 5
    calls = aigen_env.calls
    assert len(calls) == 5
    sizes = []
    for call in calls:
        assert call.image is not None
        assert set(jpeg_markers(call.image)) <= PLAIN_JPEG_MARKERS  # no EXIF/XMP/ICC/comment/trailer
        assert not [p for p in PRIVATE if p in call.image]
        img = Image.open(io.BytesIO(call.image))
        assert img.mode in ("RGB", "L")
        sizes.append(img.size)
    assert sorted(sizes) == sorted([(800, 600), (600, 800), (800, 600), (640, 480), (400, 300)])


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="POSIX files")
def test_pipes_devices_and_videos_in_cells_never_stall_a_run(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    with open(tmp_path / "IMG_0042.MOV", "wb") as fh:
        fh.truncate(3_200_000_000)  # sparse: no disk used
    make_photo(tmp_path / "meter.jpg")
    book = photo_book(tmp_path / "bill.xlsx", [["pipe.jpg"], ["/dev/zero"], ["IMG_0042.MOV"], ["meter.jpg"]])

    codes: list[int] = []
    run = threading.Thread(target=lambda: codes.append(main(["read", str(book), "--quiet"])), daemon=True)
    run.start()
    run.join(30)
    assert codes == [0], "the run blocked"

    assert _statuses(book) == [
        f"Not a photo file but a named pipe: {tmp_path / 'pipe.jpg'}",
        "Not a photo file but a device: /dev/zero",
        "Too large to be a photo (3.2 GB; a photo is at most 268 MB): IMG_0042.MOV",
        None,
    ]
    assert len(aigen_env.calls) == 1
