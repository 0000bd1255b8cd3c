"""The rules of a run on a real sheet, the same through a file and through Excel: a person's
edits win, everything that could stop the run is checked before paying, outcomes belong to
their engine, and photo paths are what the person sees."""

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
from xlwings_meter.errors import MergedCellsError, NoHeaderError, NoRoomError
from xlwings_meter.reading import NO_READING_MESSAGE, Reading, ReadingStatus
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.job import read_sheet

from .xlsxbooks import xlsxwriter_book

WEB = "Web addresses are not supported: save the photo to a folder"


def _photos(folder: Path, n: int) -> list[list[object]]:
    return [[make_photo(folder / f"m{i}.jpg", seed=i).name] for i in range(n)]


def test_a_persons_edits_win_even_over_a_refresh_and_the_run_lists_those_rows(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    engine = AigenEngine(fast_settings)
    rows = _photos(tmp_path, 3)
    book = backend.create([rows[0], rows[1], ["gone.jpg"]])
    read_sheet(book, engine)
    book = backend.reopen()
    sheet = book.sheet(SHEET)
    sheet.write_block(2, 2, [[3250.5]])  # Ann corrects the reading of row 2
    sheet.write_block(4, 5, [["checked by Ann, photo blurry"]])  # and notes why row 4 has none
    sheet.write_block(5, 1, [rows[2]])  # a new photo
    calls = len(aigen_server.calls)

    result = read_sheet(book, engine, refresh=True)
    got = backend.rows()
    assert got[1][1] == 3250.5 and got[1][2] is not None  # her number, not the reading
    assert got[3][4] == "checked by Ann, photo blurry"
    assert got[2][1] == 3245.01 and got[4][1] == 3245.01  # the others are (re)read
    assert result.kept == [2, 4]
    assert len(aigen_server.calls) == calls + 2  # row 2's photo is not paid for again


def test_the_command_line_says_which_rows_it_left_alone(tmp_path: Path, aigen_env: FakeAigen,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    book = xlsxwriter_book(tmp_path / "book.xlsx", _photos(tmp_path, 3))
    assert main(["read", str(book)]) == 0
    wb = openpyxl.load_workbook(book)
    wb["Photos"]["B3"] = 100.0
    wb["Photos"]["E4"] = "Ann: meter replaced"
    wb.save(book)
    capsys.readouterr()
    assert main(["read", str(book)]) == 0
    err = capsys.readouterr().err
    assert "left alone: rows 3-4, whose results were changed by hand" in err
    ws = openpyxl.load_workbook(book)["Photos"]
    assert (ws["B3"].value, ws["E4"].value) == (100.0, "Ann: meter replaced")


def test_a_shorter_list_takes_its_old_results_with_it(backend, tmp_path: Path, aigen_server: FakeAigen,  # type: ignore[no-untyped-def]
                                                     fast_settings: ClientSettings) -> None:
    book = backend.create(_photos(tmp_path, 6))
    read_sheet(book, AigenEngine(fast_settings))
    book = backend.reopen()
    book.sheet(SHEET).write_block(4, 1, [[None]] * 4)  # the list is now two photos long
    result = read_sheet(book, AigenEngine(fast_settings))
    got = backend.rows()
    assert [row[1] for row in got[1:3]] == [3245.01, 3245.01]
    assert all(v in (None, "") for row in got[3:] for v in row[1:5])  # a SUM of B counts two
    assert len(result.readings) == 2 and result.kept == []


def test_a_note_below_a_shorter_list_stays_but_the_reading_beside_it_goes(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    book = backend.create(_photos(tmp_path, 4))
    read_sheet(book, AigenEngine(fast_settings))
    book = backend.reopen()
    book.sheet(SHEET).write_block(4, 5, [["meter replaced in May"]])  # Ann's note beside a reading
    book.sheet(SHEET).write_block(4, 1, [[None]] * 2)  # then the list is two photos long
    result = read_sheet(book, AigenEngine(fast_settings))
    got = backend.rows()
    assert got[3][1:5] in ([None, None, None, "meter replaced in May"], ["", "", "", "meter replaced in May"])
    assert all(v in (None, "") for row in got[4:] for v in row[1:5])  # a SUM of B counts two
    assert result.kept == [4]


@pytest.mark.parametrize("kind", ["sum", "table"])
def test_a_total_row_under_the_list_ends_it_and_is_left_alone(tmp_path: Path, aigen_env: FakeAigen,
                                                              kind: str) -> None:
    rows = _photos(tmp_path, 2)

    def total(wb, ws) -> None:  # type: ignore[no-untyped-def]
        if kind == "sum":
            ws.write("A4", "Total")
            ws.write_formula("B4", "=SUM(B2:B3)", None, 0)
        else:
            ws.add_table("A1:E4", {"total_row": True, "data": rows, "columns": [
                {"header": "Image", "total_string": "Total"}, {"header": "Value", "total_function": "sum"},
                {"header": "Confidence"}, {"header": "Angle"}, {"header": "Status"}]})
        ws.write("A6", "checked by Ann")

    book = xlsxwriter_book(tmp_path / "book.xlsx", rows, header=("Image", "Value", "Confidence", "Angle", "Status"),
                           setup=total)
    assert main(["read", str(book)]) == 0
    ws = openpyxl.load_workbook(book)["Photos"]
    assert [ws["B2"].value, ws["B3"].value] == [3245.01, 3245.01] and len(aigen_env.calls) == 2
    assert ws["A4"].value == "Total" and str(ws["B4"].value).startswith(("=SUM(B2:B3)", "=SUBTOTAL(109,"))
    assert ws["E4"].value is None and ws["A6"].value == "checked by Ann" and ws["E6"].value is None


def test_a_total_row_ends_the_list_in_either_backend(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    book = backend.create([*_photos(tmp_path, 2), ["Total", "=SUM(B2:B3)"]])
    result = read_sheet(book, AigenEngine(fast_settings))
    got = backend.rows()
    assert len(result.readings) == 2 and [got[1][1], got[2][1]] == [3245.01, 3245.01]
    assert book.sheet(SHEET).read_block(4, 1, 4, 5)[0] in (["Total", "=SUM(B2:B3)", None, None, None],
                                                          ["Total", "=SUM(B2:B3)", "", "", ""])


def test_merged_cells_in_the_result_columns_are_refused_before_paying(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    book = backend.create(_photos(tmp_path, 3))
    if backend.name == "file":
        wb = openpyxl.load_workbook(backend.path)
        wb[SHEET].merge_cells("C3:D3")
        wb.save(backend.path)
        book = backend.reopen(save=False)
    else:
        backend.excel.sheet_state(backend.fullname, SHEET).merged.append((3, 3, 3, 4))
    with pytest.raises(MergedCellsError, match="has merged cells in .*unmerge them") as caught:
        read_sheet(book, AigenEngine(fast_settings))
    # A file names the merged area; Excel is asked once about the whole of the result columns.
    assert (caught.value.sheet, caught.value.area) == (SHEET, "C3:D3" if backend.name == "file" else "B1:E4")
    assert aigen_server.calls == []


def test_a_protected_sheet_is_refused_before_paying(tmp_path: Path, aigen_env: FakeAigen,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    book = xlsxwriter_book(tmp_path / "book.xlsx", _photos(tmp_path, 2), setup=lambda wb, ws: ws.protect())
    before = book.read_bytes()
    assert main(["read", str(book)]) == 1
    assert "sheet 'Photos' is protected, so B1:E3 cannot be written" in capsys.readouterr().err
    assert aigen_env.calls == [] and book.read_bytes() == before


def test_a_workbook_open_in_excel_is_refused_and_a_copy_can_be_written(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    book = xlsxwriter_book(tmp_path / "book.xlsx", _photos(tmp_path, 1))
    (tmp_path / "~$book.xlsx").write_bytes(b"\x0bAnn Smith" + bytes(150))  # Excel's lock file
    before = book.read_bytes()
    assert main(["read", str(book)]) == 1
    err = capsys.readouterr().err
    assert "book.xlsx is open in Excel (~$book.xlsx is beside it): close it in Excel first, or " \
           "write the readings into a copy with --output" in err
    assert aigen_env.calls == [] and book.read_bytes() == before
    assert main(["read", str(book), "--output", str(tmp_path / "copy.xlsx")]) == 0
    assert openpyxl.load_workbook(tmp_path / "copy.xlsx")["Photos"]["B2"].value == 3245.01


def test_an_empty_column_is_refused_and_nothing_is_written_beside_it(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    book = xlsxwriter_book(tmp_path / "book.xlsx", _photos(tmp_path, 1))
    before = book.read_bytes()
    assert main(["read", str(book), "--column", "Z"]) == 1
    assert "column Z of sheet 'Photos' is empty" in capsys.readouterr().err
    assert book.read_bytes() == before  # nothing in AA1:AD1


def test_a_column_without_a_header_is_refused_before_paying(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    import xlsxwriter

    rows = _photos(tmp_path, 3)
    book = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(book))
    ws = wb.add_worksheet("Photos")
    for i, (name,) in enumerate(rows):  # paths from A1: no header
        ws.write(i, 0, str(tmp_path / str(name)))
    wb.close()
    before = book.read_bytes()
    assert main(["read", str(book), "--column", "A"]) == 1
    err = capsys.readouterr().err
    assert "column A of sheet 'Photos' has no header: A1 is already a photo path" in err
    assert "insert a row above it" in err
    assert book.read_bytes() == before and aigen_env.calls == []


def test_a_column_without_a_header_is_refused_in_either_backend(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    book = backend.create(_photos(tmp_path, 2), header=(None,))
    with pytest.raises(NoHeaderError) as caught:
        read_sheet(book, AigenEngine(fast_settings), column="A")
    assert caught.value.row == 2 and aigen_server.calls == []
    assert backend.rows()[1][1:] in ([], [None] * len(backend.rows()[1][1:]))


def test_results_that_would_run_past_excels_last_column_are_refused_before_paying(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    import xlsxwriter

    make_photo(tmp_path / "m0.jpg")
    book = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(book))
    ws = wb.add_worksheet("Photos")
    ws.write(0, 16381, "Image")  # XFB: the results would take XFC:XFF
    ws.write(1, 16381, "m0.jpg")
    wb.close()
    before = book.read_bytes()
    assert main(["read", str(book), "--column", "XFB"]) == 1
    err = capsys.readouterr().err
    assert "no room for the results" in err and "XFC:XFF" in err and "past Excel's last column XFD" in err
    assert book.read_bytes() == before and aigen_env.calls == []


def test_no_room_past_the_last_column_in_either_backend(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    make_photo(tmp_path / "m0.jpg")
    book = backend.create([[None] * 16382 + ["m0.jpg"]], header=(None,) * 16382 + ("Image",))  # in XFC
    with pytest.raises(NoRoomError):
        read_sheet(book, AigenEngine(fast_settings))
    assert aigen_server.calls == []


def test_the_header_is_found_under_a_title(tmp_path: Path, aigen_env: FakeAigen) -> None:
    def title(wb, ws) -> None:  # type: ignore[no-untyped-def]
        ws.merge_range("A1:E1", "Water meters, March", wb.add_format({"bold": True, "font_size": 16}))

    rows = _photos(tmp_path, 2)
    book = xlsxwriter_book(tmp_path / "book.xlsx", rows, header=("Photo",), header_row=3, setup=title)
    assert main(["read", str(book), "--column", "A"]) == 0
    ws = openpyxl.load_workbook(book)["Photos"]
    assert ws["A1"].value == "Water meters, March" and ws["B1"].value is None
    assert [c.value for c in ws[3]][:5] == ["Photo", "Value", "Confidence", "Angle", "Status"]
    assert ws["B4"].value == 3245.01 and ws["B5"].value == 3245.01 and len(aigen_env.calls) == 2
    assert main(["read", str(book), "--column", "photo"]) == 0  # by its name too, from the cache
    assert len(aigen_env.calls) == 2


def test_one_engines_outcome_is_not_served_to_another(tmp_path: Path, aigen_env: FakeAigen) -> None:
    from xlwings_meter.photos import file_digest

    book = xlsxwriter_book(tmp_path / "book.xlsx", _photos(tmp_path, 1))
    with FileBook(book) as fb:  # the offline engine found no digits in this photo earlier
        cache = ReadingCache(fb.hidden_sheet(CACHE_SHEET))
        cache.record(CacheEntry(file_digest(tmp_path / "m0.jpg"), "m0.jpg",
                                Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE), "t", "local"))
        cache.flush()
        fb.save()
    assert main(["read", str(book)]) == 0
    assert openpyxl.load_workbook(book)["Photos"]["B2"].value == 3245.01 and len(aigen_env.calls) == 1
    assert main(["read", str(book)]) == 0 and len(aigen_env.calls) == 1  # now AIGEN's own, cached


def test_a_refresh_that_fails_keeps_the_previous_reading_and_says_so(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    book = xlsxwriter_book(tmp_path / "book.xlsx", _photos(tmp_path, 2))
    assert main(["read", str(book)]) == 0
    aigen_env.default = Reply.error(404)
    capsys.readouterr()
    assert main(["read", str(book), "--refresh"]) == 0
    assert "2 photos could not be read again; the previous reading is kept" in capsys.readouterr().err
    ws = openpyxl.load_workbook(book)["Photos"]
    assert (ws["B2"].value, ws["B3"].value, ws["E2"].value) == (3245.01, 3245.01, None)


def test_paths_are_what_the_person_sees_formulas_and_links(tmp_path: Path, aigen_env: FakeAigen) -> None:
    for i in range(3):
        make_photo(tmp_path / "photos" / f"m{i}.jpg", seed=i)

    def cells(wb, ws) -> None:  # type: ignore[no-untyped-def]
        ws.write("G1", f"{tmp_path}/photos/")
        ws.write_formula("A2", '=$G$1&"m0.jpg"', None, f"{tmp_path}/photos/m0.jpg")
        ws.write_formula("A3", '=HYPERLINK("photos/m1.jpg","meter 1")', None, "meter 1")
        ws.write_url("A4", "external:photos/m2.jpg", string="meter 2")  # Insert > Link
        ws.write_string("A5", "https://example.com/m3.jpg")
        ws.write_url("A6", "https://example.com/m4.jpg", string="meter 4")

    book = xlsxwriter_book(tmp_path / "book.xlsx", [], setup=cells)
    assert main(["read", str(book)]) == 0
    ws = openpyxl.load_workbook(book)["Photos"]
    assert [ws[f"B{r}"].value for r in (2, 3, 4)] == [3245.01] * 3 and len(aigen_env.calls) == 3
    assert ws["E5"].value.startswith(WEB) and ws["E6"].value.startswith(WEB)


def test_cells_that_cannot_name_a_photo_say_what_they_are(tmp_path: Path, aigen_env: FakeAigen) -> None:
    def cells(wb, ws) -> None:  # type: ignore[no-untyped-def]
        ws.write_formula("A2", "=1/0", None, "#DIV/0!")
        ws.write_url("A3", "mailto:ann@example.com", string="Ann")
        ws.write_url("A4", "internal:Photos!G1", string="see G1")
        ws.write_formula("A5", '=HYPERLINK("#Photos!G1","see G1")', None, "see G1")

    book = xlsxwriter_book(tmp_path / "book.xlsx", [], setup=cells)
    assert main(["read", str(book)]) == 0
    ws = openpyxl.load_workbook(book)["Photos"]
    status = [ws[f"E{r}"].value for r in range(2, 6)]
    assert status[0].startswith("The cell shows an error (#DIV/0!), not a photo path")
    assert status[1].startswith("This is an e-mail address (ann@example.com), not a photo path")
    assert all(s.startswith("This links to a place in the workbook (Photos!G1)") for s in status[2:])
    assert not any("File not found" in s for s in status) and aigen_env.calls == []


def test_hyperlink_formulas_and_web_addresses_in_either_backend(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    make_photo(tmp_path / "m1.jpg")
    book = backend.create([['=HYPERLINK("m1.jpg","meter 1")'], ["http://example.com/m.jpg"]])
    result = read_sheet(book, AigenEngine(fast_settings))
    assert result.readings[0].status is ReadingStatus.READ
    assert result.readings[1].message.startswith(WEB) and len(aigen_server.calls) == 1


def test_links_put_on_photo_cells_in_either_backend(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    make_photo(tmp_path / "m1.jpg")
    links = {2: "m1.jpg", 3: "https://example.com/m2.jpg"}  # Insert > Link on "meter 1", "meter 2"
    book = backend.create([["meter 1"], ["meter 2"], ["m1.jpg"]])
    if backend.name == "file":
        wb = openpyxl.load_workbook(backend.path)
        for row, target in links.items():
            wb[SHEET].cell(row, 1).hyperlink = target
        wb.save(backend.path)
        book = backend.reopen(save=False)
    else:
        backend.excel.sheet_state(backend.fullname, SHEET).links.update({(r, 1): t for r, t in links.items()})
    result = read_sheet(book, AigenEngine(fast_settings))
    assert result.readings[0].status is ReadingStatus.READ and result.readings[2].status is ReadingStatus.READ
    assert result.readings[1].message.startswith(WEB)
    assert len(aigen_server.calls) == 1  # one photo content, read once


def test_the_result_columns_fit_what_they_hold_under_headers_like_the_users(backend, tmp_path: Path, aigen_server: FakeAigen,  # type: ignore[no-untyped-def]
                                               fast_settings: ClientSettings) -> None:
    book = backend.create(_photos(tmp_path, 1) + [["a photo that is not there.jpg"]])
    if backend.name == "excel":  # the user's header: bold on light blue
        state = backend.excel.sheet_state(backend.fullname, SHEET)
        state.fills[(1, 1)] = (221, 235, 247)
        state.bold.add((1, 1))
    read_sheet(book, AigenEngine(fast_settings))
    if backend.name == "excel":
        assert state.autofitted == {2, 3, 4, 5}
        assert all(state.fills[(1, c)] == (221, 235, 247) and (1, c) in state.bold for c in (2, 3, 4, 5))
    else:
        backend.reopen()
        ws = openpyxl.load_workbook(backend.path)[SHEET]
        status = ws["E3"].value
        assert ws.column_dimensions["E"].width >= min(len(status), 60)
        assert ws.column_dimensions["B"].width >= len("Value") + 2


@pytest.mark.parametrize("writer", ["openpyxl", "xlsxwriter"])
def test_a_formula_no_program_computed_says_how_to_get_its_value(tmp_path: Path, aigen_env: FakeAigen,
                                                                 writer: str) -> None:
    from .workbooks import photo_book

    make_photo(tmp_path / "m0.jpg")
    if writer == "openpyxl":  # saves no value with a formula
        book = photo_book(tmp_path / "book.xlsx", [['=G1&"m0.jpg"']])
    else:  # saves <v>0</v>, for Excel to replace when it recalculates on opening (fullCalcOnLoad)
        book = xlsxwriter_book(tmp_path / "book.xlsx", [],
                               setup=lambda wb, ws: ws.write_formula("A2", '=G1&"m0.jpg"'))
    assert main(["read", str(book)]) == 0
    status = openpyxl.load_workbook(book)["Photos"]["E2"].value
    assert status.startswith("This formula has not been computed yet: open the workbook in Excel")
    assert aigen_env.calls == []


def test_the_button_says_which_rows_it_left_alone(backend, tmp_path: Path, aigen_server: FakeAigen,  # type: ignore[no-untyped-def]
                                                 fast_settings: ClientSettings) -> None:
    from xlwings_meter.excel.ribbon import summary

    book = backend.create(_photos(tmp_path, 2))
    read_sheet(book, AigenEngine(fast_settings))
    book = backend.reopen()
    book.sheet(SHEET).write_block(3, 5, [["Ann: leaking"]])
    aigen_server.default = Reply.error(404)
    result = read_sheet(book, AigenEngine(fast_settings), refresh=True)
    text = summary([result], cache_only=False)
    assert "Left alone (changed by hand, your edits win): row 3." in text
    assert "1 photo could not be read again: the previous reading is kept." in text
