"""Listing a folder's photos in the order they were taken, from real EXIF data written by Pillow."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PIL import Image

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
