"""Paid calls counted honestly and retried by what they may already have cost."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from tests.fake_aigen import SUCCESS_BODY, FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.engines.aigen.client import AigenEngine
from xlwings_meter.engines.aigen.config import ClientSettings
from xlwings_meter.workbook.batch import read_photos
from xlwings_meter.workbook.cache import CACHE_SHEET, ReadingCache
from xlwings_meter.workbook.files import FileBook

from .workbooks import photo_book


def _rows(book: Path) -> list[tuple[object, ...]]:
    return list(openpyxl.load_workbook(book)["Photos"].iter_rows(min_row=2, values_only=True))


def _book(tmp_path: Path, n: int) -> Path:
    names = [make_photo(tmp_path / f"m{i}.jpg", seed=i).name for i in range(n)]
    return photo_book(tmp_path / "bill.xlsx", [[name] for name in names])


def test_the_summary_counts_every_upload_retries_included(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    book = _book(tmp_path, 2)
    aigen_env.queue(Reply.error(502))  # the first request fails, its retry succeeds

    assert main(["read", str(book), "--quiet", "--concurrency", "1"]) == 0

    out = capsys.readouterr().out
    assert len(aigen_env.calls) == 3
    assert "2 photos sent (3 uploads, " in out


def test_after_a_request_went_out_a_photo_is_tried_once_more_and_its_row_says_it_may_have_cost(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings
) -> None:
    cells = [make_photo(tmp_path / f"m{i}.jpg", seed=i).name for i in range(4)]
    aigen_server.on(tmp_path / "m0.jpg", Reply.error(504))
    aigen_server.on(tmp_path / "m1.jpg", Reply.success().delayed(3))  # always a read timeout
    aigen_server.on(tmp_path / "m2.jpg", Reply.dropped())
    engine = AigenEngine(replace(fast_settings, max_attempts=4))
    cache = ReadingCache(FileBook(photo_book(tmp_path / "b.xlsx", [])).hidden_sheet(CACHE_SHEET))

    result = read_photos(cells, tmp_path, engine, cache)

    assert [len(aigen_server.calls_for(tmp_path / c)) for c in cells] == [2, 2, 2, 1]
    assert [r.message for r in result.readings] == [
        "Failed: Service error 504 after 2 tries; the service may have charged for this photo",
        "Failed: Timed out after 2 tries; the service may have charged for this photo",
        "Failed: The service dropped the connection after 2 tries; the service may have charged for this photo",
        "",
    ]
    assert (result.sent, result.uploads) == (4, 7)


def test_a_reading_with_an_odd_optional_field_is_kept_and_never_paid_for_again(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(SUCCESS_BODY)
    doc["data"][0]["numbers"]["confidence"] = None
    doc["data"][0]["numbers"]["bboxes_norm"][0].pop()  # a digit box with three corners
    aigen_env.default = Reply(body=json.dumps(doc).encode())
    book = _book(tmp_path, 1)

    assert main(["read", str(book), "--quiet"]) == 0
    assert _rows(book) == [("m0.jpg", 3245.01, None, 83.69637298583984, None)]
    assert main(["read", str(book), "--quiet"]) == 0
    assert len(aigen_env.calls) == 1  # read once, cached, never sent again
    assert "0 photos sent, 1 from the cache" in capsys.readouterr().out.splitlines()[-1]


def test_the_local_engine_never_says_sent_in_excel_either() -> None:
    from xlwings_meter.excel.ribbon import summary
    from xlwings_meter.reading import Reading, ReadingStatus
    from xlwings_meter.workbook.batch import BatchResult

    read = Reading(ReadingStatus.READ, value="1.5", confidence=0.9, angle=0.0)
    local = BatchResult([read, read], sent=2, on_this_machine=True)
    assert "2 photos read on this machine (nothing was sent), 0 answered from the cache." in summary(
        [local], cache_only=False)
    paid = BatchResult([read], sent=1, uploads=2, bytes_uploaded=1000)
    assert "1 photo sent to the service (2 uploads, retries included)" in summary([paid], cache_only=False)


def test_photos_the_service_never_received_are_not_counted_as_sent(
    tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:  # a port on this machine where nothing listens: connection refused
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv("AIGEN_API_URL", f"http://127.0.0.1:{s.getsockname()[1]}/aiscript/water-meter/v2")
    book = _book(tmp_path, 5)

    assert main(["read", str(book), "--quiet", "--concurrency", "1"]) == 5
    out, err = capsys.readouterr()
    assert "0 photos sent, 0 from the cache" in out and "uploads" not in out
    statuses = [row[4] for row in _rows(book)]
    failed = [s for s in statuses if s.startswith("Failed: Could not connect")]
    assert len(failed) == 3 and "for 3 photos" in err  # as many rows as the message says
    assert all(s.startswith("Not read: the batch stopped") for s in statuses[3:])
