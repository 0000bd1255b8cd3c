"""The Meter summary block never lands under a person's picture or chart, and never widens a
column one lies in (a picture that moves and sizes with its cells would stretch)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.workbook.reconciling import SUMMARY_TITLE

from .xlsxbooks import xlsxwriter_book


def _anchors(book: Path) -> list[tuple[int, int, int, int]]:
    """(top, left, bottom, right), 1-based, of each twoCellAnchor in the sheet's drawing."""
    xml = zipfile.ZipFile(book).read("xl/drawings/drawing1.xml").decode()
    found = []
    for anchor in re.findall(r"<xdr:twoCellAnchor.*?</xdr:twoCellAnchor>", xml, re.S):
        (c1, r1), (c2, r2) = [(int(c), int(r)) for c, r in re.findall(
            r"<xdr:col>(\d+)</xdr:col>.*?<xdr:row>(\d+)</xdr:row>", anchor, re.S)][:2]
        found.append((r1 + 1, c1 + 1, r2 + 1, c2 + 1))
    return found


def test_the_summary_goes_right_of_a_picture_and_leaves_the_widths_under_a_chart(
        tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(3):
        aigen_env.on(make_photo(tmp_path / f"m{i}.jpg", seed=i), Reply.success(value="01010.000", confidence=0.95))
    logo = make_photo(tmp_path / "logo.jpg", seed=9, size=(200, 150))

    def drawings(wb: Any, ws: Any) -> None:
        ws.insert_image("M2", str(logo))
        chart = wb.add_chart({"type": "line"})
        chart.add_series({"values": "=Photos!$I$2:$I$4"})
        ws.insert_chart("M15", chart)

    book = xlsxwriter_book(tmp_path / "bill.xlsx",
                           [[f"M{i}", f"m{i}.jpg", *[None] * 6, 1000, None, f"tenant {i}"] for i in range(3)],
                           header=("Meter", "Image", *[None] * 6, "Previous", "Corrected", "Tenant"),
                           setup=drawings)
    before = _anchors(book)
    assert main(["read", str(book)]) == 0
    ws = openpyxl.load_workbook(book)["Photos"]
    (row, col), = [(c.row, c.column) for r in ws.iter_rows() for c in r if c.value == SUMMARY_TITLE]
    height = sum(1 for r in range(row, row + 30) if ws.cell(r, col).value not in (None, ""))
    for top, left, bottom, right in before:
        assert not (top <= row + height - 1 and bottom >= row and left <= col + 1 and right >= col), (
            (row, col), (top, left, bottom, right))
    under_chart = [c for t, lo, b, hi in before for c in (col, col + 1) if lo <= c <= hi]
    assert under_chart  # the chart reaches up into the block's columns, below it
    widths = {letter: dim.width for letter, dim in ws.column_dimensions.items() if dim.customWidth}
    assert not any(openpyxl.utils.column_index_from_string(k) in under_chart for k in widths)
    assert _anchors(book) == before
