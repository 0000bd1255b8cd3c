"""A Previous or Corrected cell the tool cannot read as a number (an #N/A from a lookup, text,
a number typed as text, a formula never computed) flags its row: never a blank Consumption and
an empty Check that count as "0 flagged"."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.reconcile import NOT_A_NUMBER, RowInput, is_flag_text, reconcile

from .xlsxbooks import xlsxwriter_book


def _read(value: str, confidence: float = 0.95) -> Reading:
    return Reading(ReadingStatus.READ, value=value, confidence=confidence, angle=0.0)


def test_text_is_never_read_as_a_number_and_a_bad_correction_never_falls_back_to_the_machine() -> None:
    checks = reconcile([RowInput(_read("01005.000"), previous="1,005"),
                        RowInput(_read("00100.000"), previous="#N/A"),
                        RowInput(_read("00100.000", confidence=0.5), previous=90, corrected="abc"),
                        RowInput(_read("00100.000"), previous=True),
                        RowInput(_read("00100.000"), previous=90, corrected=""),
                        RowInput(Reading.failure(ReadingStatus.NO_READING, "x"), previous="x")])
    assert [c.consumption for c in checks[:4]] == [None] * 4
    assert checks[0].text == "previous reading is not a number (1,005)"
    assert checks[1].text == "previous reading is not a number (#N/A)"
    assert checks[2].text == "confidence 50% under 80%; correction is not a number (abc)"
    assert checks[3].kinds == (NOT_A_NUMBER,)
    assert checks[4].consumption == pytest.approx(10) and checks[4].text == ""
    assert checks[5].text == "no reading; previous reading is not a number (x)"
    assert reconcile([RowInput(_read("00100.000"), previous=90, corrected=" ")])[0].text == (
        "correction is not a number (spaces)")  # a stray space is text too, as ISNUMBER sees it
    assert all(is_flag_text(c.text) for c in checks)
    assert not is_flag_text("previous reading is not a number")  # a person's words, not the tool's


def test_a_file_with_na_text_and_an_uncomputed_formula_in_previous_flags_and_counts_each_row(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(6):
        aigen_env.on(make_photo(tmp_path / f"m{i}.jpg", seed=i), Reply.success(value="01005.000", confidence=0.95))

    def lookups(wb: Any, ws: Any) -> None:
        ws.write_formula("B2", "=VLOOKUP(A2,Z:Z,1,FALSE)", None, "#N/A")  # as Excel saved it
        ws.write_formula("B5", "=1000+0")  # never computed: xlsxwriter writes a 0 placeholder
        ws.write_formula("B7", '=IF(A7="M6","",1000)', None, "")  # a lookup's "": nothing, not a flag

    book = xlsxwriter_book(tmp_path / "bill.xlsx",
                           [["M1", None, "m0.jpg"], ["M2", "1,005", "m1.jpg"], ["M3", 1000, "m2.jpg", *[None] * 6, "abc"],
                            ["M4", None, "m3.jpg"], ["M5", 1000, "m4.jpg"],
                            ["M6", None, "m5.jpg"]],
                           header=("Meter", "Previous", "Image", *[None] * 6, "Corrected"), setup=lookups)
    with zipfile.ZipFile(book) as z:  # B7 as Excel saves a formula that computed "": t="str", empty <v>
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b'<c r="B7">', b'<c r="B7" t="str">')
    with zipfile.ZipFile(book, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    assert main(["read", str(book)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "4 flagged: 4 not a number"
    ws = openpyxl.load_workbook(book)["Photos"]
    assert [c.value for c in ws[1]][:10] == ["Meter", "Previous", "Image", "Value", "Confidence", "Angle",
                                             "Status", "Consumption", "Check", "Corrected"]
    assert [ws.cell(r, 8).value for r in range(2, 8)] == [None, None, None, None, 5, None]
    assert [ws.cell(r, 9).value for r in range(2, 8)] == [
        "previous reading is not a number (#N/A)", "previous reading is not a number (1,005)",
        "correction is not a number (abc)", "previous reading is not a number (formula without a value)", None, None]
    rules = [f for cf in ws.conditional_formatting for rule in cf.rules for f in rule.formula]
    assert any("not a number" in f and "IFERROR(LEN($B2)>0,TRUE)" in f for f in rules)
