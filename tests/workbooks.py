"""Real workbook files for tests: a sheet of photo paths, and a macro-enabled copy with a ribbon."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl

RIBBON_XML = (
    '<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"><ribbon><tabs>'
    '<tab id="meter" label="Meter"><group id="g" label="Meter">'
    '<button id="read" label="Read meters" onAction="ReadMeters"/></group></tab>'
    "</tabs></ribbon></customUI>"
)
VBA_BYTES = bytes(range(256)) * 64  # stands for a VBA project: it must come back byte for byte


def photo_book(path: Path, rows: Sequence[Sequence[object]], header: Sequence[object] = ("Image",),
               sheet: str = "Photos") -> Path:
    """A workbook whose first sheet has ``header`` in row 1 and ``rows`` below it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def add_macros_and_ribbon(xlsx: Path, xlsm: Path) -> Path:
    """Turn an .xlsx into an .xlsm carrying a VBA project part and a 2006 customUI ribbon."""
    with zipfile.ZipFile(xlsx) as src, zipfile.ZipFile(xlsm, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"</Types>",
                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
                )
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
                    b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
                )
            elif item.filename == "_rels/.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdUI" Type="http://schemas.microsoft.com/office/2006/'
                    b'relationships/ui/extensibility" Target="customUI/customUI.xml"/></Relationships>',
                )
            dst.writestr(item, data)
        dst.writestr("xl/vbaProject.bin", VBA_BYTES)
        dst.writestr("customUI/customUI.xml", RIBBON_XML)
    return xlsm


SHAPE_DRAWING = (
    '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:twoCellAnchor>'
    "<xdr:from><xdr:col>6</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
    "<xdr:to><xdr:col>9</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>6</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
    '<xdr:sp><xdr:nvSpPr><xdr:cNvPr id="2" name="Note"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr>'
    '<xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr>'
    "<xdr:txBody><a:bodyPr/><a:p><a:r><a:t>Checked by Anna</a:t></a:r></a:p></xdr:txBody></xdr:sp>"
    "<xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
)


def add_text_box(xlsx: Path, out: Path) -> Path:
    """Copy a workbook made by photo_book, with a text box on its sheet (a shape openpyxl drops)."""
    with zipfile.ZipFile(xlsx) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/drawings/drawing1.xml" ContentType='
                                    b'"application/vnd.openxmlformats-officedocument.drawing+xml"/></Types>')
            elif item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", b'<drawing r:id="rIdD"/></worksheet>')
                if b'xmlns:r="' not in data:
                    data = data.replace(b"<worksheet ", b'<worksheet xmlns:r="http://schemas.openxmlformats.org/'
                                        b'officeDocument/2006/relationships" ', 1)
            dst.writestr(item, data)
        dst.writestr("xl/worksheets/_rels/sheet1.xml.rels",
                     '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     '<Relationship Id="rIdD" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                     'relationships/drawing" Target="../drawings/drawing1.xml"/></Relationships>')
        dst.writestr("xl/drawings/drawing1.xml", SHAPE_DRAWING)
    return out
