"""The meter-photo generator: deterministic, truthful about value, angle and digit boxes."""

from __future__ import annotations

import csv
import math
import re

import pytest
from PIL import Image

from xlwings_meter.demo.synth import (
    PhotoConditions,
    generate_meter_photo,
    write_meter_photos,
)

VALUE = re.compile(r"^\d{4,6}(\.\d{1,4})?$")


def test_same_seed_same_bytes_and_other_seed_other_photo() -> None:
    a, b = generate_meter_photo(11), generate_meter_photo(11)
    assert a.data == b.data and a.truth == b.truth
    assert generate_meter_photo(12).data != a.data


@pytest.mark.parametrize("seed", range(8))
def test_truth_is_a_meter_value_with_one_box_per_digit(seed: int) -> None:
    truth = generate_meter_photo(seed).truth
    assert VALUE.match(truth.value), truth.value
    digits = truth.value.replace(".", "")
    assert len(truth.boxes) == len(digits) == truth.integer_digits + truth.decimal_digits
    assert len(truth.value.partition(".")[2]) == truth.decimal_digits
    assert len(truth.rolled) == len(digits)
    for quad in truth.boxes:
        assert len(quad) == 4
        assert all(-0.01 <= c <= 1.01 for point in quad for c in point)


@pytest.mark.slow  # draws 40 photos
def test_leading_zeros_and_decimals_are_drawn_as_drums() -> None:
    """Values with leading zeros and with and without decimals occur, and every digit of
    the value, leading zeros included, has its own drum box (the engine's tests check that it
    reads them: tests/test_local_engine.py)."""
    truths = [generate_meter_photo(s).truth for s in range(40)]
    zeros = [t for t in truths if t.value.startswith("0")]
    assert zeros
    for t in zeros:
        assert len(t.boxes) == len(t.value.replace(".", ""))
    assert any("." not in t.value for t in truths) and any("." in t.value for t in truths)


@pytest.mark.parametrize("style", ["white", "dark"])
def test_drum_style_is_drawn(style: str) -> None:
    """White drums are light behind dark digits; dark drums the other way round."""
    photo = generate_meter_photo(
        4, PhotoConditions(rotation=0.0, noise=0.0, perspective=0.0, roll=0.0, drums=style)
    )
    img = photo.image.convert("L")
    w, h = img.size
    quad = photo.truth.boxes[0]
    xs, ys = [p[0] * w for p in quad], [p[1] * h for p in quad]
    drum = img.crop((round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))))
    pixels = sorted(drum.getdata())
    ground = pixels[len(pixels) // 2]  # most of a drum is its ground, not ink
    assert (ground > 150) == (style == "white"), ground


@pytest.mark.parametrize("rotation", [0.0, 37.0, 90.0, 180.0, -90.0, -143.0])
def test_angle_is_the_direction_of_the_digit_row(rotation: float) -> None:
    photo = generate_meter_photo(3, PhotoConditions(rotation=rotation, perspective=0.0))
    diff = (photo.truth.angle - rotation + 180) % 360 - 180
    assert abs(diff) < 0.5
    # The first box's top edge runs along the row too: the boxes turn with the meter.
    (x0, y0), (x1, y1) = photo.truth.boxes[0][0], photo.truth.boxes[0][1]
    w, h = photo.image.size
    edge = math.degrees(math.atan2((y1 - y0) * h, (x1 - x0) * w))
    assert abs((edge - rotation + 180) % 360 - 180) < 0.5


def test_boxes_cover_the_red_decimal_drums() -> None:
    """The truth's boxes point at the drums drawn: decimal boxes are red, integer ones dark."""
    seed = next(
        s for s in range(50) if generate_meter_photo(s, PhotoConditions()).truth.decimal_digits
    )
    photo = generate_meter_photo(seed, PhotoConditions(rotation=0.0, noise=0.0, perspective=0.0))
    img = photo.image.convert("RGB")
    w, h = img.size
    for i, quad in enumerate(photo.truth.boxes):
        # Sample near the drum's top-left corner, clear of the digit's ink.
        (ax, ay), (_, _), (cx, cy), _ = quad
        x, y = (ax + 0.1 * (cx - ax)) * w, (ay + 0.2 * (cy - ay)) * h
        r, g, b = img.getpixel((round(x), round(y)))
        is_red = r > 120 and r > g + 60
        assert is_red == (i >= photo.truth.integer_digits), (i, (r, g, b))


@pytest.mark.slow  # draws photos
def test_write_meter_photos_writes_images_and_truths(tmp_path) -> None:
    written = write_meter_photos(tmp_path, 3, seed=5)
    assert [p.name for p, _ in written] == ["meter-0000.jpg", "meter-0001.jpg", "meter-0002.jpg"]
    for path, truth in written:
        with Image.open(path) as img:
            assert img.format == "JPEG"
        assert truth == generate_meter_photo(5 + written.index((path, truth))).truth
    rows = list(csv.DictReader(open(tmp_path / "truth.csv", encoding="utf-8")))
    assert [r["value"] for r in rows] == [t.value for _, t in written]


def test_as_photo_is_what_an_engine_receives() -> None:
    synth = generate_meter_photo(2)
    photo = synth.as_photo()
    assert photo.data == synth.data
    assert (photo.width, photo.height) == synth.image.size


def test_a_colour_cast_tints_the_whole_photo() -> None:
    plain = generate_meter_photo(9, PhotoConditions(rotation=0.0, noise=0.0, cast=(1.0, 1.0, 1.0)))
    tinted = generate_meter_photo(9, PhotoConditions(rotation=0.0, noise=0.0, cast=(1.0, 0.7, 0.7)))
    r0, g0, _ = (sum(band.getdata()) for band in plain.image.convert("RGB").split())
    r1, g1, _ = (sum(band.getdata()) for band in tinted.image.convert("RGB").split())
    assert g1 / r1 < 0.8 * g0 / r0
    assert tinted.truth == plain.truth
