"""Pure logic of ctc.py: revising doubtful drums from strips read again at vertical shifts."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("cv2")

from xlwings_meter.engines.local import ctc
from xlwings_meter.engines.local.ctc import CounterRead, Digit
from xlwings_meter.engines.local.geometry import REC_HEIGHT, REC_STRIDE, Row, Strip

DIGITS = np.arange(1, 11)  # class 0 is the blank, class d + 1 is digit d
PITCH = 24.0


def a_read(digits: tuple[Digit, ...], unread: tuple[float, ...] = ()) -> CounterRead:
    pixels = np.full((REC_HEIGHT, 240, 3), 30, np.uint8)  # dark drums, no red
    row = Row(120.0, 24.0, 160.0, 40.0, 0.0, "window")
    strip = Strip(pixels, 0.0, np.eye(2, 3), row, 40.0)
    red = (False,) * len(digits)
    return CounterRead(strip, digits, red, 0, PITCH, len(unread), 0.7, False, unread)


def probs_with(*emissions: tuple[float, int, float]) -> np.ndarray:
    """CTC probabilities (30 columns): blank everywhere but digit ``d`` at column x, prob p."""
    probs = np.zeros((30, 11), np.float32)
    probs[:, 0] = 1.0
    for x, d, p in emissions:
        t = int(x // REC_STRIDE)
        probs[t, 0], probs[t, d + 1] = 1.0 - p, p
    return probs


def test_a_guessed_digit_becomes_the_one_a_shift_reads_best_and_stays_guessed() -> None:
    read = a_read((Digit("1", 0.99, 60), Digit("0", 0.3, 84, guessed=True), Digit("5", 0.99, 108)))
    shifts = [probs_with((84, 0, 0.2)), probs_with((84, 9, 0.8)), probs_with()]
    revised = ctc.reread(read, shifts, DIGITS)
    assert revised.value == "195"
    assert revised.digits[1].guessed and revised.digits[1].prob == pytest.approx(0.8)


def test_a_sure_digit_is_not_revised() -> None:
    read = a_read((Digit("1", 0.99, 60), Digit("2", 0.95, 84), Digit("5", 0.99, 108)))
    assert not ctc.is_doubtful(read)
    revised = ctc.reread(read, [probs_with((84, 7, 0.99))], DIGITS)
    assert revised.value == "125"


def test_an_unread_drum_is_taken_when_a_shift_emits_a_digit_of_its_own_there() -> None:
    read = a_read((Digit("0", 0.99, 60), Digit("4", 0.99, 84)), unread=(36.0,))
    assert ctc.is_doubtful(read)
    # The first digit's own emission, a little early, is no evidence of a drum before it.
    neighbour = ctc.reread(read, [probs_with((52, 0, 0.9))], DIGITS)
    assert neighbour.value == "04" and neighbour.gaps == 1
    taken = ctc.reread(read, [probs_with((36, 1, 0.9))], DIGITS)
    assert taken.value == "104" and taken.gaps == 0 and taken.digits[0].guessed
    assert len(taken.red) == 3
