"""`xlwings-meter verify`: every row's reading checked against its photo as it is now, nothing sent."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen
from tests.photos import make_photo
from xlwings_meter.cli import main

from .workbooks import photo_book


def test_verify_lists_changed_vanished_and_unread_photos_and_sends_nothing(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(4):
        make_photo(tmp_path / f"m{i}.jpg", seed=i)
    book = photo_book(tmp_path / "bill.xlsx", [[f"m{i}.jpg"] for i in range(4)])
    assert main(["read", str(book)]) == 0
    capsys.readouterr()
    paid = len(aigen_env.calls)

    assert main(["verify", str(book)]) == 0
    assert capsys.readouterr().out.strip() == "4 rows: every reading is of its photo as it is now, by aigen-v2"

    make_photo(tmp_path / "m1.jpg", seed=99)  # someone replaced the photo after it was read
    (tmp_path / "m2.jpg").unlink()  # and moved another away
    wb = openpyxl.load_workbook(book)
    wb["Photos"]["A6"] = "m4.jpg"  # a row added since the last read
    wb.save(book)
    make_photo(tmp_path / "m4.jpg", seed=4)
    before = book.read_bytes()

    assert main(["verify", str(book)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("row 3 (m1.jpg): the photo changed after it was read on 20")
    assert lines[1].startswith("row 4 (m2.jpg): the photo is gone (File not found: ")
    assert lines[2] == "row 6 (m4.jpg): not read yet"
    assert lines[3] == "5 rows: 3 need a look"
    assert len(aigen_env.calls) == paid and book.read_bytes() == before  # nothing sent, nothing written


def test_verify_by_another_engine_lists_readings_it_did_not_make(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photo(tmp_path / "m.jpg")
    book = photo_book(tmp_path / "bill.xlsx", [["m.jpg"]])
    assert main(["read", str(book)]) == 0
    capsys.readouterr()
    assert main(["verify", str(book), "--engine", "local"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "row 2 (m.jpg): read by aigen-v2, not by local"


def test_verify_sees_paths_as_the_person_does_under_a_title(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    from .xlsxbooks import xlsxwriter_book

    make_photo(tmp_path / "m1.jpg")

    def cells(wb, ws) -> None:  # type: ignore[no-untyped-def]
        ws.write("A1", "Water meters, March")
        ws.write_formula("A4", '=HYPERLINK("m1.jpg","meter 1")', None, "meter 1")
        ws.write_string("A5", "https://example.com/m2.jpg")

    book = xlsxwriter_book(tmp_path / "bill.xlsx", [], header=("Image",), header_row=3, setup=cells)
    assert main(["read", str(book)]) == 0
    capsys.readouterr()
    assert main(["verify", str(book)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["row 5 (https://example.com/m2.jpg): the photo is gone (Web addresses are not "
                     "supported: save the photo to a folder and put its path here)", "2 rows: 1 needs a look"]


def test_verify_catches_photos_swapped_between_rows_and_accepts_a_correction(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fake_aigen import Reply

    for i, value in enumerate(("00100.000", "00200.000", "00300.000")):
        aigen_env.on(make_photo(tmp_path / f"m{i}.jpg", seed=i), Reply.success(value=value, confidence=0.9, angle=1.0))
    book = photo_book(tmp_path / "bill.xlsx", [[f"m{i}.jpg"] for i in range(3)],
                      header=("Image", None, None, None, None, "Corrected"))
    assert main(["read", str(book)]) == 0
    capsys.readouterr()
    wb = openpyxl.load_workbook(book)
    ws = wb["Photos"]
    ws["A2"], ws["A3"] = "m1.jpg", "m0.jpg"  # the photos of rows 2 and 3 swapped, readings left
    ws["B4"] = 333  # a number typed over a reading
    wb.save(book)

    assert main(["verify", str(book)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == ("row 2 (m1.jpg): the row shows 100, not its photo's reading 00200.000: photos swapped "
                        "between rows, or a number typed over the reading (type a correction in Corrected)")
    assert lines[1].startswith("row 3 (m0.jpg): the row shows 200, not its photo's reading 00100.000")
    assert lines[2].startswith("row 4 (m2.jpg): the row shows 333, not its photo's reading 00300.000")
    assert lines[3] == "3 rows: 3 need a look"

    wb = openpyxl.load_workbook(book)
    wb["Photos"]["F4"] = 333  # the person stands by 333: a correction, in its place
    wb.save(book)
    assert main(["verify", str(book)]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1] == "3 rows: 2 need a look"
