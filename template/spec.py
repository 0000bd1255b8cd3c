"""What goes into ``workbook_template.xlsm``: modules, references, the UDF's signature, sheets.

Everything the build reads besides the files under ``template/vba`` and ``template/customUI.xml``
is declared here, once. The tests compare the built workbook against these declarations and,
where it exists, against the Python code they describe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .ovba import ModuleKind, ProjectReference, RegisteredReference

HERE = Path(__file__).resolve().parent
VBA_DIR = HERE / "vba"
CUSTOM_UI = HERE / "customUI.xml"
TEMPLATE_NAME = "workbook_template.xlsm"


# --- The worksheet function -------------------------------------------------------------------


@dataclass(frozen=True)
class UdfParameter:
    """One parameter of a Python UDF: ``default`` is None for a required parameter."""

    name: str
    default: str | None
    doc: str


@dataclass(frozen=True)
class UdfDeclaration:
    """A Python function that the prebuilt ``xlwings_udfs`` VBA module wraps."""

    module: str
    name: str
    parameters: tuple[UdfParameter, ...]


# The one place that states METERREAD's signature until xlwings_meter.udfs exists; when it does,
# tests/test_template.py compares the wrapper with the real function instead.
METERREAD = UdfDeclaration(
    module="xlwings_meter.udfs",
    name="METERREAD",
    parameters=(
        UdfParameter("path", None, "Path of the meter photo"),
        UdfParameter(
            "field", "value", '"value" (default), "confidence", "angle", "status" or "all"'
        ),
    ),
)
UDFS = (METERREAD,)


# --- The VBA project --------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleSource:
    """A VBA module and the file under ``template/vba`` that holds its text."""

    name: str
    kind: ModuleKind
    filename: str

    @property
    def path(self) -> Path:
        return VBA_DIR / self.filename


# Document modules first, in the order of the workbook and its sheets, as Excel lists them.
MODULES = (
    ModuleSource("ThisWorkbook", ModuleKind.DOCUMENT, "ThisWorkbook.cls"),
    ModuleSource("Sheet1", ModuleKind.DOCUMENT, "Sheet1.cls"),
    ModuleSource("Sheet2", ModuleKind.DOCUMENT, "Sheet2.cls"),
    ModuleSource("MeterRibbon", ModuleKind.STANDARD, "MeterRibbon.bas"),
    ModuleSource("xlwings_udfs", ModuleKind.STANDARD, "xlwings_udfs.bas"),
)

PROJECT_NAME = "VBAProject"
# Fixed so that every build is identical; any GUID would do:
# uuid.uuid5(uuid.NAMESPACE_DNS, "xlwings-meter").
PROJECT_ID = "{978EFDCA-556A-5541-8457-C995E7176C4A}"

REFERENCES = (
    RegisteredReference(
        "stdole",
        r"*\G{00020430-0000-0000-C000-000000000046}#2.0#0"
        r"#C:\Windows\System32\stdole2.tlb#OLE Automation",
    ),
    # IRibbonControl, in the ribbon callbacks' signature, comes from the Office library.
    RegisteredReference(
        "Office",
        r"*\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0"
        r"#C:\Program Files\Common Files\Microsoft Shared\OFFICE16\MSO.DLL"
        r"#Microsoft Office 16.0 Object Library",
    ),
    # RunPython and XLPy.CallUDF live in the xlwings add-in's VBA project ("xlwings").
    # `xlwings addin install` copies xlwings.xlam into XLSTART, so it is open before this
    # workbook; VBA then binds the reference to the open xlwings.xlam by its file name, which is
    # how xlwings' own quickstart.xlsm finds it on machines other than the one it was saved on.
    # The version is that of the add-in in xlwings 0.37.8; VBA does not require it to match.
    ProjectReference(
        "xlwings",
        libid_absolute=r"*\CC:\Program Files\Microsoft Office\root\Office16\XLSTART\xlwings.xlam",
        libid_relative=r"*\Cxlwings.xlam",
        major_version=0x6B4FEF4C,
        minor_version=8,
    ),
)


# --- The sheets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A cell value and the name of its style in ``template.package.STYLES``."""

    value: str | float
    style: str = "default"


