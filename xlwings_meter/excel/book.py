"""The sheet interface over a workbook open in Excel, through xlwings.

Every call here crosses into Excel (COM on Windows, AppleScript on macOS) and costs about a
millisecond to tens of milliseconds, so blocks are read and written as whole ranges and number
formats are set once per distinct format, never once per cell.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from xlwings_meter.errors import ColumnNotFoundError, WorkbookError
from xlwings_meter.workbook.columns import column_letter
from xlwings_meter.workbook.sheet import FLAG_FILL, FLAG_FONT, Cell, Page, Picture, login_name, plain

TEXT_FORMAT = "@"
#: Excel refuses an address longer than this in one Range("...") call.
MAX_ADDRESS = 255
# COM: "call rejected by callee" (Excel is calculating, or a cell is being edited) and the
# same refusal wrapped by VBA; xlwings' own UDF code retries on exactly these.
_BUSY_HRESULTS = {-2147418111, -2146777998}
_DISP_E_EXCEPTION = -2147352567
_BUSY_SCODES = {None, -2146827284}
_XL_CALCULATION_DONE = 0
_XL_EXPRESSION = 2  # FormatConditions.Add(Type=xlExpression)


class ExcelBusyError(WorkbookError):
    """Excel refused a call because it is calculating or a cell is being edited; try later."""


def is_busy(exc: BaseException) -> bool:
    """True when a COM error means "Excel is busy, ask again later"."""
    hresult = getattr(exc, "hresult", None)
    if hresult in _BUSY_HRESULTS:
        return True
    if hresult == _DISP_E_EXCEPTION:
        info = exc.args[2] if len(getattr(exc, "args", ())) > 2 else None
        return info is not None and len(info) > 5 and info[5] in _BUSY_SCODES
    return False


class ExcelSheet:
    """One worksheet of a live workbook."""

    #: Excel computes every formula: a formula that shows nothing shows "" (errors read as text).
    computed = True

    def __init__(self, sheet: Any) -> None:
        self._sheet = sheet
        self.name: str = sheet.name

    def extent(self) -> tuple[int, int]:
        """(last used row, last used column); (0, 0) for an empty sheet."""
        used = self._sheet.used_range
        last = used.last_cell
        row, column = last.row, last.column
        if row == 1 and column == 1 and used.value is None:
            return (0, 0)
        return (row, column)

    def read_block(self, top: int, left: int, bottom: int, right: int) -> list[list[Cell]]:
        """Values of the rectangle, row by row; a formula gives its text, like a file would."""
        if bottom < top or right < left:
            return []
        rng = self._sheet.range((top, left), (bottom, right))
        values = rng.options(ndim=2).value
        formulas = _grid(rng.formula, bottom - top + 1, right - left + 1)
        return [
            [f if isinstance(f, str) and f.startswith("=") else plain(v) for v, f in zip(vrow, frow)]
            for vrow, frow in zip(values, formulas)
        ]

    def read_shown(self, top: int, left: int, bottom: int, right: int) -> list[list[Cell]]:
        """What the rectangle shows: a formula gives the value Excel computed."""
        if bottom < top or right < left:
            return []
        values = self._sheet.range((top, left), (bottom, right)).options(ndim=2, err_to_str=True).value
        return [[plain(v) for v in row] for row in values]

    def links(self, top: int, left: int, bottom: int, right: int) -> dict[tuple[int, int], str]:
        """Targets of the hyperlinks put on cells of the rectangle (Insert > Link).

        xlwings answers one cell at a time (``Range.hyperlink``), so Excel is first asked how
        many links the rectangle holds (one call): none, the usual case, costs nothing more;
        else only cells showing text are asked (a link shows its text), until all are found.
        A formula's =HYPERLINK is read from the formula by the caller, and xlwings would give a
        formula's first quoted text as its "hyperlink", so formulas are skipped.
        """
        if bottom < top or right < left:
            return {}
        rng = self._sheet.range((top, left), (bottom, right))
        count = _link_count(rng)
        if count == 0:
            return {}
        with excel_calls():
            values = rng.options(ndim=2).value
            formulas = _grid(rng.formula, bottom - top + 1, right - left + 1)
        found: dict[tuple[int, int], str] = {}
        for i, (vrow, frow) in enumerate(zip(values, formulas)):
            for j, (value, formula) in enumerate(zip(vrow, frow)):
                if not isinstance(value, str) or (isinstance(formula, str) and formula.startswith("=")):
                    continue
                with excel_calls():
                    try:
                        target = self._sheet.range((top + i, left + j)).hyperlink
                    except Exception as exc:  # xlwings raises a plain Exception: no hyperlink
                        if is_busy(exc):
                            raise
                        continue
                if target:  # a link to a place in the workbook has no address
                    found[(top + i, left + j)] = str(target)
                if count is not None and len(found) >= count:
                    return found
        return found

    def obstacles(self, top: int, left: int, bottom: int, right: int) -> tuple[bool, list[str]]:
        """Merged cells in the rectangle (one call); Excel itself refuses a protected sheet."""
        rng = self._sheet.range((top, left), (bottom, right))
        return False, [rng.address.replace("$", "")] if rng.merge_cells else []

    def drawn(self) -> list[tuple[int, int, int, int]]:
        """The cells each picture, chart or shape lies over (Windows: its TopLeftCell and
        BottomRightCell through COM); none known where Excel's object model cannot say."""
        areas = []
        with excel_calls():
            try:
                for shape in self._sheet.shapes:
                    start, end = shape.api.TopLeftCell, shape.api.BottomRightCell
                    areas.append((int(start.Row), int(start.Column), int(end.Row), int(end.Column)))
            except Exception as exc:  # a Mac (AppleScript), or an object model without them
                if is_busy(exc):
                    raise
        return areas

    def dress(self, header: tuple[int, int], row: int, left: int, widths: Sequence[float]) -> None:
        """Head the results like cell ``header`` (bold, fill) unless a person filled them already,
        and fit the result columns to what they hold (a handful of calls, whatever the length)."""
        source = self._sheet.range(header)
        target = self._sheet.range((row, left), (row, left + len(widths) - 1))
        with excel_calls():
            fill = source.color
            if fill is not None and target.color is None:
                target.color = fill
                if source.font.bold:
                    target.font.bold = True
            target.columns.autofit()

    def highlight(self, area: tuple[int, int, int, int], formulas: Sequence[str], mark: str) -> None:
        """Replace this tool's conditional-formatting rules (their formula holds ``mark``) through
        Excel's object model (Windows: ``Range.api`` is COM). On a Mac, where ``api`` is
        AppleScript, the rules are not written: the Check column still says what is wrong."""
        with excel_calls():
            try:
                existing = self._sheet.api.Cells.FormatConditions
            except AttributeError:  # not COM (macOS)
                return
            for i in range(existing.Count, 0, -1):
                condition = existing.Item(i)
                try:
                    formula = str(condition.Formula1)
                except Exception:  # data bars, icon sets: no formula, and never ours
                    continue
                if mark in formula:
                    condition.Delete()
            top, left, bottom, right = area
            added = self._sheet.range((top, left), (bottom, right)).api.FormatConditions
            for formula in formulas:
                try:
                    condition = added.Add(Type=_XL_EXPRESSION, Formula1="=" + formula)
                except Exception as exc:
                    if is_busy(exc):
                        raise
                    # Excel may want the formula in its own language (e.g. UND for AND): the
                    # rows then go without a highlight, and the Check column still says why.
                    return
                condition.Interior.Color = _bgr(FLAG_FILL)
                condition.Font.Color = _bgr(FLAG_FONT)
                condition.StopIfTrue = False

    def write_block(
        self,
        top: int,
        left: int,
        values: Sequence[Sequence[Cell]],
        number_formats: Sequence[Sequence[str | None]] | None = None,
    ) -> None:
        """Write a rectangle of values; formats first, and every text cell as text ("@").

        Excel parses what is written into a General cell: "00935.781" would become 935.781 and
        "=..." a formula, so text cells get the "@" format before their values arrive.
        """
        if not values:
            return
        width = max(len(row) for row in values)
        grid = [list(row) + [None] * (width - len(row)) for row in values]
        formats = [
            [TEXT_FORMAT if isinstance(v, str) else (number_formats[i][j] if number_formats else None)
             for j, v in enumerate(row)]
            for i, row in enumerate(grid)
        ]
        with excel_calls():
            for fmt, addresses in format_areas(top, left, formats).items():
                for address in addresses:
                    self._sheet.range(address).number_format = fmt
            self._sheet.range((top, left), (top + len(grid) - 1, left + width - 1)).value = grid


