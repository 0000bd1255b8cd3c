"""The ribbon's buttons as a user clicks them in (fake) Excel, against the fake service."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.excel import meterread as udfs
from xlwings_meter.excel import ribbon
from xlwings_meter.workbook.cache import CACHE_SHEET

from .backends import ExcelBackend


@pytest.fixture
def excel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ExcelBackend:
    monkeypatch.setattr("xlwings_meter.excel.session.AFTER_CALCULATION_POLL", 0.01)
    return ExcelBackend(tmp_path, monkeypatch)


def _book(excel: ExcelBackend, folder: Path, n: int, **kwargs: object) -> None:
    rows = [[make_photo(folder / f"m{i}.jpg", seed=i, size=(64, 48)).name, None, None, None, None, f"flat {i}"]
            for i in range(n)]
    excel.create(rows, header=("Image", None, None, None, None, "Flat"), **kwargs)  # type: ignore[arg-type]


def _alert(excel: ExcelBackend) -> str:
    (text, title), = excel.excel.alerts
    assert title == "Meter" and "Traceback" not in text
    excel.excel.alerts.clear()
    return text


def test_read_meters_fills_the_sheet_shows_progress_and_says_what_it_cost(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    _book(excel, tmp_path, 3)
    aigen_env.on(tmp_path / "m1.jpg", Reply.no_detection())
    ribbon.read_meters()
    assert _alert(excel) == ("3 rows: 2 read, 1 no reading.\n"
                             "3 photos sent to the service, 0 answered from the cache.")
    rows = excel.rows()
    assert [r[1] for r in rows[1:]] == [3245.01, None, 3245.01]
    assert [r[5] for r in rows] == ["Flat", "flat 0", "flat 1", "flat 2"]  # the user's column
    assert "Reading meters: 3 of 3 photos" in excel.excel.status_bar_history
    assert excel.excel.status_bar_history[-1] is False  # handed back to Excel

    ribbon.read_meters()
    assert "0 photos sent to the service, 3 answered from the cache" in _alert(excel)
    assert len(aigen_env.calls) == 3


def test_the_button_and_meterread_share_one_cache(excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen) -> None:
    _book(excel, tmp_path, 2)
    assert udfs.METERREAD("m0.jpg") == 3245.01
    ribbon.read_meters()
    assert "1 photo sent to the service, 1 answered from the cache" in _alert(excel)
    assert len(aigen_env.calls) == 2 and len(excel.rows(CACHE_SHEET)) == 3


def test_selected_rows_are_read_and_reread_ignores_the_cache_for_them_only(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    _book(excel, tmp_path, 5)
    excel.excel.select(excel.fullname, "$B$3:$C$4")
    ribbon.read_meters()
    assert [r[1] for r in excel.rows()[1:]] == [None, 3245.01, 3245.01, None, None]
    _alert(excel)

    aigen_env.default = Reply.success("99.5")
    excel.excel.select(excel.fullname, "$A$4")
    ribbon.reread_selection()
    assert "1 photo sent" in _alert(excel)
    assert [r[1] for r in excel.rows()[1:]] == [None, 3245.01, 99.5, None, None]
    assert len(aigen_env.calls) == 3

    excel.excel.select(excel.fullname, "$A$1")
    ribbon.reread_selection()
    assert _alert(excel) == "Select the rows to read again (row 1 holds the headers)."
    assert len(aigen_env.calls) == 3


def test_foreign_data_is_refused_in_a_message_box(excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen) -> None:
    make_photo(tmp_path / "m.jpg")
    excel.create([["m.jpg", 120.0]], header=("Image", "Amount"))
    ribbon.read_meters()
    assert "headed 'Amount'" in _alert(excel)
    assert aigen_env.calls == [] and excel.rows()[1] == ["m.jpg", 120.0]


def test_a_sheet_without_an_image_column_gets_excel_words_not_command_line_ones(
    excel: ExcelBackend, aigen_env: FakeAigen
) -> None:
    excel.create([["x"]], header=("Photo",))
    ribbon.read_meters()
    text = _alert(excel)
    assert "Put the header Image just above the photo paths" in text and "--column" not in text


def test_no_key_is_a_message_that_says_where_to_put_it(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch
) -> None:
    _book(excel, tmp_path, 1)
    monkeypatch.delenv("AIGEN_API_KEY")
    ribbon.read_meters()
    text = _alert(excel)
    assert "AIGEN_API_KEY" in text and "Settings/Help" in text and aigen_env.calls == []


def test_a_refused_key_stops_and_keeps_what_was_read(excel: ExcelBackend, tmp_path: Path,
                                                     aigen_env: FakeAigen) -> None:
    _book(excel, tmp_path, 3)
    aigen_env.queue(Reply.success("5.5"))
    aigen_env.default = Reply.error(401)
    ribbon.read_meters()
    text = _alert(excel)
    assert "Stopped: The AIGEN service refused the API key" in text and aigen_env.valid_key not in text
    assert excel.rows(CACHE_SHEET)[1][2] == "5.5"


def test_a_bug_is_a_message_not_a_traceback(excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _book(excel, tmp_path, 1)

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(ribbon, "read_sheet", broken)
    ribbon.read_meters()
    assert _alert(excel).startswith("Something went wrong inside xlwings-meter (KeyError)")


def test_settings_show_where_the_key_comes_from_never_the_key(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    _book(excel, tmp_path, 2, extra_sheets={"xlwings.conf": [["METER_CACHE_ONLY", "TRUE"],
                                                             ["AIGEN_API_KEY", "key-in-the-workbook"]]})
    ribbon.show_settings()
    text = _alert(excel)
    assert "API key: found in the environment variable AIGEN_API_KEY" in text
    assert f"Service address: {aigen_env.url}" in text
    assert "Cache only: YES" in text and "Cache: 0 photos already read" in text
    assert "sets AIGEN_API_KEY (row 2). It was ignored" in text
    assert aigen_env.valid_key not in text and "key-in-the-workbook" not in text

    ribbon.read_meters()  # cache only: nothing is sent
    assert "Cache only (METER_CACHE_ONLY on the xlwings.conf sheet): nothing was sent." in _alert(excel)
    assert aigen_env.calls == []


def test_row_spans_of_odd_selections() -> None:
    assert ribbon.row_spans("$A$2:$A$5,$A$3:$A$9,$C$11") == [(2, 9), (11, 11)]
    assert ribbon.row_spans("Sheet1!$B$7") == [(7, 7)]
    assert ribbon.row_spans("$A:$B") == [(1, 1_048_576)]


def test_the_status_bar_is_updated_at_most_twice_a_second() -> None:
    class App:
        status_bar: object = None
        updates = 0

        def __setattr__(self, name: str, value: object) -> None:
            type(self).updates += 1

    now = [0.0]
    bar = ribbon.StatusBar(App(), every=0.5, clock=lambda: now[0])
    for done in range(1, 101):
        now[0] += 0.01
        bar(done, 100)
    assert App.updates == 3  # at 0.01 s, at 0.51 s, and the last one
