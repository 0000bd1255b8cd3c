"""A run killed before it saved: the readings it paid for come back from the journal, even new
readings of photos the workbook already holds an older reading of (a killed ``--refresh``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.workbook.journal import Journal

from .workbooks import photo_book

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # a real process, killed
def test_a_refresh_killed_before_saving_keeps_its_new_readings_for_the_next_run(
        tmp_path: Path, aigen_env: FakeAigen) -> None:
    names = [make_photo(tmp_path / f"m{i}.jpg", seed=i).name for i in range(5)]
    book = photo_book(tmp_path / "readings.xlsx", [[n] for n in names])
    assert main(["read", str(book), "--quiet"]) == 0  # every photo read once: 3245.01
    saved = book.read_bytes()

    aigen_env.default = Reply.success("12.5").delayed(0.3)  # the meters moved on
    journal = Journal.beside(book)
    proc = subprocess.Popen([sys.executable, "-m", "xlwings_meter.cli", "read", str(book), "--refresh",
                             "--concurrency", "1", "--quiet"], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while len(journal.entries()) < 2:
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no clean-up runs, nothing is saved
    proc.wait()
    assert book.read_bytes() == saved
    reread = len(journal.entries())
    paid = len(aigen_env.calls)

    aigen_env.default = Reply.success("99.9")
    assert main(["read", str(book), "--quiet"]) == 0
    values = [r[1] for r in openpyxl.load_workbook(book)["Photos"].iter_rows(min_row=2, values_only=True)]
    assert values.count(12.5) == reread and values.count(3245.01) == 5 - reread  # the new readings won
    assert len(aigen_env.calls) == paid  # and none of them was paid for again
    assert not journal.path.exists()
