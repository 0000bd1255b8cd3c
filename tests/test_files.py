"""Workbook files through openpyxl: what is kept through a save, and saving atomically."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font

from xlwings_meter.errors import (
    ColumnNotFoundError,
    WorkbookError,
)
from xlwings_meter.workbook.files import FileBook

from .workbooks import (
    RIBBON_XML,
    VBA_BYTES,
    add_macros_and_ribbon,
    add_text_box,
    photo_book,
)


def test_a_text_that_starts_with_equals_stays_text(tmp_path: Path) -> None:
    book = FileBook(photo_book(tmp_path / "b.xlsx", []))
    book.sheet().write_block(2, 2, [["=not a formula"]])
    book.save()
    cell = openpyxl.load_workbook(tmp_path / "b.xlsx")["Photos"]["B2"]
    assert cell.value == "=not a formula" and cell.data_type == "s"


def test_xlsm_keeps_its_vba_project_byte_for_byte_and_its_ribbon(tmp_path: Path) -> None:
    xlsm = add_macros_and_ribbon(photo_book(tmp_path / "b.xlsx", [["m.jpg"]]), tmp_path / "b.xlsm")
    with FileBook(xlsm) as book:
        book.sheet().write_block(1, 2, [["Value"], [1.5]])
        book.hidden_sheet("cache")
        book.save()
    with zipfile.ZipFile(xlsm) as z:
        assert z.read("xl/vbaProject.bin") == VBA_BYTES
        assert z.read("customUI/customUI.xml").decode() == RIBBON_XML
        assert b"customUI/customUI.xml" in z.read("_rels/.rels")
        assert b"macroEnabled" in z.read("[Content_Types].xml")


def test_other_sheets_formulas_and_styles_are_untouched(tmp_path: Path) -> None:
    path = photo_book(tmp_path / "b.xlsx", [["m.jpg", None, None, None, None, 7]],
                      header=("Image", None, None, None, None, "Mine"))
    wb = openpyxl.load_workbook(path)
    wb["Photos"]["F1"].font = Font(bold=True, color="FF0000")
    other = wb.create_sheet("Bills")
    other["A1"] = "=SUM(Photos!F:F)*2"
    wb.save(path)

    book = FileBook(path)
    book.sheet().write_block(1, 2, [["Value"], [1.5]])
    book.save()
    wb = openpyxl.load_workbook(path)
    assert wb["Bills"]["A1"].value == "=SUM(Photos!F:F)*2"
    assert wb["Photos"]["F1"].font.bold and wb["Photos"]["F1"].font.color.rgb == "00FF0000"
    assert wb["Photos"]["F2"].value == 7 and wb.sheetnames == ["Photos", "Bills"]


def test_an_unwritable_target_gives_a_message_not_a_traceback(tmp_path: Path) -> None:
    book = FileBook(photo_book(tmp_path / "b.xlsx", [["m.jpg"]]))
    with pytest.raises(WorkbookError, match="Cannot write out.xlsx"):
        book.save(tmp_path / "no such folder" / "out.xlsx")
    (tmp_path / "taken.xlsx").mkdir()
    with pytest.raises(WorkbookError, match="taken.xlsx is a folder: name a file in it"):
        book.save(tmp_path / "taken.xlsx")
    with pytest.raises(WorkbookError, match="same extension"):
        book.save(tmp_path / "out.xlsm")


def test_bad_workbooks_and_sheet_names_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match="not found"):
        FileBook(tmp_path / "none.xlsx")
    (tmp_path / "fake.xlsx").write_text("not a zip")
    with pytest.raises(WorkbookError, match="fake.xlsx is not an Excel workbook"):
        FileBook(tmp_path / "fake.xlsx")
    (tmp_path / "data.csv").write_text("Image\n")
    with pytest.raises(WorkbookError, match="not an .xlsx or .xlsm"):
        FileBook(tmp_path / "data.csv")
    book = FileBook(photo_book(tmp_path / "b.xlsx", []))
    assert book.sheet("photos").name == "Photos"
    with pytest.raises(ColumnNotFoundError, match="No sheet named 'Readings'.*Photos"):
        book.sheet("Readings")


def test_a_text_box_openpyxl_would_drop_survives_byte_for_byte(tmp_path: Path) -> None:
    original = add_text_box(photo_book(tmp_path / "plain.xlsx", [["m.jpg"]]), tmp_path / "shapes.xlsx")
    with zipfile.ZipFile(original) as z:
        before = {n: z.read(n) for n in z.namelist()}
    book = FileBook(original)
    book.sheet().write_block(1, 2, [["Value"], [1.5]])
    book.save()
    with zipfile.ZipFile(original) as z:
        after = {n: z.read(n) for n in z.namelist()}
    assert after["xl/drawings/drawing1.xml"] == before["xl/drawings/drawing1.xml"]
    assert b'<drawing r:id="rIdD"/>' in after["xl/worksheets/sheet1.xml"]
    assert set(after) == set(before)
    assert openpyxl.load_workbook(original)["Photos"]["B2"].value == 1.5


def test_charts_images_and_comments_survive_so_nothing_is_reported_lost(tmp_path: Path) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.drawing.image import Image as SheetImage
    from PIL import Image

    path = photo_book(tmp_path / "b.xlsx", [["m.jpg"]], header=("Image",))
    wb = openpyxl.load_workbook(path)
    ws = wb["Photos"]
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=2))
    ws.add_chart(chart, "H2")
    Image.new("RGB", (20, 20), "red").save(tmp_path / "logo.png")
    ws.add_image(SheetImage(str(tmp_path / "logo.png")), "H20")
    ws["A1"].comment = Comment("photos from the March round", "Anna")
    wb.save(path)

    with zipfile.ZipFile(path) as z:
        before = {n: z.read(n) for n in z.namelist()}
    book = FileBook(path)
    book.sheet().write_block(1, 2, [["Value"], [1.5]])
    book.save()
    with zipfile.ZipFile(path) as z:
        after = {n: z.read(n) for n in z.namelist()}
    assert set(after) == set(before)
    unchanged = {n for n in before if after[n] == before[n]}
    assert {"xl/charts/chart1.xml", "xl/media/image1.png", "xl/comments/comment1.xml"} <= unchanged


def test_cells_placed_by_their_order_alone_are_read_in_place_and_kept_when_cells_are_added(tmp_path: Path) -> None:
    import re

    # Some writers leave out the optional "r" (A1-style) of rows and cells: the order says where.
    path = photo_book(tmp_path / "b.xlsx", [["m.jpg", 7], ["n.jpg", 8]])
    with zipfile.ZipFile(path) as z:
        items = {i.filename: z.read(i) for i in z.infolist()}
    sheet = items["xl/worksheets/sheet1.xml"].decode()
    items["xl/worksheets/sheet1.xml"] = re.sub(r' r="[A-Z]*\d+"', "", sheet).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in items.items():
            z.writestr(name, data)
    book = FileBook(path)
    assert book.sheet().read_block(2, 1, 3, 2) == [["m.jpg", 7], ["n.jpg", 8]]
    book.sheet().write_block(2, 3, [[2.5]])
    book.sheet().write_block(5, 4, [[1.5]])
    book.save()
    ws = openpyxl.load_workbook(path)["Photos"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_col=4)] == [
        ["m.jpg", 7, 2.5, None], ["n.jpg", 8, None, None], [None] * 4, [None, None, None, 1.5]]
