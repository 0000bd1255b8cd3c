"""Listing a folder's photos in the order they were taken, from real EXIF data written by Pillow."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from tests.fake_aigen import FakeAigen
from xlwings_meter.folder import capture_time, photos_in


def _photo(path: Path, taken: str | None = None) -> Path:
    img = Image.new("RGB", (64, 48), (120, 130, 140))
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal, as a camera writes it
    img.save(path, exif=exif.tobytes())
    return path


def test_photos_come_in_the_order_they_were_taken_then_by_name(tmp_path: Path) -> None:
    _photo(tmp_path / "b.jpg", "2026:03:14 09:30:00")
    _photo(tmp_path / "a.jpg", "2026:03:14 10:05:00")
    _photo(tmp_path / "C.JPG", "2026:03:14 08:59:59")
    _photo(tmp_path / "z-no-date.jpg")
    _photo(tmp_path / "y-no-date.jpg")
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "~$book.xlsx").write_text("lock")
    _photo(tmp_path / ".hidden.jpg", "2020:01:01 00:00:00")
    (tmp_path / "sub").mkdir()
    _photo(tmp_path / "sub" / "deeper.jpg", "2020:01:01 00:00:00")

    listed = photos_in(tmp_path)
    assert [p.path.name for p in listed] == ["C.JPG", "b.jpg", "a.jpg", "y-no-date.jpg", "z-no-date.jpg"]
    assert listed[0].taken == datetime(2026, 3, 14, 8, 59, 59) and listed[-1].taken is None


def test_a_corrupt_or_odd_photo_has_no_capture_time_rather_than_an_error(tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert capture_time(tmp_path / "broken.jpg") is None
    assert capture_time(_photo(tmp_path / "zeros.jpg", "0000:00:00 00:00:00")) is None
    assert [p.path.name for p in photos_in(tmp_path)] == ["broken.jpg", "zeros.jpg"]


def test_an_image_too_large_to_be_a_photo_has_no_capture_time(tmp_path: Path) -> None:
    """A PNG that says it is 30000x30000 pixels: Pillow refuses to open it, which ended
    `read FOLDER --into` with an internal error before anything was read (a hostile review)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    assert capture_time(tmp_path / "huge.png") is None
    assert [p.path.name for p in photos_in(tmp_path)] == ["huge.png"]


def test_read_a_folder_into_a_new_workbook_then_append_what_was_added_since(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    from tests.photos import make_photo
    from xlwings_meter.cli import main

    photos = tmp_path / "round-march"
    for name, taken, seed in (("b.jpg", "2026:03:14 09:30:00", 1), ("a.jpg", "2026:03:14 10:05:00", 2)):
        make_photo(photos / name, seed=seed)
        img = Image.open(photos / name)
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = taken
        img.save(photos / name, exif=exif.tobytes())
    book = tmp_path / "march.xlsx"

    assert main(["read", str(photos), "--into", str(book)]) == 0
    rows = list(openpyxl.load_workbook(book)["Meters"].iter_rows(values_only=True))
    assert rows[0] == ("Taken", "Image", "Value", "Confidence", "Angle", "Status")
    assert [r[:3] for r in rows[1:]] == [("2026-03-14 09:30:00", "round-march/b.jpg", 3245.01),
                                         ("2026-03-14 10:05:00", "round-march/a.jpg", 3245.01)]
    assert "2 photos of " in capsys.readouterr().err

    make_photo(photos / "c.png", seed=3, fmt="PNG")  # taken later, no capture time
    assert main(["read", str(photos), "--into", str(book)]) == 0
    rows = list(openpyxl.load_workbook(book)["Meters"].iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["round-march/b.jpg", "round-march/a.jpg", "round-march/c.png"]
    assert len(aigen_env.calls) == 3  # the two already read were not paid for again


def test_read_into_refuses_what_is_not_a_folder_or_a_new_xlsm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xlwings_meter.cli import main

    assert main(["read", str(tmp_path / "none"), "--into", str(tmp_path / "b.xlsx"), "--cache-only"]) == 1
    assert "is not a folder of photos" in capsys.readouterr().err
    assert main(["read", str(tmp_path), "--into", str(tmp_path / "b.xlsm"), "--cache-only"]) == 1
    assert "xlwings-meter template" in capsys.readouterr().err and not (tmp_path / "b.xlsm").exists()


def test_an_iphone_round_in_heic_comes_in_the_order_it_was_taken(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    import pillow_heif

    for name, taken in (("IMG_0002.HEIC", "2026:03:14 08:00:00"), ("IMG_0001.HEIC", "2026:03:14 09:00:00")):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = taken
        pillow_heif.from_pillow(Image.new("RGB", (64, 48), (90, 90, 90))).save(tmp_path / name, exif=exif.tobytes())
    # A fresh process: nothing has taught Pillow HEIC yet, as in a user's first command.
    script = ("import json, sys; from pathlib import Path; from xlwings_meter.folder import photos_in; "
              "print(json.dumps([[p.path.name, str(p.taken)] for p in photos_in(Path(sys.argv[1]))]))")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env={**os.environ, "PYTHONPATH": str(root)},
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [["IMG_0002.HEIC", "2026-03-14 08:00:00"], ["IMG_0001.HEIC", "2026-03-14 09:00:00"]]


def test_new_photos_go_below_every_filled_row_never_into_a_meters_row_waiting_for_its_photo(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.photos import make_photo
    from xlwings_meter.workbook.listing import add_folder

    folder = tmp_path / "round"
    first = make_photo(folder / "a.jpg", seed=1)
    make_photo(folder / "b.jpg", seed=2)
    backend.create([["A", 3000, str(first)], ["B", 3100, None], ["C", 3200, None]],
                   header=("Meter", "Previous", "Image"))
    assert add_folder(backend.book, folder) == 1
    backend.reopen()
    rows = backend.rows()
    assert [r[:3] for r in rows[1:4]] == [["A", 3000, str(first)], ["B", 3100, None], ["C", 3200, None]]
    assert rows[4][:3] == [None, None, "round/b.jpg"]
