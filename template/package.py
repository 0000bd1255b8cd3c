"""The Open XML package (the zip) around the VBA project: workbook, sheets, styles, ribbon.

Each part is written as a plain string from the declarations in ``template.spec``; the zip gets
fixed timestamps and no compression, so the same inputs give the same bytes whatever zlib the
machine has.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape, quoteattr

from openpyxl.utils import get_column_letter as column_letter

from .spec import Cell, SheetSpec

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# The relationship type openpyxl looks for when it carries a ribbon through a load and save
# (the 2007 type, meant for customUI14, would be dropped).
CUSTOM_UI_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"

XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Style name -> (font id, number format id, wrap text). Fonts and formats are defined below.
STYLES: dict[str, tuple[int, int, bool]] = {
    "default": (0, 0, False),
    "header": (1, 0, False),
    "title": (2, 0, False),
    "wrap": (0, 0, True),
    "meter_value": (0, 164, False),
    "confidence": (0, 2, False),  # built-in "0.00"
    "angle": (0, 165, False),
}
_NUM_FMTS = {164: "00000.000", 165: "0.0"}
_FONTS = (
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>',
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>',
    '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>',
)


class SharedStrings:
    """The workbook's shared string table, in order of first use."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self.count = 0

    def add(self, text: str) -> int:
        self.count += 1
        return self._index.setdefault(text, len(self._index))

    def xml(self) -> str:
        items = "".join(
            f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in self._index
        )
        return (
            f'{XML_DECL}<sst xmlns="{MAIN_NS}" count="{self.count}" '
            f'uniqueCount="{len(self._index)}">{items}</sst>'
        )


def _cell_xml(ref: str, cell: Cell, strings: SharedStrings) -> str:
    style = list(STYLES).index(cell.style)
    s_attr = f' s="{style}"' if style else ""
    if isinstance(cell.value, str):
        if cell.value == "":
            return f'<c r="{ref}"{s_attr}/>'
        return f'<c r="{ref}"{s_attr} t="s"><v>{strings.add(cell.value)}</v></c>'
    return f'<c r="{ref}"{s_attr}><v>{cell.value!r}</v></c>'


