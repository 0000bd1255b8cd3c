"""Saving a workbook file: never over work someone saved (or Excel opened) during the run."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.workbook.journal import Journal

from .workbooks import photo_book
from .xlsxbooks import xlsxwriter_book


def _book(tmp_path: Path, n: int) -> Path:
    rows = [[make_photo(tmp_path / f"m{i}.jpg", seed=i).name] for i in range(n)]
    return xlsxwriter_book(tmp_path / "book.xlsx", rows)


def _once_the_first_photo_is_sent(aigen: FakeAigen, action: Callable[[], None]) -> threading.Thread:
    """Do ``action`` in another thread while the run waits for the service's first reply."""
    def run() -> None:
        deadline = time.monotonic() + 20
        while not aigen.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_workbook_saved_during_the_run_is_not_overwritten_and_nothing_is_paid_twice(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    book = _book(tmp_path, 3)
    aigen_env.default = Reply.success().delayed(0.3)

    def ann_saves() -> None:
        wb = openpyxl.load_workbook(book)
        wb["Photos"]["G1"] = "Ann's total"
        wb.save(book)

    thread = _once_the_first_photo_is_sent(aigen_env, ann_saves)
    assert main(["read", str(book), "--concurrency", "1", "--quiet"]) == 1
    thread.join()
    err = capsys.readouterr().err
    assert err == ("xlwings-meter: error: book.xlsx was changed by another program while the photos were "
                   "read: it was not overwritten; the 3 readings paid for are kept in "
                   ".book.xlsx.meter-journal beside it and go in at the next run, with nothing paid "
                   "again: run again (or use --output to write a copy)\n")
    ws = openpyxl.load_workbook(book)["Photos"]
    assert ws["G1"].value == "Ann's total" and ws["B2"].value is None  # her file, as she saved it

    aigen_env.default = Reply.success()
    assert main(["read", str(book)]) == 0
    ws = openpyxl.load_workbook(book)["Photos"]
    assert ws["G1"].value == "Ann's total" and [ws[f"B{r}"].value for r in (2, 3, 4)] == [3245.01] * 3
    assert len(aigen_env.calls) == 3  # the readings came from the journal
    assert not (tmp_path / ".book.xlsx.meter-journal").exists()


def test_a_workbook_opened_in_excel_during_the_run_is_not_overwritten(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    book = _book(tmp_path, 2)
    before = book.read_bytes()
    lock = tmp_path / "~$book.xlsx"
    aigen_env.default = Reply.success().delayed(0.3)
    thread = _once_the_first_photo_is_sent(aigen_env, lambda: lock.write_bytes(b"\x0bAnn Smith" + bytes(150)))
    assert main(["read", str(book), "--concurrency", "1", "--quiet"]) == 1
    thread.join()
    err = capsys.readouterr().err
    assert err.startswith("xlwings-meter: error: book.xlsx was opened in Excel while the photos were read "
                          "(~$book.xlsx appeared beside it): it was not overwritten; the 2 readings paid "
                          "for are kept in .book.xlsx.meter-journal")
    assert err.endswith(": close it in Excel, then run again (or use --output to write a copy)\n")
    assert book.read_bytes() == before  # Excel's next save will not discard the readings: none are in it

    lock.unlink()  # Ann closed it
    assert main(["read", str(book)]) == 0
    assert openpyxl.load_workbook(book)["Photos"]["B3"].value == 3245.01 and len(aigen_env.calls) == 2


@pytest.mark.parametrize("writer", ["xlsxwriter", "openpyxl"])
def test_a_workbook_reached_through_a_link_stays_a_link(tmp_path: Path, aigen_env: FakeAigen,
                                                        capsys: pytest.CaptureFixture[str], writer: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rows = [[make_photo(data / "m0.jpg").name]]
    real = (xlsxwriter_book(data / "march.xlsx", rows) if writer == "xlsxwriter"
            else photo_book(data / "march.xlsx", rows))
    link = tmp_path / "book.xlsx"
    link.symlink_to(Path("data") / "march.xlsx")

    assert main(["read", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(Path("data") / "march.xlsx")
    assert openpyxl.load_workbook(real)["Photos"]["B2"].value == 3245.01
    # The journal and the run lock sit beside the real file, whichever link leads to it.
    assert Journal.beside(link).path == data / ".march.xlsx.meter-journal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx", "data"]
    assert sorted(p.name for p in data.iterdir()) == ["m0.jpg", "march.xlsx"]

    (data / "~$march.xlsx").write_bytes(b"\x0bAnn Smith" + bytes(150))  # Excel opened the real file
    capsys.readouterr()
    assert main(["read", str(link)]) == 1
    assert "book.xlsx is open in Excel (~$march.xlsx is beside it)" in capsys.readouterr().err
