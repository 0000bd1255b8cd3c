"""Workbooks written by another program (xlsxwriter, the library many tools export with), and a
look inside the zip they are stored in."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from lxml import etree

Setup = Callable[[Any, Any], None]


def xlsxwriter_book(path: Path, rows: Sequence[Sequence[object]], header: Sequence[object] = ("Image",),
                    *, header_row: int = 1, setup: Setup | None = None) -> Path:
    """A workbook by xlsxwriter: a bold, shaded ``header`` in ``header_row``, ``rows`` below it.

    ``setup(workbook, worksheet)`` adds whatever else the test needs before it is closed.
    """
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Photos")
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7"})
    ws.write_row(header_row - 1, 0, list(header), bold)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                ws.write(header_row + i, j, value)
    if setup is not None:
        setup(wb, ws)
    wb.close()
    return path


def parts(path: Path) -> dict[str, bytes]:
    """Every part of the package, by name."""
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def canonical_children(xml: bytes, skip: Sequence[str] = ()) -> list[bytes]:
    """The canonical form (C14N) of each child of the root, but those named in ``skip``."""
    root = etree.fromstring(xml)
    return [etree.tostring(child, method="c14n") for child in root
            if etree.QName(child).localname not in skip]


def cells_outside(xml: bytes, columns: Sequence[str]) -> list[bytes]:
    """Canonical form of every cell of a sheet part that is not in ``columns`` (letters)."""
    root = etree.fromstring(xml)
    ns = etree.QName(root).namespace
    found = []
    for cell in root.iter(f"{{{ns}}}c"):
        letters = "".join(ch for ch in cell.get("r", "") if ch.isalpha())
        if letters not in columns:
            found.append(etree.tostring(cell, method="c14n"))
    return found