def sheet_xml(sheet: SheetSpec, strings: SharedStrings, selected: bool) -> str:
    """One worksheet part, with the codeName that ties it to its VBA document module."""
    width = max(len(row) for row in sheet.rows)
    dimension = f"A1:{column_letter(width)}{len(sheet.rows)}"
    if sheet.freeze_header:
        view_body = (
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        )
    else:
        view_body = '<selection activeCell="A1" sqref="A1"/>'
    tab_selected = ' tabSelected="1"' if selected else ""
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(sheet.column_widths, start=1)
    )
    rows = []
    for r, row in enumerate(sheet.rows, start=1):
        cells = "".join(
            _cell_xml(f"{column_letter(c)}{r}", cell, strings)
            for c, cell in enumerate(row, start=1)
        )
        rows.append(f'<row r="{r}">{cells}</row>')
    return (
        f'{XML_DECL}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f"<sheetPr codeName={quoteattr(sheet.code_name)}/>"
        f'<dimension ref="{dimension}"/>'
        f'<sheetViews><sheetView workbookViewId="0"{tab_selected}>{view_body}</sheetView>'
        "</sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + f'<sheetData>{"".join(rows)}</sheetData>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    )


def styles_xml() -> str:
    num_fmts = "".join(
        f"<numFmt numFmtId={quoteattr(str(i))} formatCode={quoteattr(code)}/>"
        for i, code in _NUM_FMTS.items()
    )
    xfs = "".join(
        f'<xf numFmtId="{fmt}" fontId="{font}" fillId="0" borderId="0" xfId="0"'
        + (' applyFont="1"' if font else "")
        + (' applyNumberFormat="1"' if fmt else "")
        + (' applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>' if wrap else "/>")
        for font, fmt, wrap in STYLES.values()
    )
    return (
        f'{XML_DECL}<styleSheet xmlns="{MAIN_NS}">'
        f'<numFmts count="{len(_NUM_FMTS)}">{num_fmts}</numFmts>'
        f'<fonts count="{len(_FONTS)}">{"".join(_FONTS)}</fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        f'<cellXfs count="{len(STYLES)}">{xfs}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


def workbook_xml(sheets: tuple[SheetSpec, ...], code_name: str) -> str:
    entries = "".join(
        f'<sheet name={quoteattr(s.name)} sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1)
    )
    return (
        f'{XML_DECL}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f"<workbookPr codeName={quoteattr(code_name)}/>"
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{entries}</sheets>"
        '<calcPr calcId="191029"/>'
        "</workbook>"
    )


def _relationships(rels: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<Relationship Id="rId{i}" Type="{rel_type}" Target="{target}"/>'
        for i, (rel_type, target) in enumerate(rels, start=1)
    )
    return f'{XML_DECL}<Relationships xmlns="{PKG_REL_NS}">{items}</Relationships>'


def _content_types(n_sheets: int) -> str:
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = [
        ("/xl/workbook.xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml"),
        *(
            (f"/xl/worksheets/sheet{i}.xml", f"{sml}.worksheet+xml")
            for i in range(1, n_sheets + 1)
        ),
        ("/xl/styles.xml", f"{sml}.styles+xml"),
        ("/xl/sharedStrings.xml", f"{sml}.sharedStrings+xml"),
        ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        (
            "/docProps/app.xml",
            "application/vnd.openxmlformats-officedocument.extended-properties+xml",
        ),
    ]
    body = (
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
    )
    return (
        f'{XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f"{body}</Types>"
    )


def _core_xml() -> str:
    return (
        f"{XML_DECL}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:title>xlwings-meter</dc:title><dc:creator>xlwings-meter</dc:creator>"
        "</cp:coreProperties>"
    )


def _app_xml() -> str:
    return (
        f"{XML_DECL}<Properties "
        'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>xlwings-meter template/build.py</Application></Properties>"
    )


def write_package(
    sheets: tuple[SheetSpec, ...],
    workbook_code_name: str,
    vba_project: bytes,
    custom_ui: bytes,
) -> bytes:
    """Return the bytes of the .xlsm holding ``sheets``, the VBA project and the ribbon."""
    strings = SharedStrings()
    sheet_parts = [
        (f"xl/worksheets/sheet{i}.xml", sheet_xml(s, strings, selected=(i == 1)))
        for i, s in enumerate(sheets, start=1)
    ]
    n = len(sheets)
    workbook_rels = [(f"{REL_NS}/worksheet", f"worksheets/sheet{i}.xml") for i in range(1, n + 1)]
    workbook_rels += [
        (f"{REL_NS}/styles", "styles.xml"),
        (f"{REL_NS}/sharedStrings", "sharedStrings.xml"),
        (VBA_REL, "vbaProject.bin"),
    ]
    root_rels = [
        (f"{REL_NS}/officeDocument", "xl/workbook.xml"),
        (f"{PKG_REL_NS}/metadata/core-properties", "docProps/core.xml"),
        (f"{REL_NS}/extended-properties", "docProps/app.xml"),
        (CUSTOM_UI_REL, "customUI/customUI.xml"),
    ]
    parts: list[tuple[str, bytes | str]] = [
        ("[Content_Types].xml", _content_types(n)),
        ("_rels/.rels", _relationships(root_rels)),
        ("docProps/core.xml", _core_xml()),
        ("docProps/app.xml", _app_xml()),
        ("customUI/customUI.xml", custom_ui),
        ("xl/workbook.xml", workbook_xml(sheets, workbook_code_name)),
        ("xl/_rels/workbook.xml.rels", _relationships(workbook_rels)),
        *sheet_parts,
        ("xl/styles.xml", styles_xml()),
        ("xl/sharedStrings.xml", strings.xml()),
        ("xl/vbaProject.bin", vba_project),
    ]

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return buffer.getvalue()
