"""The Review sheet: each photo's thumbnail and digit window beside its reading, confidence,
Check and link, in a workbook file (openpyxl reads the pictures back) and in (fake) Excel."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from PIL import Image

from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.photos import file_digest
from xlwings_meter.reading import NO_READING_MESSAGE, Reading, ReadingStatus
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.job import read_sheet
from xlwings_meter.workbook.review import HEADERS, OTHER_NAME, PICTURE_PREFIX, REVIEW_SHEET

from .backends import SHEET, ExcelBackend, FileBackend
from .test_evidence import BLUE, RED, _meter
from .xlsxbooks import parts, xlsxwriter_book

HEADER = ("Image", None, None, None, None, None, None, "Previous")


def _photos(folder: Path) -> list[tuple[str, Reading | None, float]]:
    """(photo cell, cached reading, previous): a turned meter with digit boxes, one read by an
    engine that gave no boxes, one with no reading, and a photo that is not there."""
    img, boxes = _meter(25)
    img.save(folder / "turned.jpg", quality=90)
    make_photo(folder / "plain.jpg", seed=1, size=(320, 240))
    make_photo(folder / "blank.jpg", seed=2, size=(320, 240))
    return [("turned.jpg", Reading(ReadingStatus.READ, value="012345", confidence=0.95, angle=25, boxes=boxes), 12000),
            ("plain.jpg", Reading(ReadingStatus.READ, value="00935.5", confidence=0.55, angle=0.0), 900),
            ("blank.jpg", Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE), 500),
            ("gone.jpg", None, 100)]


def _book(backend: FileBackend | ExcelBackend, folder: Path, rows: int = 4) -> None:
    """The photos listed with their previous readings, their readings in the cache already."""
    listed = _photos(folder)[:rows]
    book = backend.create([[name] + [None] * 6 + [previous] for name, _, previous in listed], header=HEADER)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.merge(CacheEntry(file_digest(folder / name), str(folder / name), reading, "2026-11-01T10:00:00Z", "aigen-v2")
                for name, reading, _ in listed if reading is not None)
    cache.flush()
    backend.reopen()


def _pictures(backend: FileBackend | ExcelBackend, sheet: str = REVIEW_SHEET) -> dict[tuple[int, int], Image.Image]:
    """The pictures on the sheet as a person sees them: (row, column) of their cell -> image."""
    if isinstance(backend, ExcelBackend):
        state = backend.excel.sheet_state(backend.fullname, sheet)
        return {p.cell: Image.open(io.BytesIO(p.data)) for p in state.pictures if p.cell is not None}
    backend.reopen()
    ws = openpyxl.load_workbook(backend.path)[sheet]
    return {(i.anchor._from.row + 1, i.anchor._from.col + 1): Image.open(io.BytesIO(i._data())) for i in ws._images}


def _colour_share(img: Image.Image, colour: tuple[int, int, int]) -> float:
    data = img.convert("RGB").tobytes()
    pixels = [data[i:i + 3] for i in range(0, len(data), 3)]
    return sum(all(abs(a - b) < 60 for a, b in zip(p, colour)) for p in pixels) / len(pixels)


def test_each_photo_gets_its_thumbnail_and_upright_digit_window_beside_reading_confidence_check_and_link(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    result = read_sheet(backend.book, None)
    assert (result.review, result.pictures) == (REVIEW_SHEET, 4)
    rows = backend.rows(REVIEW_SHEET)
    assert rows[0][:8] == list(HEADERS)
    assert [r[0] for r in rows[1:5]] == [2, 3, 4, 5]  # the photo sheet's rows
    assert [r[3] for r in rows[1:5]][:2] == [12345, 935.5]
    assert [r[5] for r in rows[1:5]][:2] == [0.95, 0.55]
    assert rows[2][6] == "confidence 55% under 80%" and rows[3][6] == "no reading"
    pictures = _pictures(backend)
    # The turned meter: thumbnail and window; the others: the thumbnail alone; the missing photo: none.
    assert sorted(pictures) == [(2, 2), (2, 3), (3, 2), (4, 2)]
    assert max(pictures[(2, 2)].size) == 120
    window = pictures[(2, 3)]
    assert window.height == 40 and window.width > 2.5 * window.height  # a row of six digits, lying flat
    left, right = window.crop((0, 0, window.width // 4, 40)), window.crop((3 * window.width // 4, 0, window.width, 40))
    assert _colour_share(left, RED) > 0.15 and _colour_share(right, BLUE) > 0.15  # first digit on the left
    if isinstance(backend, FileBackend):
        ws = openpyxl.load_workbook(backend.path)[REVIEW_SHEET]
        assert ws["H2"].hyperlink.target == "turned.jpg" and ws["H2"].value == "turned.jpg"
        assert ws.row_dimensions[2].height / 0.75 > pictures[(2, 2)].height  # the row holds its pictures (points)
    else:
        state = backend.excel.sheet_state(backend.fullname, REVIEW_SHEET)
        assert state.formulas[(2, 8)] == '=HYPERLINK("turned.jpg","turned.jpg")'
        assert state.row_heights[2] / 0.75 > pictures[(2, 2)].height and all(p.name.startswith(PICTURE_PREFIX) for p in state.pictures)
        assert backend.excel.open_books[backend.fullname].sheets[0].name == SHEET  # the person's sheet stays shown


def test_a_correction_shows_beside_the_machines_reading_and_its_check_follows_it(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listed = _photos(tmp_path)[:2]
    backend.create([[n] + [None] * 6 + [p, None if i == 0 else 936.5] for i, (n, _, p) in enumerate(listed)],
                   header=HEADER + ("Corrected",))
    cache = ReadingCache(backend.book.hidden_sheet(CACHE_SHEET))
    cache.merge(CacheEntry(file_digest(tmp_path / n), str(tmp_path / n), r, "2026-11-01T10:00:00Z", "aigen-v2")
                for n, r, _ in listed if r is not None)
    cache.flush()
    backend.reopen()
    read_sheet(backend.book, None)
    row = backend.rows(REVIEW_SHEET)[2]
    assert row[3:7] == [935.5, 936.5, 0.55, None]  # the unsure reading, corrected: no flag left


def test_a_rerun_replaces_the_review_pictures_and_a_shorter_list_takes_its_old_ones_away(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    read_sheet(backend.book, None)
    backend.reopen()
    if isinstance(backend, FileBackend):
        before = sorted(parts(backend.path))
        formats = parts(backend.path)["xl/styles.xml"].count(b"<xf ")
    read_sheet(backend.book, None)
    assert len(_pictures(backend)) == 4
    if isinstance(backend, FileBackend):
        assert sorted(parts(backend.path)) == before  # the same parts: nothing piled up
        assert parts(backend.path)["xl/styles.xml"].count(b"<xf ") == formats  # nor cell formats
        media = [n for n in before if n.startswith("xl/media/")]
        assert len(media) == 4
    _clear_rows(backend, from_row=3)  # the list is now one photo long
    read_sheet(backend.book, None)
    assert sorted(_pictures(backend)) == [(2, 2), (2, 3)]
    assert len(backend.rows(REVIEW_SHEET)) == 2 or all(v is None for r in backend.rows(REVIEW_SHEET)[2:] for v in r)
    if isinstance(backend, FileBackend):
        assert len([n for n in parts(backend.path) if n.startswith("xl/media/")]) == 2


def _clear_rows(backend: FileBackend | ExcelBackend, from_row: int) -> None:
    if isinstance(backend, ExcelBackend):
        state = backend.excel.sheet_state(backend.fullname, SHEET)
        for cell in [c for c in state.values if c[0] >= from_row and c[1] == 1]:
            del state.values[cell]
        return
    backend.reopen()
    wb = openpyxl.load_workbook(backend.path)
    for row in wb[SHEET].iter_rows(min_row=from_row, max_col=1):
        row[0].value = None
    wb.save(backend.path)
    backend.reopen(save=False)


def test_a_workbook_made_by_xlsxwriter_keeps_its_own_images_and_chart(tmp_path: Path) -> None:
    listed = _photos(tmp_path)
    logo = make_photo(tmp_path / "logo.png", seed=9, size=(200, 100), fmt="PNG")

    def setup(wb: Any, ws: Any) -> None:
        ws.insert_image("K2", str(logo))
        other = wb.add_worksheet("Chart data")
        other.write_column("A1", [3, 5, 4])
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"values": "='Chart data'!$A$1:$A$3"})
        other.insert_chart("C2", chart)

    path = xlsxwriter_book(tmp_path / "bill.xlsx", [[n] + [None] * 6 + [p] for n, _, p in listed], HEADER, setup=setup)
    original = parts(path)
    _cache(path, listed)
    for _ in range(2):
        assert main(["read", str(path), "--cache-only", "-q"]) == 0
    after = parts(path)
    theirs = [n for n in original if n.startswith(("xl/media/", "xl/drawings/", "xl/charts/"))]
    assert theirs and all(after[n] == original[n] for n in theirs)  # their picture and chart, byte for byte
    wb = openpyxl.load_workbook(path)
    assert len(wb[SHEET]._images) == 1 and len(wb["Chart data"]._charts) == 1
    assert len(wb[REVIEW_SHEET]._images) == 4
    assert wb.sheetnames[:2] == [SHEET, "Chart data"] and wb.sheetnames[-1] == REVIEW_SHEET


def _cache(path: Path, listed: list[tuple[str, Reading | None, float]]) -> None:
    from xlwings_meter.workbook.files import FileBook

    with FileBook(path) as book:
        cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
        cache.merge(CacheEntry(file_digest(path.parent / n), str(path.parent / n), r, "2026-11-01T10:00:00Z", "aigen-v2")
                    for n, r, _ in listed if r is not None)
        cache.flush()
        book.save()


def test_a_sheet_of_yours_called_review_is_never_overwritten(backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listed = _photos(tmp_path)
    backend.create([[n] + [None] * 6 + [p] for n, _, p in listed], header=HEADER,
                   extra_sheets={"Review": [["Reviewed by", "Ann"]]})
    backend.reopen()
    result = read_sheet(backend.book, None)
    assert result.review == OTHER_NAME
    assert backend.rows("Review")[0][:2] == ["Reviewed by", "Ann"]
    assert backend.rows(OTHER_NAME)[0][:8] == list(HEADERS)


def test_no_pictures_leaves_a_small_review_and_takes_earlier_pictures_away(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    backend = FileBackend(tmp_path)
    _book(backend, tmp_path)
    assert main(["read", str(backend.path), "--cache-only", "-q"]) == 0
    assert "sheet 'Review': each reading beside its evidence (4 pictures)" in capsys.readouterr().err
    assert main(["read", str(backend.path), "--cache-only", "-q", "--no-pictures"]) == 0
    backend.reopen(save=False)
    assert _pictures(backend) == {}
    assert not [n for n in parts(backend.path) if n.startswith(("xl/media/", "xl/drawings/"))]
    assert main(["read", str(backend.path), "--cache-only", "-q", "--no-review"]) == 0
    backend.reopen(save=False)
    assert [r[3] for r in backend.rows(REVIEW_SHEET)[1:3]] == [12345, 935.5]  # left as it was


def test_a_sheet_without_previous_gets_a_review_only_when_asked(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    listed = _photos(tmp_path)
    backend.create([[n] for n, _, _ in listed])
    backend.reopen()
    assert read_sheet(backend.book, None).review is None
    assert REVIEW_SHEET not in backend.book.sheet_names()
    result = read_sheet(backend.book, None, review=True)
    assert result.review == REVIEW_SHEET
    assert backend.rows(REVIEW_SHEET)[3][6] == "no reading"  # flags without a Previous column: its own


def test_pictures_add_a_few_kilobytes_a_row(tmp_path: Path) -> None:
    """The bytes per row the Review's pictures add to a workbook (bench/review.py prints them)."""
    from bench.review import bytes_per_row

    per_row = bytes_per_row(tmp_path, rows=6)
    assert 1_000 < per_row < 12_000, per_row


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_review_and_keeps_its_pictures(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    _book(backend, tmp_path)
    read_sheet(backend.book, None)
    backend.reopen()
    out = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                          "--convert-to", "xlsx", "--outdir", str(tmp_path / "lo-out"), str(backend.path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    again = openpyxl.load_workbook(tmp_path / "lo-out" / backend.path.name)
    assert len(again[REVIEW_SHEET]._images) == 4  # LibreOffice read our drawing and wrote it back
    with zipfile.ZipFile(tmp_path / "lo-out" / backend.path.name) as z:
        assert len([n for n in z.namelist() if n.startswith("xl/media/")]) == 4


def test_a_cached_rerun_of_a_file_reuses_its_pictures_and_a_changed_photo_gets_new_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xlwings_meter.workbook import review

    decoded: list[Path] = []
    real = review.upright_image
    monkeypatch.setattr(review, "upright_image", lambda path, side: decoded.append(path) or real(path, side))
    backend = FileBackend(tmp_path)
    _book(backend, tmp_path)
    read_sheet(backend.book, None)
    first = _pictures(backend)
    assert len(decoded) == 3  # the three photos there are
    read_sheet(backend.book, None)
    again = _pictures(backend)
    assert len(decoded) == 3 and {k: v.tobytes() for k, v in again.items()} == {k: v.tobytes() for k, v in first.items()}
    make_photo(tmp_path / "plain.jpg", seed=5, size=(320, 240))  # the photo replaced by another
    read_sheet(backend.book, None)
    assert decoded[3:] == [tmp_path / "plain.jpg"]
    assert _pictures(backend)[(3, 2)].tobytes() != first[(3, 2)].tobytes()


def test_the_review_in_excel_costs_two_calls_a_picture_whatever_the_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cells, links, widths and heights go in a fixed number of calls; each picture is one add
    and the range it is anchored to (xlwings places one picture a call), and one more on a
    re-run to find and delete the old one."""
    costs = []
    for n in (3, 30):
        folder = tmp_path / str(n)
        folder.mkdir()
        excel = ExcelBackend(folder, monkeypatch)
        book = excel.create([[make_photo(folder / f"m{i}.jpg", seed=i, size=(64, 48)).name] for i in range(n)])
        read_sheet(book, None, review=False)
        before = excel.excel.range_calls
        assert read_sheet(excel.book, None, review=True).pictures == n
        first = excel.excel.range_calls - before
        before = excel.excel.range_calls
        read_sheet(excel.book, None, review=True)
        costs.append((first - 2 * n, excel.excel.range_calls - before - 4 * n))
    assert costs[0] == costs[1], costs


def test_the_digit_boxes_of_the_services_reply_cut_the_window_and_a_cached_rerun_cuts_it_again(
        tmp_path: Path, aigen_env: Any) -> None:
    from tests.fake_aigen import Reply

    img, boxes = _meter(-30)
    img.save(tmp_path / "turned.jpg", quality=90)
    aigen_env.queue(Reply.success(value="012345", confidence=0.97, angle=-30,
                                  boxes=[[list(p) for p in quad] for quad in boxes]))
    path = xlsxwriter_book(tmp_path / "bill.xlsx", [["turned.jpg"] + [None] * 6 + [12000]], HEADER)
    assert main(["read", str(path), "-q"]) == 0
    for _ in range(2):  # the reply's boxes, then the cache's
        window = Image.open(io.BytesIO(next(i for i in openpyxl.load_workbook(path)[REVIEW_SHEET]._images
                                            if i.anchor._from.col == 2)._data()))
        left, right = window.crop((0, 0, window.width // 4, 40)), window.crop((3 * window.width // 4, 0, window.width, 40))
        assert _colour_share(left, RED) > 0.15 and _colour_share(right, BLUE) > 0.15
        assert main(["read", str(path), "--cache-only", "-q"]) == 0
    assert len(aigen_env.calls) == 1  # paid once


def test_rows_past_the_cap_are_listed_without_pictures(tmp_path: Path) -> None:
    from xlwings_meter.workbook.review import ReviewItem, review_page

    listed = _photos(tmp_path)
    items = [ReviewItem(i + 2, name, reading or Reading.failure(ReadingStatus.FILE_MISSING, "File not found"))
             for i, (name, reading, _) in enumerate(listed)]
    page = review_page(items, tmp_path, max_rows=1)
    assert {(p.row, p.col) for p in page.pictures} == {(2, 2), (2, 3)}
    assert [row[1] for row in page.cells[2:]] == ["(past 1 rows: no picture)"] * 3
    assert [row[1] for row in review_page(items, tmp_path).cells[1:]] == [None, None, None, "(no photo)"]


def test_a_hash_in_a_photo_name_is_escaped_in_the_link_and_shown_as_it_is(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name = "meter #3 100%.jpg"
    make_photo(tmp_path / name, seed=5, size=(64, 48))
    book = backend.create([[name] + [None] * 6 + [900]], header=HEADER)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.merge([CacheEntry(file_digest(tmp_path / name), str(tmp_path / name),
                            Reading(ReadingStatus.READ, value="00935.5", confidence=0.9, angle=0.0),
                            "2026-11-01T10:00:00Z", "aigen-v2")])
    cache.flush()
    read_sheet(backend.reopen(), None)
    if isinstance(backend, FileBackend):
        backend.reopen()
        ws = openpyxl.load_workbook(backend.path)[REVIEW_SHEET]
        assert ws["H2"].hyperlink.target == "meter %233 100%25.jpg" and ws["H2"].value == name
    else:
        state = backend.excel.sheet_state(backend.fullname, REVIEW_SHEET)
        assert state.formulas[(2, 8)] == '=HYPERLINK("meter %233 100%25.jpg","meter #3 100%.jpg")'
