"""Previous readings, consumption, flags, highlight, corrections and the summary, in a workbook
file and in (fake) Excel: what an accountant sees after Read meters."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.engines.aigen.client import AigenEngine
from xlwings_meter.engines.aigen.config import ClientSettings
from xlwings_meter.photos import file_digest
from xlwings_meter.reading import NO_READING_MESSAGE, Reading, ReadingStatus
from xlwings_meter.reconcile import RULE_MARK, Limits
from xlwings_meter.workbook.cache import CACHE_SHEET, ReadingCache
from xlwings_meter.workbook.job import read_sheet
from xlwings_meter.workbook.reconciling import SUMMARY_TITLE

from .backends import SHEET, ExcelBackend, FileBackend, cached_bill
from .workbooks import photo_book

HEADER = ("Image", None, None, None, None, None, None, "Previous", "Corrected")
#: (value read, confidence, previous): a plain row, the meter going backwards, an unsure
#: reading, no reading, a leading drum lost.
ROWS = [("00935.781", 0.95, 900.5), ("00890.000", 0.97, 900), ("01000.000", 0.55, 990),
        (None, None, 500), ("00035.100", 0.96, 1234.5)]


def _book(backend: FileBackend | ExcelBackend, folder: Path) -> None:
    """Five photos, their readings already in the cache (nothing is sent: engine None)."""
    cached_bill(backend, folder, HEADER, [
        (previous, Reading(ReadingStatus.READ, value=value, confidence=confidence, angle=0.5) if value
         else Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE))
        for value, confidence, previous in ROWS])


def _rules(backend: FileBackend | ExcelBackend) -> list[str]:
    """The conditional-formatting formulas of the photo sheet, as Excel would list them."""
    if isinstance(backend, ExcelBackend):
        state = backend.excel.sheet_state(backend.fullname, SHEET)
        assert all(r.fill == 255 + 199 * 256 + 206 * 65536 and not r.stop_if_true for r in state.rules)
        return [r.formula.lstrip("=") for r in state.rules]
    backend.reopen()
    ws = openpyxl.load_workbook(backend.path)[SHEET]
    return [f for cf in ws.conditional_formatting for rule in cf.rules for f in rule.formula]


def _summary(rows: list[list[Any]]) -> dict[Any, Any]:
    (r, c), = [(r, c) for r, row in enumerate(rows) for c, v in enumerate(row) if v == SUMMARY_TITLE]
    found = {}
    for row in rows[r + 1:]:
        if c >= len(row) or row[c] is None:
            break
        found[row[c]] = row[c + 1]
    return found


def test_consumption_and_each_flag_follow_status_and_flagged_rows_are_highlighted(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    result = read_sheet(backend.book, None)
    rows = backend.rows()
    assert rows[0][:9] == ["Image", "Value", "Confidence", "Angle", "Status", "Consumption", "Check",
                           "Previous", "Corrected"]
    assert [round(r[5], 3) if r[5] is not None else None for r in rows[1:6]] == [35.281, -10, 10, None, -1199.4]
    assert [r[6] for r in rows[1:6]] == [
        None, "negative consumption (-10)", "confidence 55% under 80%", "no reading",
        "negative consumption (-1199.4); 2 digits, the previous reading has 4 (a lost or extra drum?)"]
    assert [r[7] for r in rows[1:6]] == [900.5, 900, 990, 500, 1234.5]  # the person's column, as typed
    rules = _rules(backend)
    assert len(rules) == 5 and all(RULE_MARK in f for f in rules)  # no limit: too few rows for a median
    assert any(f.startswith("AND(ISNUMBER($H2),ISNUMBER(IF(ISNUMBER($I2),$I2,$B2)),"
                            "NOT(AND(NOT(ISNUMBER($I2)),IFERROR(LEN($I2)>0,TRUE))),"
                            "IF(ISNUMBER($I2),$I2,$B2)-$H2<0)") for f in rules)
    assert result.summary is not None and result.summary.flagged == 4
    assert _summary(backend.rows()) == {
        "Rows": 5, "Read": 4, "No reading": 1, "Total consumption": -1164.119, "Flagged rows": 4,
        "Flagged: negative consumption": 2, "Flagged: low confidence": 1,
        "Flagged: digit count unlike the previous reading": 1, "Flagged: no reading": 1,
        "Photos paid for (this run)": 0, "Answered from the cache": 5}

    again = read_sheet(backend.reopen(), None, limits=Limits(max_consumption=20))
    assert again.summary is not None and again.summary.flags["consumption above the limit"] == 1  # 35.281
    rows = backend.rows()
    assert sum(v == SUMMARY_TITLE for row in rows for v in row) == 1  # updated, never duplicated
    assert len(_rules(backend)) == 6  # the fixed limit adds its rule; the old ones are replaced


def test_a_correction_wins_is_never_overwritten_and_is_kept_on_the_cache_sheet(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    read_sheet(backend.book, None)
    rows = backend.rows()
    book = backend.reopen()
    book.sheet(SHEET).write_block(6, 9, [[1235.1]])  # a person reads the photo of row 6: 1235.1
    book.sheet(SHEET).write_block(5, 9, [[501.25]])  # and the one the machine could not read
    read_sheet(book, None)
    rows = backend.rows()
    assert [r[8] for r in rows[1:6]] == [None, None, None, 501.25, 1235.1]  # as typed
    assert round(rows[5][5], 3) == 0.6 and rows[5][6] is None  # consumption from the correction
    assert round(rows[4][5], 3) == 1.25 and rows[4][6] is None and rows[4][1] is None
    entries = {e.path.rsplit("/", 1)[-1]: e for e in ReadingCache(backend.book.hidden_sheet(CACHE_SHEET)).entries()}
    user = "Ann Accountant" if isinstance(backend, ExcelBackend) else getpass.getuser()
    fixed = entries["m4.jpg"]
    assert (fixed.reading.value, fixed.corrected, fixed.corrected_by) == ("00035.100", "1235.1", user)
    assert fixed.corrected_at.startswith("20") and entries["m3.jpg"].corrected == "501.25"
    assert backend.rows(CACHE_SHEET)[0][14:17] == ["Corrected to", "Corrected by", "Corrected at (UTC)"]
    summary = _summary(rows)
    assert summary["Corrected by hand"] == 2 and "Flagged: no reading" not in summary

    read_sheet(backend.reopen(), None)  # a run that finds the same correction keeps its record
    again = {e.path.rsplit("/", 1)[-1]: e for e in ReadingCache(backend.book.hidden_sheet(CACHE_SHEET)).entries()}
    assert again["m4.jpg"] == fixed
    backend.book.sheet(SHEET).write_block(6, 9, [[None]])  # the person takes the correction back
    read_sheet(backend.book, None)
    assert backend.rows()[5][6].startswith("negative consumption (-1199.4)")
    taken = {e.path.rsplit("/", 1)[-1]: e for e in ReadingCache(backend.book.hidden_sheet(CACHE_SHEET)).entries()}
    assert (taken["m4.jpg"].corrected, taken["m4.jpg"].corrected_by, taken["m3.jpg"].corrected) == ("", "", "501.25")


def test_refresh_never_discards_a_correction(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg", None, None, None, None, None, None, 3000]], header=HEADER)
    engine = AigenEngine(fast_settings)
    read_sheet(backend.book, engine)
    book = backend.reopen()
    book.sheet(SHEET).write_block(2, 9, [[3246]])
    read_sheet(book, engine)
    read_sheet(backend.reopen(), engine, refresh=True)
    assert len(aigen_server.calls) == 2  # the refresh did read the photo again
    row = backend.rows()[1]
    assert (row[1], row[5], row[8]) == (3245.01, 246, 3246)
    (entry,) = ReadingCache(backend.reopen().hidden_sheet(CACHE_SHEET)).entries()
    assert entry.corrected == "3246" and entry.read_at > "2026"


def test_a_persons_note_in_check_and_cells_under_the_summary_are_never_overwritten(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    read_sheet(backend.book, None)
    rows = backend.rows()
    (r, c), = [(r, c) for r, row in enumerate(rows) for c, v in enumerate(row) if v == SUMMARY_TITLE]
    height = len(_summary(rows)) + 1
    book = backend.reopen()
    book.sheet(SHEET).write_block(3, 7, [["called the tenant: meter replaced"]])
    book.sheet(SHEET).write_block(r + 1 + height, c + 1, [["Ann's total"]])  # just below the block
    book.sheet(SHEET).write_block(2, 8, [[None]])  # row 2 loses its previous reading: a row less
    result = read_sheet(book, None)
    rows = backend.rows()
    assert rows[2][6] == "called the tenant: meter replaced" and 3 in result.kept
    assert rows[r + height][c] == "Ann's total" and not result.summary_blocked
    backend.reopen().sheet(SHEET).write_block(3, 7, [[None]])
    result = read_sheet(backend.book, None, limits=Limits(max_consumption=5))  # one flag kind more
    assert result.summary_blocked and backend.rows()[r + height][c] == "Ann's total"


def test_a_workbook_by_xlsxwriter_with_previous_readings_and_its_own_rule_through_the_command_line(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fake_aigen import Reply

    from .xlsxbooks import parts, xlsxwriter_book

    for i, value in enumerate(("01000.500", "00990.000", "01002.000")):
        aigen_env.on(make_photo(tmp_path / f"m{i}.jpg", seed=i), Reply.success(value=value, confidence=0.9, angle=1.0))

    def own_rule(wb, ws) -> None:  # type: ignore[no-untyped-def]
        ws.conditional_format("J2:J4", {"type": "cell", "criteria": ">", "value": 10,
                                        "format": wb.add_format({"bold": True})})

    book = xlsxwriter_book(tmp_path / "march.xlsx",
                           [["M1", 990.25, "m0.jpg"], ["M2", 999.5, "m1.jpg"], ["M3", 1001, "m2.jpg"]],
                           header=("Meter", "previous", "Image"), setup=own_rule)
    assert main(["read", str(book)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["Total consumption 1.75", "1 flagged: 1 negative consumption"]
    ws = openpyxl.load_workbook(book)["Photos"]
    assert [c.value for c in ws[1]][:9] == ["Meter", "previous", "Image", "Value", "Confidence", "Angle",
                                            "Status", "Consumption", "Check"]
    assert [ws.cell(r, 9).value for r in (2, 3, 4)] == [None, "negative consumption (-9.5)", None]
    assert ws.cell(3, 8).number_format == "#,##0.000"
    first = parts(book)
    rules = [(str(cf.sqref), f) for cf in ws.conditional_formatting for rule in cf.rules for f in rule.formula]
    assert rules[0] == ("J2:J4", "10") and len(rules) == 6  # the person's rule, then ours
    assert all(sqref == "C2:I4" for sqref, _ in rules[1:])

    assert main(["read", str(book), "--previous", "B", "--max-consumption", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[2] == ("2 flagged: 1 negative consumption, "
                                                       "1 consumption above the limit")
    ws = openpyxl.load_workbook(book)["Photos"]
    assert len([r for cf in ws.conditional_formatting for r in cf.rules]) == 7  # replaced, not added
    styles = parts(book)["xl/styles.xml"]
    assert styles.count(b"<dxf>") == first["xl/styles.xml"].count(b"<dxf>") == 2  # the person's and ours
    assert len(aigen_env.calls) == 3


def test_consumption_needs_its_two_columns_free_before_anything_is_paid(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    make_photo(tmp_path / "m.jpg")
    book = photo_book(tmp_path / "b.xlsx", [["m.jpg", None, None, None, None, 12]],
                      header=("Image", None, None, None, None, "Previous"))
    assert main(["read", str(book)]) == 1
    assert capsys.readouterr().err.strip() == (
        "xlwings-meter: error: column F of sheet 'Photos' is headed 'Previous', where Consumption and "
        "Check go (the two columns right of Status): move Previous right of them, or left of the photos")
    assert aigen_env.calls == []
    assert main(["read", str(book), "--previous", "Earlier"]) == 1
    assert "No column headed 'Earlier' in row 1 of sheet 'Photos'" in capsys.readouterr().err
    assert main(["read", str(book), "--previous", "C"]) == 1
    assert "--previous C: column C is the photo column or one of the six result columns" in capsys.readouterr().err
    assert aigen_env.calls == []


def test_a_cache_written_before_corrections_is_read_and_gains_the_audit_columns_past_other_records(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = make_photo(tmp_path / "m0.jpg", seed=0, size=(64, 48))
    old_header = ["Photo SHA-256", "Path last seen", "Value as read", "Number", "Confidence", "Angle",
                  "Digit boxes", "Status", "Read at (UTC)", "Engine"]
    old_row = [file_digest(photo), str(photo), "00935.781", 935.781, 0.9, 0.5, "[]", "read",
               "2026-10-01T08:00:00Z", "aigen-v2"]
    record = [["Sheet", "Status written by xlwings-meter"], ["March", "Not read"]]  # issue 9's, at L:M
    backend.create([["m0.jpg", None, None, None, None, None, None, 900, 936]], header=HEADER,
                   extra_sheets={CACHE_SHEET: [old_header + [None] + record[0], old_row + [None] + record[1]]})
    result = read_sheet(backend.book, None)
    assert result.from_cache == 1 and backend.rows()[1][1] == 935.781 and backend.rows()[1][5] == 36
    cache = backend.rows(CACHE_SHEET)  # columns L:M hold another record (the Status texts written)
    assert cache[0] == old_header + [None, *record[0], None, "Corrected to", "Corrected by", "Corrected at (UTC)",
                        "Readings it replaced"]
    assert cache[1][:10] == old_row and cache[1][11:13] == record[1] and cache[1][14] == "936"


def test_the_button_says_the_summary_in_its_message_box(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aigen_env: FakeAigen) -> None:
    from xlwings_meter.excel import ribbon

    monkeypatch.setattr("xlwings_meter.excel.session.AFTER_CALCULATION_POLL", 0.01)
    excel = ExcelBackend(tmp_path, monkeypatch)
    _book(excel, tmp_path)
    ribbon.read_meters()
    (text, title), = excel.excel.alerts
    assert text.splitlines() == [
        "5 rows: 4 read, 1 no reading.", "0 photos sent to the service, 5 answered from the cache.",
        "Total consumption -1164.119.",
        "4 flagged: 2 negative consumption, 1 low confidence, 1 digit count unlike the previous reading, "
        "1 no reading."]
    assert len(excel.excel.sheet_state(excel.fullname, SHEET).rules) == 5 and aigen_env.calls == []


def test_reconciling_in_excel_costs_the_same_calls_for_200_rows_as_for_5(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    costs = []
    for n in (5, 200):
        folder = tmp_path / str(n)
        folder.mkdir()
        excel = ExcelBackend(folder, monkeypatch)
        rows = [[make_photo(folder / f"m{i}.jpg", seed=i, size=(64, 48)).name] + [None] * 6 + [100 + i, None]
                for i in range(n)]
        book = excel.create(rows, header=HEADER)
        read_sheet(book, None)  # nothing in the cache: every row says so and is flagged "no reading"
        excel.excel.sheet_state(excel.fullname, SHEET).values[(5, 9)] = 555.0  # a correction typed by a person
        before = excel.excel.range_calls
        result = read_sheet(excel.book, None, review=False)  # the Review's pictures cost per row (test_review)
        costs.append(excel.excel.range_calls - before)
        assert result.summary is not None and result.summary.flags["no reading"] == n - 1
    assert costs[0] == costs[1], costs


def test_the_limits_come_from_the_workbooks_settings_and_the_command_line_overrides_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], aigen_env: FakeAigen) -> None:
    from xlwings_meter.excel import ribbon

    monkeypatch.setattr("xlwings_meter.excel.session.AFTER_CALCULATION_POLL", 0.01)
    excel = ExcelBackend(tmp_path, monkeypatch)
    _book(excel, tmp_path)
    conf = excel.excel.open_books[excel.fullname].sheets
    from .xlwings_fake import SheetState

    conf.append(SheetState("xlwings.conf", values={(1, 1): "METER_MAX_CONSUMPTION", (1, 2): 20,
                                                   (2, 1): "METER_MIN_CONFIDENCE", (2, 2): 0.5}))
    ribbon.read_meters()
    (text, _), = excel.excel.alerts
    assert text.splitlines()[3:4] == [("4 flagged: 2 negative consumption, 1 consumption above the limit, "
                                    "1 digit count unlike the previous reading, 1 no reading.")], text

    file = FileBackend(tmp_path / "f")
    (tmp_path / "f").mkdir()
    _book(file, tmp_path / "f")
    book = openpyxl.load_workbook(file.path)
    book.create_sheet("xlwings.conf").append(["METER_MAX_CONSUMPTION", 20])
    book.save(file.path)
    assert main(["read", str(file.path), "--cache-only", "--max-consumption", "40"]) == 0
    assert "consumption above the limit" not in capsys.readouterr().out
    assert main(["read", str(file.path), "--cache-only"]) == 0
    assert "1 consumption above the limit" in capsys.readouterr().out


def test_an_excel_that_refuses_a_rule_still_gets_consumption_check_and_summary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from . import xlwings_fake, xlwings_fake_rules

    def refuse(self, Type: int, Operator: Any = None, Formula1: str = "") -> Any:
        raise xlwings_fake.FakeComError(-2146827284, "Invalid procedure call or argument")

    excel = ExcelBackend(tmp_path, monkeypatch)
    _book(excel, tmp_path)
    monkeypatch.setattr(xlwings_fake_rules.FormatConditions, "Add", refuse)  # e.g. a German Excel
    result = read_sheet(excel.book, None)
    assert excel.excel.sheet_state(excel.fullname, SHEET).rules == []
    assert excel.rows()[2][6] == "negative consumption (-10)" and result.summary is not None
    assert _summary(excel.rows())["Flagged rows"] == 4


def test_a_persons_note_in_consumption_is_kept_and_its_row_reported_left_alone(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    read_sheet(backend.book, None)
    book = backend.reopen()
    book.sheet(SHEET).write_block(2, 6, [["estimated: meter hidden"]])
    result = read_sheet(book, None)
    rows = backend.rows()
    assert rows[1][5] == "estimated: meter hidden" and 2 in result.kept
    assert [round(r[5], 3) for r in rows[2:4]] == [-10, 10]  # the other rows as always


def test_the_total_adds_what_the_consumption_column_shows_rows_left_alone_as_their_cell_stands(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    read_sheet(backend.book, None)
    book = backend.reopen()
    book.sheet(SHEET).write_block(2, 6, [["estimated: meter hidden"]])  # text: left out of the total
    book.sheet(SHEET).write_block(4, 7, [["checked on site", 900]])  # a note, then Previous fixed
    result = read_sheet(book, None)
    rows = backend.rows()
    shown = [r[5] for r in rows[1:6]]
    assert shown[0] == "estimated: meter hidden" and round(shown[2], 3) == 10  # the old one, left alone
    total = sum(v for v in shown if isinstance(v, (int, float)))
    assert result.summary is not None and result.summary.consumption == round(total, 9) == -1199.4
    assert result.summary.lines()[0] == ("total consumption -1199.4 (2 rows left alone counted as their "
                                         "Consumption cell shows, 1 not a number left out)")
    block = _summary(rows)
    assert block["Total consumption (2 rows left alone, 1 not a number not counted)"] == -1199.4