class ExcelBook:
    """A workbook open in Excel, as an xlwings ``Book``.

    COM objects belong to the thread that obtained them: ``in_this_thread`` gives the same
    workbook as seen from another thread (the deferred cache write runs in one).
    """

    def __init__(self, book: Any) -> None:
        self._book = book
        self.fullname: str = book.fullname
        self.path: Path | None = local_path(self.fullname)
        self.folder: Path | None = self.path.parent if self.path else None
        self._thread = threading.get_ident()
        self._elsewhere = threading.local()

    @property
    def xl(self) -> Any:
        """The xlwings Book, for what only Excel has (status bar, selection, alerts)."""
        return self._book

    def sheet_names(self) -> list[str]:
        """Names of every sheet, in order, hidden ones included."""
        return [s.name for s in self._book.sheets]

    def user_name(self) -> str:
        """Excel's user name (File > Options > General), else the login name."""
        try:
            name = str(self._book.app.api.UserName or "").strip()
        except Exception:  # not COM (macOS), or Excel would not say
            name = ""
        return name or login_name()

    def sheet(self, name: str | None = None) -> ExcelSheet:
        """The named sheet (any case), or the first visible one."""
        for sheet in self._book.sheets:
            if (sheet.visible if name is None else sheet.name.casefold() == name.casefold()):
                return ExcelSheet(sheet)
        if name is None:
            raise ColumnNotFoundError(f"{self._book.name} has no visible worksheet", named=False)
        raise ColumnNotFoundError(f"No sheet named {name!r} in {self._book.name}", sheet=name)

    def hidden_sheet(self, name: str) -> ExcelSheet:
        """The named sheet, created hidden after the last sheet if it does not exist."""
        sheets = self._book.sheets
        for sheet in sheets:
            if sheet.name == name:
                return ExcelSheet(sheet)
        with excel_calls():
            active = sheets.active
            sheet = sheets.add(name, after=sheets[len(sheets) - 1])
            sheet.visible = False
            active.activate()  # adding a sheet shows it; give the user back their sheet
        return ExcelSheet(sheet)

    def page_pictures(self, name: str) -> dict[str, Picture]:
        """None to reuse: Excel does not hand a picture's bytes back through xlwings."""
        return {}

    def write_page(self, name: str, page: Page, prefix: str) -> None:
        """Make sheet ``name`` show ``page`` (see ``excel.pages.write_page``)."""
        from xlwings_meter.excel.pages import write_page

        write_page(self._book, name, page, prefix)

    def excel_is_idle(self) -> bool:
        """True when Excel has finished calculating and no cell is being edited."""
        try:
            api = self._book.app.api
            return api.CalculationState == _XL_CALCULATION_DONE and bool(api.Ready)
        except Exception as exc:
            if is_busy(exc):
                return False
            raise

    def in_this_thread(self) -> ExcelBook:
        """This workbook through COM objects that belong to the calling thread."""
        if threading.get_ident() == self._thread:
            return self
        here: ExcelBook | None = getattr(self._elsewhere, "book", None)
        if here is None:
            found = next((b for b in open_books() if b.fullname == self.fullname), None)
            if found is None:
                raise WorkbookError(f"{self.fullname} is no longer open in Excel")
            here = self._elsewhere.book = ExcelBook(found)
        return here


