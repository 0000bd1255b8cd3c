"""=METERREAD as a user's cells see it, on a workbook file and in (fake) Excel, against the fake service."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.errors import ConfigError
from xlwings_meter.excel import meterread as udfs
from xlwings_meter.photos import file_digest
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.cache import CACHE_SHEET, HEADERS

from .backends import ExcelBackend


def test_each_field_of_the_documented_reading(backend, tmp_path: Path, aigen_env: FakeAigen) -> None:
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg"]])
    assert backend.meterread("m.jpg") == 3245.01
    assert backend.meterread("m.jpg", "Confidence") == pytest.approx(0.7603056856564113)
    assert backend.meterread("m.jpg", "angle") == pytest.approx(83.69637298583984)
    assert backend.meterread("m.jpg", "status") == "Read"
    assert backend.meterread("m.jpg", "all") == [[3245.01, pytest.approx(0.76030568), pytest.approx(83.696373)]]
    assert backend.meterread("m.jpg", None) == 3245.01  # an empty field cell means the value
    assert len(aigen_env.calls) == 1


def test_an_unknown_field_says_so_and_sends_nothing(backend, tmp_path: Path, aigen_env: FakeAigen) -> None:
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg"]])
    assert backend.meterread("m.jpg", "reading") == (
        "Unknown field 'reading': use value, confidence, angle, status, all")
    assert aigen_env.calls == []


def test_recalculation_and_fifty_cells_at_once_pay_for_one_request(
    backend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg"]])
    aigen_env.default = Reply.success("17.250").delayed(0.3)  # all fifty ask while it is in flight
    answers: list[object] = []
    start = threading.Barrier(50)

    def cell() -> None:
        start.wait()
        answers.append(backend.meterread("m.jpg"))

    backend.session()  # the workbook's first use, before the cells race
    threads = [threading.Thread(target=cell) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert answers == [17.25] * 50
    for _ in range(3):  # F9, F9, F9
        assert backend.meterread("m.jpg") == 17.25
    assert len(aigen_env.calls) == 1


def test_the_reading_reaches_the_cache_sheet_after_calculation_and_survives_reopening(
    backend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg"]])
    assert backend.meterread(str(tmp_path / "m.jpg")) == 3245.01
    backend.after_calculation()
    backend.reopen()
    if isinstance(backend, ExcelBackend):
        backend.new_process()
    assert backend.meterread("m.jpg") == 3245.01
    assert backend.rows(CACHE_SHEET)[1][2] == "3245.010"  # as read, zeros kept, as text
    assert len(aigen_env.calls) == 1


def test_in_excel_nothing_is_written_while_it_calculates_and_all_of_it_afterwards(
    tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ExcelBackend(tmp_path, monkeypatch)
    for i in range(3):
        make_photo(tmp_path / f"m{i}.jpg", seed=i)
    backend.create([[f"m{i}.jpg"] for i in range(3)])
    backend.excel.calculating = True
    assert [backend.meterread(f"m{i}.jpg") for i in range(3)] == [3245.01] * 3
    assert [op for op in backend.excel.calls if op.endswith("=")] == []  # not even tried
    session = backend.session()
    assert CACHE_SHEET not in backend.book.sheet_names() and session.later.pending
    assert not session.later.wait(0.2)  # still calculating: still waiting, nothing lost
    assert session.cache.pending == 3

    backend.after_calculation()
    cache_rows = backend.rows(CACHE_SHEET)
    assert len(cache_rows) == 4 and all(r[7] == "read" for r in cache_rows[1:])
    assert backend.excel.sheet_state(backend.fullname, CACHE_SHEET).visible is False
    assert backend.excel.open_books[backend.fullname].active == 0  # the user's sheet stays in front
    assert session.later.last_error is None


def test_closing_without_saving_does_not_mean_paying_again(
    tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ExcelBackend(tmp_path, monkeypatch)
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg"]])
    assert backend.meterread("m.jpg") == 3245.01
    backend.after_calculation()
    backend.reopen(save=False)  # the cache sheet's new row is gone with the unsaved changes
    backend.new_process()
    assert CACHE_SHEET not in backend.book.sheet_names()
    assert backend.meterread("m.jpg") == 3245.01  # from the journal beside the workbook
    assert len(aigen_env.calls) == 1


def test_cache_only_answers_from_the_cache_and_sends_nothing(
    backend, tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_photo(tmp_path / "known.jpg", seed=1)
    make_photo(tmp_path / "new.jpg", seed=2)
    backend.create([["known.jpg"]], extra_sheets={"xlwings.conf": [["METER_ENGINE", "aigen"]]})
    assert backend.meterread("known.jpg") == 3245.01
    backend.after_calculation()
    wb = backend.reopen()
    conf = wb.sheet("xlwings.conf")
    conf.write_block(2, 1, [["METER_CACHE_ONLY", True]])
    backend.reopen()
    if isinstance(backend, ExcelBackend):
        backend.new_process()
    monkeypatch.delenv("AIGEN_API_KEY")  # a colleague without a key
    assert backend.meterread("known.jpg") == 3245.01
    assert backend.meterread("new.jpg") == "Not read: cache only, and this photo is not in the cache"
    assert len(aigen_env.calls) == 1


def test_problems_show_as_short_texts(backend, tmp_path: Path, aigen_env: FakeAigen,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes.jpg").write_text("not a photo")
    make_photo(tmp_path / "blank.jpg", seed=3)
    make_photo(tmp_path / "m.jpg")
    backend.create([])
    key = aigen_env.valid_key
    monkeypatch.delenv("AIGEN_API_KEY")
    assert backend.meterread("m.jpg") == "No API key set: see Meter > Settings/Help"
    monkeypatch.setenv("AIGEN_API_KEY", key)  # the user sets it: the next recalculation reads
    aigen_env.on(tmp_path / "blank.jpg", Reply.no_detection())
    assert backend.meterread("gone.jpg") == f"File not found: {tmp_path / 'gone.jpg'}"
    assert backend.meterread(None) == "No photo path in this cell"
    assert backend.meterread("notes.jpg") == "Not an image: notes.jpg"
    assert backend.meterread("blank.jpg") == "No reading: no meter counter was found in the photo"
    assert backend.meterread("blank.jpg", "all") == [["No reading: no meter counter was found in the photo",
                                                      None, None]]
    assert backend.meterread("m.jpg") == 3245.01
    assert len(aigen_env.calls) == 2


def test_a_refused_key_stops_sending_for_every_other_cell(backend, tmp_path: Path, aigen_env: FakeAigen) -> None:
    for i in range(3):
        make_photo(tmp_path / f"m{i}.jpg", seed=i)
    backend.create([])
    aigen_env.default = Reply.error(401)
    texts = [backend.meterread(f"m{i}.jpg") for i in range(3)]
    assert all(t.startswith("Not read: the batch stopped (The AIGEN service refused the API key (HTTP 401)") for t in texts)
    assert aigen_env.valid_key not in "".join(texts)
    assert len(aigen_env.calls) == 1


def test_a_key_or_endpoint_on_the_workbook_is_ignored(backend, tmp_path: Path, aigen_env: FakeAigen) -> None:
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg"]], extra_sheets={"xlwings.conf": [
        ["AIGEN_API_KEY", "stolen-key-from-the-workbook"],
        ["AIGEN_API_URL", "http://127.0.0.1:9/steal"],
    ]})
    assert backend.meterread("m.jpg") == 3245.01
    assert [c.key for c in aigen_env.calls] == [aigen_env.valid_key]  # the user's key, the user's server
    warnings = backend.session().settings.warnings
    assert len(warnings) == 2 and "stolen-key" not in "".join(warnings)


def test_field_value_and_error_text_never_show_a_traceback() -> None:
    failed = Reading.failure(ReadingStatus.FAILED, "Failed: service error 503 after 4 tries")
    assert udfs.field_value(failed, "confidence") == "Failed: service error 503 after 4 tries"
    assert udfs.error_text(KeyError("x")) == "Error (KeyError): see Meter > Settings/Help"
    assert udfs.error_text(ConfigError("AIGEN_API_URL uses plain http:// to example.com, which would send "
                                       "the API key unencrypted; use https://. More")).endswith("https://")
    assert len(udfs.error_text(ConfigError("x" * 500))) == udfs.MAX_TEXT


def test_a_photo_the_button_read_in_another_python_is_not_paid_for_again(
    backend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    from xlwings_meter.photos import file_digest
    from xlwings_meter.workbook.cache import CacheEntry, ReadingCache

    photo = make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg"]])
    backend.session()  # METERREAD's process has loaded the (empty) cache
    button = ReadingCache(backend.book.hidden_sheet(CACHE_SHEET))  # the button, without a UDF server
    button.record(CacheEntry(file_digest(photo), str(photo), Reading(ReadingStatus.READ, value="55.50",
                             confidence=0.9, angle=0.0), "2026-11-24T10:00:00Z", "aigen-v2"))
    button.flush()
    assert backend.meterread("m.jpg") == 55.5
    assert aigen_env.calls == []


def test_a_second_python_does_not_throw_away_the_journal_of_an_unsaved_workbook(
    tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xlwings_meter.workbook.journal import Journal

    backend = ExcelBackend(tmp_path, monkeypatch)
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg"]])
    assert backend.meterread("m.jpg") == 3245.01
    backend.after_calculation()  # the reading is on the cache sheet, in Excel's memory only
    backend.new_process()  # e.g. the button in its own Python, or Python restarted
    backend.session()
    assert Journal.beside(Path(backend.fullname)).entries()  # still there: the sheet is unsaved
    backend.reopen(save=False)
    backend.new_process()
    assert backend.meterread("m.jpg") == 3245.01
    assert len(aigen_env.calls) == 1


def test_a_cache_row_deleted_by_hand_and_saved_is_read_again_not_revived_from_the_journal(
    tmp_path: Path, aigen_env: FakeAigen
) -> None:
    import openpyxl

    from tests.backends import FileBackend
    from xlwings_meter.workbook.journal import Journal

    backend = FileBackend(tmp_path)
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg"]])
    assert backend.meterread("m.jpg") == 3245.01
    backend.after_calculation()
    backend.reopen(save=True)
    backend.session()  # the next use: the saved file holds the reading, so the journal lets it go
    assert Journal.beside(backend.path).entries() == []

    wb = openpyxl.load_workbook(backend.path)
    wb[CACHE_SHEET].delete_rows(2)  # a person wants this photo read again
    wb.save(backend.path)
    backend.reopen(save=False)
    assert backend.meterread("m.jpg") == 3245.01
    assert len(aigen_env.calls) == 2


def test_in_excel_a_journal_that_cannot_be_written_still_gets_the_paid_reading_to_the_sheet(
    tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xlwings_meter.workbook.journal import Journal

    backend = ExcelBackend(tmp_path, monkeypatch)
    make_photo(tmp_path / "m.jpg")
    make_photo(tmp_path / "n.jpg", seed=2)
    backend.create([["m.jpg"], ["n.jpg"]])
    backend.session()
    Journal.beside(Path(backend.fullname)).path.mkdir()  # the journal can no longer be written
    assert backend.meterread("m.jpg") == 3245.01  # paid for, so shown
    backend.after_calculation()
    assert backend.rows(CACHE_SHEET)[1][2] == "3245.010"  # and kept where it survives a save
    assert str(backend.meterread("n.jpg")).startswith("Not read: the batch stopped (cannot write the journal")
    assert len(aigen_env.calls) == 1  # nothing more is paid for without a safe copy


def test_a_reading_another_engine_cached_is_not_served_as_the_services(
    backend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    make_photo(tmp_path / "m.jpg")
    local_outcome = [file_digest(tmp_path / "m.jpg"), "m.jpg", "99", 99, 0.95, 0.0, "[]", "read",
                     "2026-01-01T00:00:00Z", "local"]
    backend.create([["m.jpg"]], extra_sheets={CACHE_SHEET: [list(HEADERS), local_outcome]})
    assert backend.meterread("m.jpg") == 3245.01  # the offline engine's 99 is not AIGEN's reading
    assert len(aigen_env.calls) == 1
