"""Photos: finding them from a cell, checking they are images, orienting, shrinking, hashing."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
from PIL import Image

from tests.photos import jpeg_markers
from xlwings_meter.errors import NotAnImageError, PhotoMissingError
from xlwings_meter.photos import DEFAULT_MAX_SIDE, file_digest, load_photo, resolve_path

#: SOI, APP0 (JFIF), DQT, SOF0, DHT, SOS, EOI: a baseline JPEG and nothing else.
PLAIN_JPEG_MARKERS = {0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA, 0xD9}


def _jpeg(path: Path, size: tuple[int, int] = (320, 240), color: tuple[int, int, int] = (200, 30, 30),
          exif_orientation: int | None = None) -> Path:
    img = Image.new("RGB", size, color)
    img.paste((0, 0, 255), (0, 0, size[0] // 4, size[1] // 8))  # a mark in the top-left corner
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[0x0112] = exif_orientation
    img.save(path, format="JPEG", exif=exif.tobytes())
    return path


def test_relative_path_is_resolved_against_the_workbook_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    photo = _jpeg(tmp_path / "sub" / "m 1.jpg")
    assert resolve_path("sub/m 1.jpg", tmp_path) == photo
    assert file_digest(resolve_path("sub/m 1.jpg", tmp_path)) == file_digest(photo)


def test_absolute_home_quoted_and_non_ascii_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    photo = _jpeg(tmp_path / "Zählerstand März 2026.jpg")
    assert resolve_path(str(photo), Path("/elsewhere")) == photo
    assert resolve_path("~/Zählerstand März 2026.jpg", Path("/elsewhere")) == photo
    assert resolve_path(f'  "{photo}"  ', None) == photo  # Windows' "Copy as path" adds quotes


def test_a_windows_style_relative_path_works_on_a_mac_too(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    photo = _jpeg(tmp_path / "photos" / "m1.jpg")
    assert resolve_path("photos\\m1.jpg", tmp_path) == photo


@pytest.mark.parametrize("cell", [None, "", "   "])
def test_an_empty_cell_says_there_is_no_path(cell: object) -> None:
    with pytest.raises(PhotoMissingError, match="No photo path"):
        resolve_path(cell, Path("."))


def test_a_missing_file_or_a_folder_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(PhotoMissingError, match="File not found: .*nope.jpg"):
        file_digest(tmp_path / "nope.jpg")
    with pytest.raises(PhotoMissingError, match="folder"):
        file_digest(tmp_path)


def test_the_cache_key_is_the_content_so_a_renamed_copy_has_the_same_key(tmp_path: Path) -> None:
    a = _jpeg(tmp_path / "a.jpg")
    b = tmp_path / "renamed copy.jpg"
    b.write_bytes(a.read_bytes())
    c = _jpeg(tmp_path / "c.jpg", color=(10, 200, 10))
    assert file_digest(a) == file_digest(b) != file_digest(c)
    assert load_photo(a).digest == file_digest(a)


def test_the_cache_key_stays_the_sha256_of_the_whole_file_however_it_is_read(tmp_path: Path) -> None:
    # Caches written by earlier versions hold SHA-256 of the file's bytes: a photo read in
    # pieces (here 2.3 MB: two full pieces and a short last one) must keep exactly that key.
    rng = random.Random(8)
    data = rng.randbytes(2_300_001)
    photo = tmp_path / "big.jpg"
    photo.write_bytes(data)
    assert file_digest(photo) == hashlib.sha256(data).hexdigest()


def test_even_a_small_upright_jpeg_is_uploaded_as_a_fresh_image_without_its_metadata(tmp_path: Path) -> None:
    a = _jpeg(tmp_path / "a.jpg", exif_orientation=1)
    with open(a, "ab") as fh:
        fh.write(b"PK\x03\x04 a zip appended to the photo")
    photo = load_photo(a)
    assert photo.data != a.read_bytes()
    assert set(jpeg_markers(photo.data)) <= PLAIN_JPEG_MARKERS  # no EXIF, ICC, comment, trailer
    assert (photo.width, photo.height) == Image.open(io.BytesIO(photo.data)).size == (320, 240)


@pytest.mark.slow
def test_a_12_megapixel_photo_is_shrunk_and_sent_as_jpeg(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    Image.effect_noise((4000, 3000), 40).convert("RGB").save(big)
    photo = load_photo(big)
    sent = Image.open(io.BytesIO(photo.data))
    assert sent.format == "JPEG"
    assert max(sent.size) == DEFAULT_MAX_SIDE and sent.size == (1600, 1200)
    assert len(photo.data) < photo.file_size / 4
    assert photo.file_size == big.stat().st_size


def test_exif_orientation_is_applied_before_upload(tmp_path: Path) -> None:
    # Orientation 6: the camera was turned; the stored pixels must be rotated 90 degrees clockwise.
    photo = load_photo(_jpeg(tmp_path / "turned.jpg", size=(320, 240), exif_orientation=6))
    sent = Image.open(io.BytesIO(photo.data)).convert("RGB")
    assert sent.size == (240, 320)
    # the blue mark of the top-left corner is now top-right
    r, g, b = sent.getpixel((235, 5))
    assert b > 150 and r < 100


@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "WEBP"])
def test_the_orientation_of_other_formats_is_applied_once(tmp_path: Path, fmt: str) -> None:
    """Pillow 13 turns a TIFF as it loads it: turned again, it went up upside down or
    sideways (found by a hostile review)."""
    img = Image.open(_jpeg(tmp_path / "turned.jpg", size=(320, 240), exif_orientation=6))
    path = tmp_path / f"turned.{fmt.lower()}"
    img.save(path, format=fmt, exif=img.getexif().tobytes(), **({"lossless": True} if fmt == "WEBP" else {}))
    sent = Image.open(io.BytesIO(load_photo(path).data)).convert("RGB")
    assert sent.size == (240, 320)
    r, g, b = sent.getpixel((235, 5))
    assert b > 150 and r < 100


def test_a_jpeg_with_a_multi_picture_segment_is_read_as_a_jpeg(tmp_path: Path) -> None:
    """An HDR gain map or a preview makes a phone JPEG an "MPO" to Pillow, which decoded it
    whole (573 MB for 108 megapixels against 31 MB) and sent it larger."""
    img = Image.effect_noise((4032, 3024), 40).convert("RGB")
    img.save(tmp_path / "plain.jpg", quality=90)
    img.save(tmp_path / "hdr.jpg", format="MPO", save_all=True, append_images=[img.resize((400, 300))],
             quality=90)
    assert Image.open(tmp_path / "hdr.jpg").format == "MPO"
    assert load_photo(tmp_path / "hdr.jpg").data == load_photo(tmp_path / "plain.jpg").data


@pytest.mark.skipif(not Path("/proc/self/pagemap").exists(), reason="Linux's /proc only")
def test_a_file_that_reads_on_past_its_size_is_refused_not_read_for_ever(tmp_path: Path) -> None:
    """A regular file of the system's that says it has 0 bytes and reads almost endlessly hung
    the run (a hostile review); so would a file growing as it is read."""
    link = tmp_path / "meter.jpg"
    link.symlink_to("/proc/self/pagemap")
    with pytest.raises(PhotoMissingError, match="changed while it was read"):
        file_digest(link)


def test_a_text_file_named_jpg_is_never_uploaded(tmp_path: Path) -> None:
    fake = tmp_path / "meter.jpg"
    fake.write_text("these are not the pixels you are looking for")
    with pytest.raises(NotAnImageError, match="Not an image: meter.jpg"):
        load_photo(fake)


def test_a_truncated_photo_is_reported_as_corrupt(tmp_path: Path) -> None:
    whole = _jpeg(tmp_path / "whole.jpg", size=(800, 600)).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(NotAnImageError, match="Corrupt image: cut.jpg"):
        load_photo(cut)


def test_an_absurdly_large_image_is_refused_rather_than_decoded(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (12000, 10000)).save(bomb)  # 120 megapixels, a few kB on disk
    with pytest.raises(NotAnImageError, match="too large"):
        load_photo(bomb)