def _link_count(rng: Any) -> int | None:
    """How many hyperlinks a range holds, in one call (COM's ``Range.Hyperlinks.Count``);
    None where Excel cannot say so (not Windows): then every cell is asked."""
    try:
        with excel_calls():
            return int(rng.api.Hyperlinks.Count)
    except ExcelBusyError:
        raise
    except Exception:
        return None


def open_books() -> Iterable[Any]:
    """Every workbook open in every Excel instance, as seen from the calling thread."""
    import xlwings as xw

    try:  # pywin32: a thread must join COM before it talks to Excel
        import pythoncom

        pythoncom.CoInitialize()
    except ImportError:
        pass
    for app in xw.apps:
        yield from app.books


class excel_calls:
    """Turns Excel's "busy, call later" refusals into ExcelBusyError."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None and not isinstance(exc, ExcelBusyError) and is_busy(exc):
            raise ExcelBusyError("Excel is busy (calculating, or a cell is being edited)") from exc


def local_path(fullname: str) -> Path | None:
    """The file behind a workbook's FullName; None when unsaved ("Book1") or online (https://)."""
    if "://" in fullname or not (os.sep in fullname or "/" in fullname):
        return None
    return Path(fullname)


def format_areas(top: int, left: int, formats: Sequence[Sequence[str | None]]) -> dict[str, list[str]]:
    """Group cells by number format into as few multi-area addresses as fit Excel's limit.

    Within each column, consecutive cells with the same format become one area ("B2:B201"),
    so a batch whose readings share a format costs one call per format, whatever its length.

    >>> format_areas(2, 2, [["0.0", "@"], ["0.0", "@"], ["0.00", None]])
    {'0.0': ['B2:B3'], '0.00': ['B4'], '@': ['C2:C3']}
    """
    runs: dict[str, list[str]] = {}
    width = max((len(row) for row in formats), default=0)
    for j in range(width):
        letter = column_letter(left + j)
        start = 0
        column = [row[j] if j < len(row) else None for row in formats] + [None]
        for i in range(1, len(column) + 1):
            if i == len(column) or column[i] != column[start]:
                fmt = column[start]
                if fmt is not None:
                    first, last = top + start, top + i - 1
                    area = f"{letter}{first}" if first == last else f"{letter}{first}:{letter}{last}"
                    runs.setdefault(fmt, []).append(area)
                start = i
    return {fmt: _chunks(areas) for fmt, areas in runs.items()}


def _chunks(areas: list[str]) -> list[str]:
    chunks: list[str] = []
    for area in areas:
        if chunks and len(chunks[-1]) + 1 + len(area) <= MAX_ADDRESS:
            chunks[-1] += "," + area
        else:
            chunks.append(area)
    return chunks


def _bgr(rgb: tuple[int, int, int]) -> int:
    """An RGB colour as the number Excel's object model takes (red in the low byte)."""
    r, g, b = rgb
    return r + g * 256 + b * 65536


def _grid(value: Any, rows: int, columns: int) -> list[list[Any]]:
    """xlwings gives a lone cell's formula as a string and a block's as nested tuples."""
    if rows == 1 and columns == 1 and not isinstance(value, (list, tuple)):
        return [[value]]
    if rows == 1 and value and not isinstance(value[0], (list, tuple)):
        return [list(value)]
    if columns == 1 and value and not isinstance(value[0], (list, tuple)):
        return [[v] for v in value]
    return [list(row) for row in value]
