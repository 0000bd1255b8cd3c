"""bench.real's changed copies of a photo: turned without loss, or compressed once more."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bench.real import Change
from xlwings_meter.photos import load_photo


def a_photo(tmp_path: Path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 255, (60, 90, 3), dtype=np.uint8)
    path = tmp_path / "meter.png"
    Image.fromarray(pixels).save(path)
    return load_photo(path)


def test_no_change_reads_the_photo_as_it_is(tmp_path) -> None:
    photo = a_photo(tmp_path)
    assert Change().apply(photo) is photo


def test_a_turned_photo_has_exactly_the_turned_pixels(tmp_path) -> None:
    photo = a_photo(tmp_path)
    turned = Change(turn=90).apply(photo)
    assert (turned.width, turned.height) == (photo.height, photo.width)
    expected = np.asarray(photo.image.convert("RGB").transpose(Image.Transpose.ROTATE_90))
    assert np.array_equal(np.asarray(turned.image.convert("RGB")), expected)
    assert turned.digest == photo.digest  # the same photo, for the truth it is compared with


def test_a_recompressed_photo_differs_a_little(tmp_path) -> None:
    photo = a_photo(tmp_path)
    again = Change(jpeg=70).apply(photo)
    before = np.asarray(photo.image.convert("RGB"), dtype=int)
    after = np.asarray(again.image.convert("RGB"), dtype=int)
    assert after.shape == before.shape
    assert 0 < np.abs(after - before).mean() < 40
