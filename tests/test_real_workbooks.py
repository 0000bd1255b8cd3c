"""Workbooks as other programs write them: what Excel-made content survives, which files are
refused and how that is said, and results a person can read."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from PIL import Image

from template.cfb import write_compound_file
from tests.fake_aigen import FakeAigen
from tests.photos import make_photo
from xlwings_meter.cli import main

from .xlsxbooks import canonical_children, cells_outside, parts, xlsxwriter_book

ROOT = Path(__file__).resolve().parents[1]
#: The parts a run may write anew; every other part must come back byte for byte.
MAY_CHANGE = {"xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml", "[Content_Types].xml",
              "xl/_rels/workbook.xml.rels"}


def _everything_excel_makes(tmp_path: Path) -> Path:
    """Photos in A, and beside the result columns: sparklines, a data bar with its Excel 2010
    extension, rich text, a table with a total row, a chart with Excel 2013+ style and colour
    parts, a dynamic array, a checkbox, a picture and a comment; and a second sheet."""
    make_photo(tmp_path / "m1.jpg")
    Image.new("RGB", (20, 20), "red").save(tmp_path / "logo.png")

    def setup(wb, ws) -> None:  # type: ignore[no-untyped-def]
        ws.write_column("G2", [1, 2, 3, 4, 5])
        ws.add_sparkline("H2", {"range": "Photos!G2:G6"})
        ws.conditional_format("G2:G6", {"type": "data_bar", "data_bar_2010": True})
        ws.write_rich_string("I2", wb.add_format({"bold": True}), "Checked", " by Ann")
        ws.add_table("K1:L4", {"total_row": True, "columns": [
            {"header": "Meter"}, {"header": "Units", "total_function": "sum"}]})
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"values": "=Photos!$G$2:$G$6"})
        ws.insert_chart("N8", chart)
        ws.write_dynamic_array_formula("P2", "=SORT(G2:G6)")
        ws.insert_checkbox("Q2", True)
        ws.insert_image("S2", str(tmp_path / "logo.png"))
        ws.write_comment("A1", "photos of the March round")

        wb.add_worksheet("Bills").write_row("A1", ["Account", "=SUM(Photos!B:B)"])

    return _with_chart_style(xlsxwriter_book(tmp_path / "march.xlsx", [["m1.jpg"]], setup=setup))


CHART_STYLE = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cs:chartStyle xmlns:cs='
               b'"http://schemas.microsoft.com/office/drawing/2012/chartStyle" id="201"/>')
CHART_COLORS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cs:colorStyle xmlns:cs='
                b'"http://schemas.microsoft.com/office/drawing/2012/chartStyle" meth="cycle" id="10"/>')


def _with_chart_style(path: Path) -> Path:
    """Add the chart style and colour parts Excel 2013 and later write beside each chart."""
    items = parts(path)
    items["xl/charts/style1.xml"] = CHART_STYLE
    items["xl/charts/colors1.xml"] = CHART_COLORS
    items["xl/charts/_rels/chart1.xml.rels"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
        b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        b'microsoft.com/office/2011/relationships/chartStyle" Target="style1.xml"/><Relationship Id="rId2" '
        b'Type="http://schemas.microsoft.com/office/2011/relationships/chartColorStyle" Target="colors1.xml"/>'
        b"</Relationships>")
    items["[Content_Types].xml"] = items["[Content_Types].xml"].replace(b"</Types>", (
        b'<Override PartName="/xl/charts/style1.xml" ContentType="application/vnd.ms-office.chartstyle+xml"/>'
        b'<Override PartName="/xl/charts/colors1.xml" ContentType="application/vnd.ms-office.chartcolorstyle+xml"/>'
        b"</Types>"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items.items():
            z.writestr(name, data)
    return path


def test_whatever_excel_made_survives_a_run_byte_for_byte(tmp_path: Path, aigen_env: FakeAigen,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    book = _everything_excel_makes(tmp_path)
    before = parts(book)
    assert main(["read", str(book)]) == 0
    assert capsys.readouterr().err == ""  # no warning that something was dropped
    after = parts(book)

    assert set(before) <= set(after)
    assert {n for n in before if after[n] != before[n]} <= MAY_CHANGE
    for kept in ("xl/charts/chart1.xml", "xl/charts/style1.xml", "xl/charts/colors1.xml",
                 "xl/charts/_rels/chart1.xml.rels", "xl/worksheets/sheet2.xml", "xl/tables/table1.xml", "xl/metadata.xml", "xl/sharedStrings.xml",
                 "xl/featurePropertyBag/featurePropertyBag.xml", "xl/media/image1.png"):
        assert after[kept] == before[kept], kept
    sheet_before, sheet_after = before["xl/worksheets/sheet1.xml"], after["xl/worksheets/sheet1.xml"]
    # Inside the sheet, element by element: sparklines, the data bar's x14 extension, the
    # table, the drawing, the comment's anchor: all as they were; only the result cells differ.
    skip = ("sheetData", "cols", "dimension")
    assert canonical_children(sheet_after, skip) == canonical_children(sheet_before, skip)
    assert b"x14:sparklineGroups" in sheet_after and b"x14:dataBar" in sheet_after
    assert cells_outside(sheet_after, "BCDE") == cells_outside(sheet_before, "BCDE")
    assert openpyxl.load_workbook(book)["Photos"]["B2"].value == 3245.01


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.slow  # starts LibreOffice
def test_another_spreadsheet_program_reads_the_result(tmp_path: Path, aigen_env: FakeAigen) -> None:
    book = _everything_excel_makes(tmp_path)
    assert main(["read", str(book)]) == 0
    out = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                          "--convert-to", "csv", "--outdir", str(tmp_path / "csv"), str(book)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    lines = (tmp_path / "csv" / "march.csv").read_text().splitlines()
    assert lines[0].startswith("Image,Value,Confidence,Angle,Status")
    assert lines[1].startswith("m1.jpg,3245.01,")


# -- files that are not a workbook one can read: one line each, nothing paid ------------------

def _encrypted(path: Path) -> Path:
    """What Excel writes for a workbook with a password to open: an OLE file, encrypted inside."""
    path.write_bytes(write_compound_file({"EncryptionInfo": b"\x04\x00\x04\x00" + bytes(60),
                                          "EncryptedPackage": os.urandom(2048)}))
    return path


def _old_xls(path: Path) -> Path:
    """An Excel 97-2003 workbook (an OLE file with a Workbook stream), renamed .xlsx."""
    path.write_bytes(write_compound_file({"Workbook": b"\x09\x08\x10\x00" + bytes(2044)}))
    return path


def _with_part(tmp_path: Path, name: str, part: str, data: bytes) -> Path:
    source = xlsxwriter_book(tmp_path / "good.xlsx", [["m1.jpg"]])
    path = tmp_path / name
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, data if item.filename == part else src.read(item))
    return path


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><worksheet><sheetData><row><c t="inlineStr"><is><t>'
        b'&lol3;</t></is></c></row></sheetData></worksheet>')


@pytest.mark.parametrize("make, says", [
    (lambda p: _encrypted(p / "book.xlsx"), "book.xlsx is protected with a password"),
    (lambda p: _old_xls(p / "book.xlsx"), "book.xlsx is an old Excel 97-2003 (.xls) workbook"),
    (lambda p: _with_part(p, "book.xlsx", "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row>"),
     "book.xlsx is damaged (xl/worksheets/sheet1.xml cannot be read)"),
    (lambda p: _with_part(p, "book.xlsx", "xl/worksheets/sheet1.xml", BOMB),
     "book.xlsx is damaged (xl/worksheets/sheet1.xml cannot be read)"),
    (lambda p: _with_part(p, "book.xlsx", "xl/workbook.xml", b"\x00garbage"),
     "book.xlsx is damaged (xl/workbook.xml cannot be read)"),
    (lambda p: _truncated(p), "book.xlsx is damaged (the zip directory cannot be read)"),
    (lambda p: _docx(p / "book.xlsx"), "book.xlsx is not an Excel workbook"),
    (lambda p: (p / "book.xlsx").write_text("Image\nm1.jpg\n") and p / "book.xlsx", "book.xlsx is not an Excel workbook"),
], ids=["encrypted", "old-xls", "broken-sheet-xml", "xml-bomb", "broken-workbook-xml", "truncated",
        "word-document", "text-file"])
@pytest.mark.slow  # a process each, to see all it prints
def test_an_unreadable_workbook_gets_one_line_in_the_users_words(make, says: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 aigen_env: FakeAigen) -> None:
    path = make(tmp_path)
    result = _cli("read", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"xlwings-meter: error: {says}")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert aigen_env.calls == []


def _truncated(tmp_path: Path) -> Path:
    data = xlsxwriter_book(tmp_path / "good.xlsx", [["m1.jpg"]]).read_bytes()
    path = tmp_path / "book.xlsx"
    path.write_bytes(data[: len(data) // 2])  # a copy cut short (a full USB stick, a dropped download)
    return path


def _docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
                   "</Relationships>")
        z.writestr("word/document.xml", "<document/>")
    return path


def _cli(*args: str, limit_file_size: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if limit_file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    return subprocess.run([sys.executable, "-m", "xlwings_meter.cli", *args], cwd="/",
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=60, preexec_fn=limit, check=False)


def test_a_disk_that_cannot_take_the_file_gets_one_line_and_the_old_file_stays_whole(
        tmp_path: Path, aigen_env: FakeAigen) -> None:
    # The process may not write a file bigger than 3 kB: the save fails half-way, as on a full disk.
    book = xlsxwriter_book(tmp_path / "book.xlsx", [[f"missing {i}.jpg"] for i in range(200)])
    before = book.read_bytes()
    result = _cli("read", str(book), limit_file_size=3000)
    assert result.returncode == 1
    assert result.stderr.startswith("xlwings-meter: error: Cannot write book.xlsx: File too large")
    assert len(result.stderr.splitlines()) == 1  # no "Exception ignored in ZipFile.__del__"
    assert book.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("no-such")) == ["book.xlsx"]


# -- results a person can read -----------------------------------------------------------------

def test_results_are_wide_enough_formatted_and_headed_like_the_users_header(
        tmp_path: Path, aigen_env: FakeAigen) -> None:
    make_photo(tmp_path / "m1.jpg")
    book = xlsxwriter_book(tmp_path / "book.xlsx", [["m1.jpg"], ["gone.jpg"]])
    aigen_env.default = aigen_env.default.__class__.success("00935.781", confidence=0.93, angle=-1.5)
    assert main(["read", str(book)]) == 0
    ws = openpyxl.load_workbook(book)["Photos"]
    assert ws["B2"].value == 935.781 and ws["B2"].number_format == "00000.000"
    assert ws["C2"].number_format == "0.0%" and ws["D2"].number_format == "0.0"
    for cell in ("B1", "C1", "D1", "E1"):  # styled like the user's "Image" header
        assert ws[cell].font.b and ws[cell].fill.fgColor.rgb == ws["A1"].fill.fgColor.rgb
    widths = {c: ws.column_dimensions[c].width for c in "BCDE"}
    assert widths["B"] >= len("00935.781") + 1 and widths["C"] >= len("Confidence")
    assert widths["E"] >= min(len(ws["E3"].value), 60)  # "File not found: /tmp/.../gone.jpg"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.slow  # starts LibreOffice
def test_a_workbook_libreoffice_saved_is_read_and_stays_readable(tmp_path: Path, aigen_env: FakeAigen) -> None:
    make_photo(tmp_path / "m1.jpg")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lo.csv").write_text("Image,,,,,Units\nm1.jpg,,,,,12\n")
    lo = [f"-env:UserInstallation=file://{tmp_path}/lo", "--headless"]
    made = subprocess.run(["soffice", *lo, "--convert-to", "xlsx", "--outdir", str(tmp_path),
                           str(tmp_path / "src" / "lo.csv")], capture_output=True, timeout=120, check=False)
    assert made.returncode == 0
    book = tmp_path / "lo.xlsx"
    assert main(["read", str(book)]) == 0
    back = subprocess.run(["soffice", *lo, "--convert-to", "csv", "--outdir", str(tmp_path / "out"), str(book)],
                          capture_output=True, timeout=120, check=False)
    assert back.returncode == 0
    lines = (tmp_path / "out" / "lo.csv").read_text().splitlines()
    assert lines[0] == "Image,Value,Confidence,Angle,Status,Units"
    assert lines[1].startswith("m1.jpg,3245.01,") and lines[1].endswith(",12")


def test_a_damaged_picture_is_found_before_paying_not_when_saving(tmp_path: Path, aigen_env: FakeAigen) -> None:
    book = _everything_excel_makes(tmp_path)
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as z:
        info = z.getinfo("xl/media/image1.png")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 10] ^= 0xFF  # one flipped byte inside the stored picture: its checksum fails
    book.write_bytes(bytes(data))
    result = _cli("read", str(book))
    assert result.returncode == 1
    assert result.stderr.startswith("xlwings-meter: error: march.xlsx is damaged (xl/media/image1.png")
    assert aigen_env.calls == []
