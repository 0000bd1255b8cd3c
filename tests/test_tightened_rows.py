"""Rows cut down to their digits' band: a window found by the network, or a padded text box,
is often twice as tall as its drums."""

from __future__ import annotations

import pytest

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from xlwings_meter.engines.local.geometry import REC_HEIGHT, Row, cut_strips, tightened


def _photo(digit_top: int, digit_height: int) -> np.ndarray:
    """A grey 600x300 photo with 6 digits along y = 150, their tops at ``digit_top``."""
    img = np.full((300, 600, 3), 200, np.uint8)
    scale = digit_height / 22
    for i in range(6):
        cv2.putText(img, str(i), (150 + 45 * i, digit_top + digit_height), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (20, 20, 20), 3)
    return img


def test_a_row_twice_as_tall_as_its_digits_is_cut_down_to_them() -> None:
    img = _photo(digit_top=150, digit_height=30)
    loose = Row(cx=290, cy=160, length=300, height=110, angle=0.0, source="net")
    strip = cut_strips(img, loose)[0]
    xs = [float(x) for x in np.linspace(0.25, 0.75, 6) * strip.pixels.shape[1]]
    row = tightened(strip, xs, xs[1] - xs[0])
    assert row is not None
    # The new row is about the digits' height, centred on them, as long as the old one.
    assert 25 <= row.height <= 50
    assert abs(row.cy - 165) <= 8
    assert row.length == loose.length and row.angle == loose.angle and row.source == "net"
    # Cut again, the digits fill the strip.
    again = cut_strips(img, row)[0]
    ink = (cv2.cvtColor(again.pixels, cv2.COLOR_BGR2GRAY) < 100).any(1)
    assert ink.mean() > 0.6


def test_a_row_its_digits_fill_is_left_as_it_is() -> None:
    img = _photo(digit_top=150, digit_height=30)
    snug = Row(cx=290, cy=165, length=300, height=36, angle=0.0, source="text")
    strip = cut_strips(img, snug)[0]
    xs = [float(x) for x in np.linspace(0.25, 0.75, 6) * strip.pixels.shape[1]]
    assert tightened(strip, xs, xs[1] - xs[0]) is None
    assert REC_HEIGHT == strip.pixels.shape[0]
