"""The highlight rules are spreadsheet formulas: a real spreadsheet program must find the same
flags on every row as the Check column does (LibreOffice computes them here)."""

from __future__ import annotations

import csv
import random
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.reconcile import FLAG_KINDS, Columns, Limits, RowInput, highlight_rules, reconcile

COLUMNS = Columns(photo="A", value="B", confidence="C", previous="D", corrected="E")


def _rows() -> list[tuple[float | None, float, object, object]]:
    """(value, confidence, previous, corrected): edge cases, then a random spread."""
    rows: list[tuple[float | None, float, object, object]] = [
        (1000.0, 0.9, 999.5, None), (91000.0, 0.9, 1000, None), (35.1, 0.9, 1234.5, None),
        (35.1, 0.4, 1234.5, 1235.1), (None, 0.0, 10, 12), (None, 0.0, 10, None), (0.5, 0.9, 0.2, None),
        (100.0, 0.79, None, None), (100.0, 0.8, 90, None), (160.0, 0.95, 100, None), (150.0, 0.95, 100, None),
        # not numbers: text, a number typed as text, an error, a bad correction, with no reading
        # (not TRUE: LibreOffice's ISNUMBER takes it for 1, Excel's does not)
        (100.0, 0.9, "abc", None), (1005.0, 0.9, "1,005", None), (100.0, 0.9, "#N/A", None),
        (100.0, 0.5, 90, "abc"), (35.1, 0.9, 1234.5, "x"), (None, 0.0, "y", "z"),
    ]
    rng = random.Random(7)
    for _ in range(80):
        previous = rng.choice([None, round(rng.uniform(0, 3000), 3)])
        value = rng.choice([None, round(rng.uniform(0, 3100), 3), round((previous or 0) + rng.uniform(-5, 80), 3)])
        value = None if value is not None and value < 0 else value
        corrected = rng.choice([None, None, None, round(rng.uniform(0, 3100), 2)])
        rows.append((value, round(rng.uniform(0.3, 1), 2), previous, corrected))
    return rows


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.slow  # starts LibreOffice
def test_libreoffice_computes_the_same_flags_as_the_check_column(tmp_path: Path) -> None:
    rows = _rows()
    inputs = [RowInput(Reading(ReadingStatus.READ, value=f"{v:.3f}", confidence=c) if v is not None
                       else Reading.failure(ReadingStatus.NO_READING, "No reading"), p, fix)
              for v, c, p, fix in rows]
    limits = Limits(max_consumption=50)
    checks = reconcile(inputs, limits)
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, (value, confidence, previous, corrected) in enumerate(rows, start=2):
        for c, v in enumerate(("m.jpg", value, None if value is None else confidence, previous, corrected), start=1):
            ws.cell(r, c, v)
        for j, (_, formula) in enumerate(highlight_rules(COLUMNS, r, 50, limits)):
            ws.cell(r, 6 + j, "=" + formula)
    wb.save(tmp_path / "rules.xlsx")
    out = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                          "--convert-to", "csv", "--outdir", str(tmp_path), str(tmp_path / "rules.xlsx")],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    computed = list(csv.reader((tmp_path / "rules.csv").read_text().splitlines()))[1:]
    kinds = [kind for kind, _ in highlight_rules(COLUMNS, 2, 50, limits)]
    assert set(kinds) == set(FLAG_KINDS)
    for row, check, cells in zip(rows, checks, computed):
        # an error (text minus a number) is not true: conditional formatting leaves the row as it is
        by_formula = {kind for kind, shown in zip(kinds, cells[5:])
                      if not shown.startswith("#") and float(shown or 0) != 0}
        assert by_formula == set(check.kinds), (row, check, cells)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.slow  # starts LibreOffice
def test_libreoffice_highlights_the_flagged_rows_of_a_read_workbook_and_follows_a_later_correction(
        tmp_path: Path) -> None:
    import re

    from tests.photos import make_photo
    from xlwings_meter.photos import file_digest
    from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
    from xlwings_meter.workbook.files import FileBook
    from xlwings_meter.workbook.job import read_sheet

    readings = [("00935.781", 0.95, 900.5), ("00890.000", 0.97, 900), ("00035.100", 0.96, 1234.5)]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Previous", "Image", None, None, None, None, None, None, "Corrected"])
    entries = []
    for i, (value, confidence, previous) in enumerate(readings):
        photo = make_photo(tmp_path / f"m{i}.jpg", seed=i, size=(64, 48))
        ws.append([previous, photo.name])
        entries.append(CacheEntry(file_digest(photo), str(photo), Reading(ReadingStatus.READ, value, confidence, 0.5),
                                  "2026-11-01T10:00:00Z", "aigen-v2"))
    book = tmp_path / "bill.xlsx"
    wb.save(book)
    with FileBook(book) as fb:
        cache = ReadingCache(fb.hidden_sheet(CACHE_SHEET))
        cache.merge(entries)
        assert read_sheet(fb, None, cache=cache).from_cache == 3
        fb.save()
    wb = openpyxl.load_workbook(book)
    wb.active["I4"] = 1235.1  # a person corrects row 4 after the run, and runs nothing
    wb.save(book)
    out = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                          "--convert-to", "html", "--outdir", str(tmp_path), str(book)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "bill.html").read_text(errors="replace")
    rows = re.findall(r"<tr.*?</tr>", html, re.S)[1:4]
    filled = [[bool(re.search(r'bgcolor="#FFC7CE"', a, re.I)) for a in re.findall(r"<td([^>]*)>", r)[:9]] for r in rows]
    assert filled[0] == [False] * 9, filled
    assert filled[1] == [False] + [True] * 7 + [False]  # Image to Check: the meter went backwards
    assert filled[2] == [False] * 9  # highlighted when read; the correction took it away at once