@dataclass(frozen=True)
class SheetSpec:
    """One worksheet: its tab name, the VBA document module behind it, its rows."""

    name: str
    code_name: str
    rows: tuple[tuple[Cell, ...], ...]
    column_widths: tuple[float, ...] = ()
    freeze_header: bool = False


READINGS_HEADERS = ("Image", "Value", "Confidence", "Angle", "Status")

READINGS = SheetSpec(
    name="Readings",
    code_name="Sheet1",
    rows=(
        tuple(Cell(h, "header") for h in READINGS_HEADERS),
        (
            Cell(r"photos\meter_0001.jpg"),
            Cell(935.781, "meter_value"),
            Cell(0.93, "confidence"),
            Cell(1.5, "angle"),
            # Status stays empty: that is what Read meters writes for a photo it read.
        ),
    ),
    column_widths=(40, 14, 12, 10, 14),
    freeze_header=True,
)

_INSTRUCTIONS_TEXT = (
    ("xlwings-meter: read water-meter photos into this workbook", "title"),
    ("", "default"),
    ("1. Install (once per computer)", "header"),
    ("Open a command prompt (Terminal on a Mac) and install xlwings-meter from its folder "
     "(it is not on PyPI yet):  pip install <the xlwings-meter folder>", "wrap"),
    ("Then run:  xlwings addin install   (adds the xlwings add-in to Excel; the Meter tab and "
     "METERREAD need it). If Excel says \"Can't find project or library\", the add-in is missing: "
     "run that command and restart Excel.", "wrap"),
    ("Get a fresh copy of this workbook with:  xlwings-meter template   (a copy written on your "
     "computer is not blocked). A copy you downloaded has its macros blocked by Office: close it, "
     "right-click the file > Properties > tick Unblock > OK, and open it again.", "wrap"),
    ("", "default"),
    ("2. Your AIGEN API key (never in this workbook)", "header"),
    ("Either set the environment variable AIGEN_API_KEY to your key, or add the line "
     '"AIGEN_API_KEY","<your key>" to the xlwings.conf file that xlwings addin install created: '
     ".xlwings\\xlwings.conf in your user folder on Windows; on a Mac "
     "~/Library/Containers/com.microsoft.Excel/Data/xlwings.conf (Excel's own folder). "
     "Keep the lines already in it.", "wrap"),
    ("Never type the key into a sheet: a workbook is copied and e-mailed, and the key would "
     "travel with it. A key found on a workbook's xlwings.conf sheet is ignored.", "wrap"),
    ("To pass readings to colleagues without a key and at no cost: add a sheet named "
     "xlwings.conf with METER_CACHE_ONLY in A1 and TRUE in B1; nothing is then sent.", "wrap"),
    ("", "default"),
    ("3. Read meters", "header"),
    ("Put the paths of the meter photos in column A of the Readings sheet, one per row.", "wrap"),
    ("Meter tab > Read meters: fills Value, Confidence, Angle and Status. Photos already read "
     "are taken from the cache and not paid for again.", "wrap"),
    ("Meter tab > Re-read selection: reads the selected rows again, ignoring the cache.", "wrap"),
    ("Meter tab > Settings/Help: shows the settings in use and where they come from.", "wrap"),
    ('In a cell (Windows only): =METERREAD(A2) gives the value; =METERREAD(A2, "confidence"), '
     '"angle", "status" or "all" give the rest. On a Mac, xlwings runs no worksheet functions: '
     "such a cell shows a VBA error text instead of a number; use the Read meters button.", "wrap"),
    ("", "default"),
    ("Keep the file as a macro-enabled workbook (.xlsm) and enable macros when Excel asks.",
     "wrap"),
)

INSTRUCTIONS = SheetSpec(
    name="Instructions",
    code_name="Sheet2",
    rows=tuple((Cell(text, style),) for text, style in _INSTRUCTIONS_TEXT),
    column_widths=(110,),
)

SHEETS = (READINGS, INSTRUCTIONS)
WORKBOOK_CODE_NAME = "ThisWorkbook"
