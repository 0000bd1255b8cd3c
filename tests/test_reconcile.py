"""Consumption and flags as an accountant reads them in the Check column."""

from __future__ import annotations

import pytest

from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.reconcile import Limits, RowInput, number, reconcile


def _read(value: str, confidence: float = 0.95) -> Reading:
    return Reading(ReadingStatus.READ, value=value, confidence=confidence, angle=0.0)


def test_consumption_is_the_reading_minus_the_previous_and_a_plain_row_has_no_flag() -> None:
    (check,) = reconcile([RowInput(_read("00935.781"), previous=900.5)])
    assert check.consumption == pytest.approx(35.281) and check.text == ""


def test_each_flag_in_words() -> None:
    rows = [
        RowInput(_read("00890.000"), previous=900),  # the meter went backwards
        RowInput(_read("01000.000", confidence=0.55), previous=990),  # unsure
        RowInput(Reading.failure(ReadingStatus.NO_READING, "No reading"), previous=500),
        RowInput(_read("00035.100"), previous=1234.5),  # a leading drum lost
        RowInput(_read("01000.000"), previous=999.5),  # 999 rolled over to 1000: no flag
        RowInput(_read("91000.000"), previous=1000),  # a serial digit read as a drum
    ]
    checks = reconcile(rows, Limits(max_consumption=100))
    assert checks[0].text == "negative consumption (-10)"
    assert checks[1].text == "confidence 55% under 80%"
    assert checks[2].consumption is None and checks[2].text == "no reading"
    assert checks[3].flags == ("negative consumption (-1199.4)",
                               "2 digits, the previous reading has 4 (a lost or extra drum?)")
    assert checks[4].text == ""
    assert checks[5].flags == ("consumption 90000 above the limit",
                               "5 digits, the previous reading has 4 (a lost or extra drum?)")


def test_a_fixed_limit_or_else_a_multiple_of_the_sheets_median() -> None:
    rows = [RowInput(_read(f"{100 + c:.3f}"), previous=100) for c in (10, 12, 11, 9, 200)]
    by_median = reconcile(rows)
    assert [c.text for c in by_median[:4]] == ["", "", "", ""]
    assert by_median[4].text == "consumption 200 above 5 times the median (11)"
    fixed = reconcile(rows, Limits(max_consumption=11.5))
    assert [bool(c.flags) for c in fixed] == [False, True, False, False, True]
    few = reconcile(rows[3:])  # two rows say nothing about a median
    assert [c.text for c in few] == ["", ""]


def test_a_correction_wins_over_the_machine_and_silences_its_doubt() -> None:
    row = RowInput(_read("00035.100", confidence=0.4), previous=1234.5, corrected=1235.1)
    (check,) = reconcile([row])
    assert check.consumption == pytest.approx(0.6) and check.text == ""
    no_reading = RowInput(Reading.failure(ReadingStatus.NO_READING, "x"), previous=10, corrected=12)
    assert reconcile([no_reading])[0].consumption == pytest.approx(2)


def test_previous_readings_typed_as_text_or_missing() -> None:
    checks = reconcile([RowInput(_read("00100.000"), previous=90.5),
                        RowInput(_read("00100.000"), previous=None),
                        RowInput(_read("00100.000"), previous="last month")])
    assert checks[0].consumption == pytest.approx(9.5)
    assert checks[1].consumption is None and checks[1].text == ""
    assert checks[2].consumption is None
    assert checks[2].text == "previous reading is not a number (last month)"  # flagged, never dropped
    assert number(float("nan")) is None


def test_every_check_the_tool_writes_is_known_as_its_own_and_a_note_is_not() -> None:
    from xlwings_meter.reconcile import is_flag_text

    rows = [RowInput(_read(f"{v:.3f}", confidence=c), previous=p) for v, c, p in
            ((890, 0.9, 900), (1000, 0.55, 990), (35.1, 0.9, 1234.5), (91000, 0.9, 1000), (100, 0.9, 90),
             (110, 0.9, 100), (95, 0.9, 90), (500, 0.9, 100))]
    rows.append(RowInput(Reading.failure(ReadingStatus.NO_READING, "x"), previous=1))
    texts = [c.text for c in reconcile(rows) + reconcile(rows, Limits(max_consumption=7.25))]
    assert {"negative consumption", "above", "median", "the limit", "digits", "confidence", "no reading"} <= {
        word for t in texts for word in ("negative consumption", "above", "median", "the limit", "digits",
                                         "confidence", "no reading") if word in t}
    assert all(is_flag_text(t) for t in texts)
    assert not is_flag_text("no reading; checked by Ann") and not is_flag_text(12)
