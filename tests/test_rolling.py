"""The rolling-drum rule: digits from drum readings in tenths of a step."""

from __future__ import annotations

from xlwings_meter.engines.local.rolling import debias, roll_digits


def test_whole_digits_read_as_they_are() -> None:
    assert roll_digits([0.0, 1.0, 1.0, 8.0, 9.0]) == [0, 1, 1, 8, 9]


def test_a_drum_between_two_digits_reads_the_lower_while_its_right_neighbour_has_not_passed_9() -> (
    None
):
    # 8.5 beside a drum at 9.5 (rolling towards 0): the meter has not reached ...90 yet.
    assert roll_digits([0.0, 8.5, 9.5]) == [0, 8, 9]
    # 3.6 beside a drum sitting at 4: the drum has only started to move; still 3.
    assert roll_digits([3.6, 4.0]) == [3, 4]


def test_a_drum_reads_the_upper_digit_once_its_right_neighbour_has_passed_9_to_0() -> None:
    # 1.9 beside a drum just past 0: the drum has all but finished its step to 2.
    assert roll_digits([0.0, 1.9, 0.1]) == [0, 2, 0]
    # 9.9 beside 0.2 carries round to 0.
    assert roll_digits([4.0, 9.9, 0.2]) == [4, 0, 0]


def test_the_last_drum_rounds_down_unless_nearly_at_the_next_digit() -> None:
    assert roll_digits([5.0, 7.5]) == [5, 7]
    assert roll_digits([5.0, 7.9]) == [5, 8]
    assert roll_digits([5.0, 9.9]) == [5, 0]


def test_a_row_cut_too_high_reads_its_whole_digits_not_the_ones_below() -> None:
    # Every drum of 00145.294 read about 0.2 low (astrel_beregun_084827: crops cut too high):
    # without the row's offset taken off, the last drum reads 3 and 1.8 rolls down to 1.
    tenths = [9.8, 9.9, 0.8, 3.9, 4.8, 1.8, 8.9, 3.7]
    assert roll_digits(tenths) != [0, 0, 1, 4, 5, 2, 9, 4]
    assert roll_digits(debias(tenths)) == [0, 0, 1, 4, 5, 2, 9, 4]


def test_a_row_caught_rolling_keeps_its_readings() -> None:
    # Most drums whole: nothing to take off, the half-rolled last drum stays half-rolled.
    assert debias([0.0, 1.0, 3.0, 4.5]) == [0.0, 1.0, 3.0, 4.5]
    # More than a third of a step off, on the median: drums rolling, not a crop's offset.
    assert debias([2.5, 3.5, 4.5, 1.0]) == [2.5, 3.5, 4.5, 1.0]
