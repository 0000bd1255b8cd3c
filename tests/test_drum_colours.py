"""Which drums are red (the decimals), and which way up a row is by its layout."""

from __future__ import annotations

from dataclasses import replace

import pytest

np = pytest.importorskip("numpy")
cv2 = pytest.importorskip("cv2")

from xlwings_meter.engines.local import scoring
from xlwings_meter.engines.local.colours import red_cells
from xlwings_meter.engines.local.ctc import CounterRead, Digit
from xlwings_meter.engines.local.geometry import REC_HEIGHT, Row, Strip

PITCH = 30


def _drums(grounds: list[tuple[int, int, int]]) -> np.ndarray:
    """A strip of drums with the given BGR grounds, a light 8 on each, dark gaps between."""
    strip = np.full((REC_HEIGHT, PITCH * len(grounds), 3), 15, np.uint8)
    for i, ground in enumerate(grounds):
        strip[4:-4, i * PITCH + 2 : (i + 1) * PITCH - 2] = ground
        cv2.putText(strip, "8", (i * PITCH + 7, 36), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (225, 225, 225), 2)
    return strip


def test_dim_red_drums_among_dark_ones_are_the_decimals() -> None:
    # Red drums in shade (a gas meter's 02677.038): red outshines green and blue by 35, not
    # the 45 a clearly red pixel has, yet far more than on the black drums beside them.
    black, dim_red = (30, 30, 30), (55, 55, 90)
    pixels = _drums([black] * 5 + [dim_red] * 3)
    xs = [PITCH * (i + 0.5) for i in range(8)]
    assert red_cells(pixels, xs, PITCH) == (False,) * 5 + (True,) * 3


