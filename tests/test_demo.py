"""`xlwings-meter demo` as a new user runs it: no key, no network, a filled workbook at the end."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from xlwings_meter.cli import main
from xlwings_meter.demo.command import DEMO_SHEET, DEMO_WORKBOOK, TRUTH_HEADER
from xlwings_meter.workbook.cache import AUDIT_COLUMN, CACHE_SHEET
from xlwings_meter.workbook.reconciling import SUMMARY_TITLE
from xlwings_meter.workbook.review import REVIEW_SHEET

pytest.importorskip("rapidocr", reason="the demo reads with the [local] extra, which CI installs")

pytestmark = pytest.mark.slow  # runs the offline engine


def _shown(value: float, number_format: str) -> str:
    """The text Excel shows for a number in a format like 0000.000."""
    whole, _, frac = number_format.partition(".")
    return f"{value:0{len(number_format)}.{len(frac)}f}" if frac else f"{value:0{len(whole)}.0f}"


def test_the_demo_runs_offline_and_leaves_a_filled_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AIGEN_API_KEY", raising=False)
    monkeypatch.setenv("AIGEN_API_URL", "http://127.0.0.1:9/nothing-listens-here")
    monkeypatch.setenv("XLWINGS_METER_CONFIG", str(tmp_path / "none.conf"))
    folder = tmp_path / "demo"

    assert main(["demo", str(folder), "--photos", "6", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("6 photos: ") and f"Open {folder / DEMO_WORKBOOK}" in out

    wb = openpyxl.load_workbook(folder / DEMO_WORKBOOK)
    ws = wb[DEMO_SHEET]
    assert [c.value for c in ws[1]][:10] == ["Image", "Value", "Confidence", "Angle", "Status", "Consumption",
                                            "Check", "Previous", "Corrected", TRUTH_HEADER]
    rows = [r for r in ws.iter_rows(min_row=2, max_col=10, values_only=True) if r[0] is not None]  # not the summary
    assert len(rows) == 6 and all((folder / r[0]).is_file() for r in rows)
    assert sum(r[1] is not None for r in rows) >= 4
    for i, (_, value, confidence, angle, status, _, _, _, _, truth) in enumerate(rows, start=2):
        assert isinstance(truth, (int, float))  # a number, shown digit for digit like a reading
        if value is None:
            assert status  # why not, in words
            continue
        assert status is None and -180 < angle <= 180
        shown = _shown(value, ws.cell(i, 2).number_format)
        assert ws.column_dimensions["B"].width >= len(shown) + 1  # never ### for want of width
        if confidence >= 0.9:  # what the engine is sure of is right, zeros and decimals as generated
            assert shown == _shown(truth, ws.cell(i, 10).number_format)
    for cell in ws[1][1:7]:  # the results are headed like the sheet's own headers
        assert cell.font.b and cell.fill.fgColor.rgb == ws["A1"].fill.fgColor.rgb
    # Bills: consumption against Previous, the meter typed too high flagged, one correction kept
    # with who typed it, the summary, and each photo's evidence on the Review sheet.
    backwards = rows[2]
    assert backwards[1] is None or "negative consumption" in (backwards[6] or "")
    corrected = [(i, r) for i, r in enumerate(rows, start=2) if r[8] is not None]
    assert len(corrected) == 1 and f"in row {corrected[0][0]} (Corrected)" in out
    row, fixed = corrected[0]
    assert fixed[8] == fixed[9] and fixed[5] == pytest.approx(fixed[9] - fixed[7], abs=1e-6)  # the correction wins
    audit = [r[AUDIT_COLUMN - 1:] for r in wb[CACHE_SHEET].iter_rows(min_row=2, values_only=True)
             if len(r) >= AUDIT_COLUMN and r[AUDIT_COLUMN - 1] not in (None, "")]
    assert len(audit) == 1 and audit[0][1]  # who typed it
    assert any(v == SUMMARY_TITLE for r in ws.iter_rows(max_row=1, values_only=True) for v in r)
    assert "Total consumption" in out and "Sheet 'Review': " in out
    review = wb[REVIEW_SHEET]
    assert review.max_row == 7 and len(review._images) >= 6  # every thumbnail, and the digit windows


def test_a_second_demo_run_never_overwrites_the_workbook_and_starts_afresh_once_it_is_deleted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", str(folder), "--photos", "2", "--quiet"]) == 0
    edited = (folder / DEMO_WORKBOOK).read_bytes()
    assert main(["demo", str(folder), "--photos", "3", "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists already" in err[0] and "nothing was overwritten" in err[0]
    assert (folder / DEMO_WORKBOOK).read_bytes() == edited
    (folder / DEMO_WORKBOOK).unlink()
    assert main(["demo", str(folder), "--photos", "3", "--quiet"]) == 1  # its photos are still there
    assert "meter-0000.jpg exists already" in capsys.readouterr().err
    shutil.rmtree(folder / "photos")
    assert main(["demo", str(folder), "--photos", "3", "--quiet"]) == 0
    firsts = [line for line in capsys.readouterr().out.splitlines() if " photos: " in line]
    assert [line.split(":")[0] for line in firsts] == ["3 photos"]
    ws = openpyxl.load_workbook(folder / DEMO_WORKBOOK)[DEMO_SHEET]
    assert [r[0] for r in ws.iter_rows(min_row=2, max_col=1, values_only=True) if r[0]] == [
        f"photos/meter-000{i}.jpg" for i in range(3)]  # three photos listed, none left from the first run


def test_read_with_the_local_engine_needs_no_key_and_records_which_engine_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.workbooks import photo_book
    from xlwings_meter.demo.synth import PhotoConditions, write_meter_photos
    from xlwings_meter.workbook.cache import CACHE_SHEET

    monkeypatch.delenv("AIGEN_API_KEY", raising=False)
    monkeypatch.setenv("XLWINGS_METER_CONFIG", str(tmp_path / "none.conf"))
    easy = PhotoConditions(rotation=0.0, perspective=0.0, roll=0.0)
    photos = write_meter_photos(tmp_path / "photos", 2, seed=7, conditions=easy)
    book = photo_book(tmp_path / "b.xlsx", [[f"photos/{p.name}"] for p, _ in photos])

    assert main(["read", str(book), "--engine", "local", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 photos read on this machine, 0 from the cache" in out and "sent" not in out
    wb = openpyxl.load_workbook(book)
    cache = list(wb[CACHE_SHEET].iter_rows(min_row=2, values_only=True))
    assert sorted(r[2] for r in cache) == sorted(t.value for _, t in photos)  # read as generated
    assert {r[9] for r in cache} == {"local"}


def test_demo_never_overwrites_a_persons_files_in_its_photos_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "meter-0000.jpg").write_bytes(b"MY PHOTO")
    (photos / "truth.csv").write_text("my,data\n")
    assert main(["demo", str(tmp_path), "--photos", "2", "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists already" in err[0] and "nothing was overwritten" in err[0]
    assert (photos / "meter-0000.jpg").read_bytes() == b"MY PHOTO"
    assert (photos / "truth.csv").read_text() == "my,data\n"
    assert not (tmp_path / DEMO_WORKBOOK).exists() and sorted(p.name for p in photos.iterdir()) == [
        "meter-0000.jpg", "truth.csv"]
