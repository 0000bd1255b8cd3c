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
