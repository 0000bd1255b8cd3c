"""A person's notes and text in the result columns are theirs: kept, listed, never taken for the
tool's output because of how they begin or what kind of value they are."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.backends import SHEET
from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.engines.aigen.client import AigenEngine
from xlwings_meter.engines.aigen.config import ClientSettings
from xlwings_meter.workbook.job import read_sheet

from .xlsxbooks import xlsxwriter_book


def test_a_note_that_begins_like_a_message_is_kept_and_a_message_the_tool_wrote_is_not(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    engine = AigenEngine(fast_settings)
    make_photo(tmp_path / "m0.jpg")
    book = backend.create([["m0.jpg"], ["gone.jpg"], ["lost.jpg"]])
    read_sheet(book, engine)
    book = backend.reopen()
    assert backend.rows()[2][4].startswith("File not found: ")  # the tool's own message
    sheet = book.sheet(SHEET)
    sheet.write_block(4, 5, [["File not found, asked tenant"]])  # Ann's notes
    sheet.write_block(5, 1, [["m2.jpg", None, None, None, "Not read by Ann: meter hidden"]])
    make_photo(tmp_path / "gone.jpg", seed=1)  # the missing photo turned up
    make_photo(tmp_path / "m2.jpg", seed=2)

    result = read_sheet(book, engine)
    got = backend.rows()
    assert got[2][1] == 3245.01 and got[2][4] in (None, "")  # the tool's message gave way
    assert got[3][4] == "File not found, asked tenant"
    assert got[4][1:5] == [None, None, None, "Not read by Ann: meter hidden"]
    assert result.kept == [4, 5]
    assert len(aigen_server.calls) == 2  # m2.jpg, which Ann says not to read, was not sent


def test_a_note_below_a_shortened_list_is_kept(tmp_path: Path, aigen_env: FakeAigen,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    make_photo(tmp_path / "m0.jpg")
    book = xlsxwriter_book(tmp_path / "book.xlsx", [["m0.jpg"], ["gone.jpg"], ["m0.jpg"]])
    assert main(["read", str(book)]) == 0
    wb = openpyxl.load_workbook(book)
    ws = wb["Photos"]
    ws["A3"], ws["A4"] = None, None  # the list is one photo now
    ws["E3"] = "File not found, asked tenant"  # Ann's note over the tool's message
    wb.save(book)
    capsys.readouterr()

    assert main(["read", str(book)]) == 0
    assert "left alone: row 3, whose results were changed by hand" in capsys.readouterr().err
    ws = openpyxl.load_workbook(book)["Photos"]
    assert ws["E3"].value == "File not found, asked tenant"
    assert [ws[f"{c}4"].value for c in "BCDE"] == [None] * 4  # the tool's old reading went with the list


def test_text_typed_into_value_confidence_or_angle_is_kept_and_listed(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    engine = AigenEngine(fast_settings)
    book = backend.create([[make_photo(tmp_path / f"m{i}.jpg", seed=i).name] for i in range(3)])
    read_sheet(book, engine)
    book = backend.reopen()
    sheet = book.sheet(SHEET)
    sheet.write_block(2, 2, [["see photo"]])
    sheet.write_block(3, 3, [["n/a"]])

    result = read_sheet(book, engine, refresh=True)
    got = backend.rows()
    assert got[1][1] == "see photo" and got[2][2] == "n/a"
    assert result.kept == [2, 3] and got[3][1] == 3245.01
    assert len(aigen_server.calls) == 4  # only row 4's photo was read again


def test_a_note_typed_in_the_value_column_of_a_new_row_is_kept(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    make_photo(tmp_path / "m0.jpg")
    rows = [["m0.jpg"], ["m0.jpg", "meter hidden", None, "n/a"]]
    book = xlsxwriter_book(tmp_path / "book.xlsx", rows, header=("Image", "Value", "Confidence", "Angle", "Status"))
    assert main(["read", str(book)]) == 0
    assert "left alone: row 3, whose results were changed by hand" in capsys.readouterr().err
    ws = openpyxl.load_workbook(book)["Photos"]
    assert (ws["B2"].value, ws["B3"].value, ws["D3"].value) == (3245.01, "meter hidden", "n/a")


def test_a_reading_a_refresh_replaced_is_still_the_tools_on_another_sheet(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    engine = AigenEngine(fast_settings)
    photo = make_photo(tmp_path / "m0.jpg")
    aigen_server.on(photo, Reply.success("100.5", 0.8, 1.0), Reply.success("200.5", 0.85, 2.0))
    book = backend.create([["m0.jpg"]], extra_sheets={"Feb": [["Image"], ["m0.jpg"]]})
    read_sheet(book, engine)
    read_sheet(backend.reopen(), engine, sheet_name="Feb")
    read_sheet(backend.reopen(), engine, refresh=True)  # the first sheet's photo, read again
    book = backend.reopen()
    assert backend.rows("Feb")[1][1] == 100.5 and len(aigen_server.calls) == 2

    result = read_sheet(book, engine, sheet_name="Feb")  # shows the old reading the tool wrote
    assert result.kept == [] and backend.rows("Feb")[1][1] == 200.5
    assert len(aigen_server.calls) == 2  # from the cache


def test_the_tools_messages_are_still_its_own_after_the_sheet_is_renamed_or_copied(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    engine = AigenEngine(fast_settings)
    make_photo(tmp_path / "m0.jpg")
    backend.create([["m0.jpg"], ["gone.jpg"]])
    read_sheet(backend.book, engine)
    book = backend.rename_sheet(SHEET, "Q3 Meters", copy="Q4 Meters")
    for name in ("Q3 Meters", "Q4 Meters"):
        book.sheet(name).write_block(3, 1, [["m1.jpg"]])  # the right photo, typed over the wrong path
    make_photo(tmp_path / "m1.jpg", seed=1)

    for name in ("Q3 Meters", "Q4 Meters"):
        result = read_sheet(book, engine, sheet_name=name)
        got = backend.rows(name)[2]
        assert result.kept == [] and got[1] == 3245.01 and got[4] in (None, "")  # the message gave way
    assert len(aigen_server.calls) == 2  # m1 once, for both sheets


def test_a_number_format_a_person_gave_a_reading_stays_at_the_next_run(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    engine = AigenEngine(fast_settings)
    make_photo(tmp_path / "m0.jpg")
    book = backend.create([["m0.jpg"]])
    read_sheet(book, engine)
    book = backend.reopen()
    book.sheet(SHEET).write_block(2, 2, [[3245.01]], [["#,##0.0 \"m3\""]])  # Ann's format, same value
    read_sheet(backend.reopen(), engine)
    backend.reopen()
    if backend.name == "file":
        shown = openpyxl.load_workbook(backend.path)[SHEET]["B2"].number_format
    else:
        shown = backend.excel.open_books[backend.fullname].sheets[0].formats.get((2, 2))
    assert shown == '#,##0.0 "m3"' and backend.rows()[1][1] == 3245.01