def test_the_last_red_drum_half_under_the_frame_is_a_decimal_too() -> None:
    # 02677.038: the window's dark frame covers part of the last red drum, whose ground then
    # stands out from the black drums' by less than a whole red drum's does.
    black, dim_red = (30, 30, 30), (55, 55, 90)
    pixels = _drums([black] * 5 + [dim_red] * 3)
    pixels[:, 7 * PITCH + 2 * PITCH // 3 :] = 15
    xs = [PITCH * (i + 0.5) for i in range(8)]
    assert red_cells(pixels, xs, PITCH) == (False,) * 5 + (True,) * 3
    # A black last drum after red ones stays black.
    pixels = _drums([black] * 5 + [dim_red] * 2 + [black])
    assert red_cells(pixels, xs, PITCH) == (False,) * 5 + (True,) * 2 + (False,)


def test_red_digits_under_a_strong_blue_cast_are_still_the_decimals() -> None:
    # A gas meter under a blue light (03918.774): no pixel has more red than blue, but the
    # decimals' digits stand far above the black ones in redness.
    ground = (230, 180, 120)
    strip = np.full((REC_HEIGHT, PITCH * 8, 3), ground, np.uint8)
    for i in range(8):
        ink = (90, 40, 20) if i < 5 else (160, 40, 150)
        cv2.putText(strip, "7", (i * PITCH + 8, 36), cv2.FONT_HERSHEY_SIMPLEX, 0.8, ink, 2)
    xs = [PITCH * (i + 0.5) for i in range(8)]
    assert red_cells(strip, xs, PITCH) == (False,) * 5 + (True,) * 3


def test_a_blue_cast_makes_no_drum_red() -> None:
    pixels = _drums([(70, 40, 30)] * 8)
    xs = [PITCH * (i + 0.5) for i in range(8)]
    assert red_cells(pixels, xs, PITCH) == (False,) * 8


def test_red_digits_on_white_drums_in_a_red_plate_are_the_decimals() -> None:
    # A Russian water meter (00409.550): white drums set in a red plate, black digits, the
    # decimals' digits red. Every cell shows some of the red plate beside its drum, so red
    # around a drum says nothing; the digits' colour does.
    plate, white = (40, 40, 200), (215, 215, 215)
    strip = np.full((REC_HEIGHT, PITCH * 8, 3), plate, np.uint8)
    for i in range(8):
        strip[4:-4, i * PITCH + 6 : (i + 1) * PITCH - 6] = white
        ink = (30, 30, 30) if i < 5 else (40, 40, 190)
        cv2.putText(strip, "5", (i * PITCH + 8, 36), cv2.FONT_HERSHEY_SIMPLEX, 0.8, ink, 2)
    xs = [PITCH * (i + 0.5) for i in range(8)]
    assert red_cells(strip, xs, PITCH) == (False,) * 5 + (True,) * 3


def _read(row: Row, angle: float, red: tuple[bool, ...]) -> CounterRead:
    strip = Strip(np.zeros((REC_HEIGHT, 300, 3), np.uint8), angle, np.eye(2, 3), row, 20.0)
    digits = tuple(Digit("0", 0.99, 30.0 + 30 * i) for i in range(len(red)))
    return CounterRead(strip, digits, red, 0, 30.0, 0, 0.7, False)


def test_the_reading_with_its_red_drums_on_the_right_is_the_upright_one() -> None:
    # 02677.038 read upside down is 8E0 ... : the same drums, the red ones now on the left.
    # The other cut of the row (cut down to its digits) counts as the same row.
    window = Row(300.0, 200.0, 400.0, 80.0, 0.0, "window")
    tight = Row(300.0, 205.0, 400.0, 37.0, 0.0, "window")
    upright = scoring.Candidate(_read(tight, 0.0, (False,) * 5 + (True,) * 3), 0.4)
    turned = scoring.Candidate(_read(window, 180.0, (False,) * 5), 0.56)
    elsewhere = scoring.Candidate(_read(Row(300.0, 400.0, 200.0, 30.0, 0.0, "text"), 180.0, (False,) * 5), 0.3)
    assert scoring.unit_weights([upright, turned, elsewhere]) == [1.0, scoring.UNIT_BEFORE, 1.0]


def _counter(value: str, red: tuple[bool, ...], row: Row) -> CounterRead:
    strip = Strip(np.zeros((REC_HEIGHT, 300, 3), np.uint8), 0.0, np.eye(2, 3), row, 20.0)
    digits = tuple(Digit(c, 0.99, 30.0 + 30 * i) for i, c in enumerate(value))
    return CounterRead(strip, digits, red, 0, 30.0, 0, 0.7, False)


def test_a_reading_without_its_point_takes_it_from_a_tighter_cut_of_the_same_digits() -> None:
    """00409.550, white drums in a red plate: the loose cut of the window saw the plate red in
    every cell, so no point, and it outscored the tight cut, which saw the red digits."""
    from xlwings_meter.engines.local.pipeline import _with_point

    loose = Row(300.0, 200.0, 400.0, 82.0, 0.0, "window")
    tight = Row(300.0, 205.0, 400.0, 34.0, 0.0, "window")
    best = scoring.Candidate(_counter("00409550", (True,) * 8, loose), 0.66)
    pointed = scoring.Candidate(_counter("00409550", (False,) * 5 + (True,) * 3, tight), 0.45)
    other = scoring.Candidate(_counter("69960709", (False,) * 8, loose), 0.43)
    assert _with_point(best, [best, pointed, other]).value == "00409.550"
    # Not from a reading of other digits, nor from one far behind.
    wrong = scoring.Candidate(_counter("00409559", (False,) * 5 + (True,) * 3, tight), 0.6)
    assert _with_point(best, [best, wrong, other]).value == "00409550"
    assert _with_point(best, [best, replace(pointed, score=0.2)]).value == "00409550"
    # Nor from one red drum alone at the end: a red unit plate beside a counter without
    # decimals (0056.1 for 00561).
    unit = scoring.Candidate(_counter("00561", (False,) * 4 + (True,), tight), 0.52)
    plain = scoring.Candidate(_counter("00561", (False,) * 5, loose), 0.57)
    assert _with_point(plain, [plain, unit]).value == "00561"
    # A reading with its own point keeps it.
    own = scoring.Candidate(_counter("00409550", (False,) * 6 + (True,) * 2, loose), 0.7)
    assert _with_point(own, [own, pointed]).value == "004095.50"


def test_a_borrowed_point_is_scored_with_the_reading_it_gave() -> None:
    """The confidence is that of the value shown: the cut that lent the point agrees with it
    (it is no rival), and two borrowed decimals are as doubtful as two seen."""
    from xlwings_meter.engines.local.pipeline import settle

    loose = Row(300.0, 200.0, 400.0, 82.0, 0.0, "window")
    tight = Row(300.0, 205.0, 400.0, 34.0, 0.0, "window")
    best = scoring.Candidate(_counter("00409550", (True,) * 8, loose), 0.66)
    pointed = scoring.Candidate(_counter("00409550", (False,) * 5 + (True,) * 3, tight), 0.6)
    other = scoring.Candidate(_counter("69960709", (False,) * 8, loose), 0.30)
    read, sure = settle(best, [best, pointed, other])
    assert (read.value, sure) == ("00409.550", pytest.approx(0.99))
    # A true rival still lowers it.
    rival = scoring.Candidate(_counter("00409559", (False,) * 5 + (True,) * 3, tight), 0.5)
    assert settle(best, [best, pointed, rival])[1] < 0.9
    # Two decimals borrowed: the last drum may be missing, as with two seen.
    best = scoring.Candidate(_counter("0040955", (False,) * 7, loose), 0.66)
    two = scoring.Candidate(_counter("0040955", (False,) * 5 + (True,) * 2, tight), 0.4)
    read, sure = settle(best, [best, two])
    seen = scoring.Candidate(two.read, 0.66)
    assert (read.value, sure) == ("00409.55", pytest.approx(scoring.confidence(seen, [seen])))
    assert sure < 0.9


def test_colour_masks_agree_with_the_plain_arithmetic_and_take_any_crop() -> None:
    """OpenCV's saturating 8-bit arithmetic gives exactly the widened test, on a row's edge
    crops too (empty or one pixel wide, where OpenCV returns nothing of its own)."""
    from xlwings_meter.engines.local.colours import dark_mask, red_mask

    img = np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    for crop in (img, img[5:-5, 10:30], img[:0], img[:, :0], img[:1], img[:, :1], img[3:4, 5:6]):
        px = crop.astype(np.int16)
        red = (px[..., 2] > 90) & (px[..., 2] - np.maximum(px[..., 0], px[..., 1]) > 45)
        dark = px.max(axis=-1, initial=0) < 95
        assert np.array_equal(red_mask(crop), red)
        assert np.array_equal(dark_mask(crop), dark)
