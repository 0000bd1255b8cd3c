"""A small stand-in for Excel as xlwings shows it, because Excel cannot run here.

It implements only what ``xlwings_meter.excel.book``, ``udfs`` and ``ribbon`` touch (Book,
Sheets, Sheet, Range with ``.value``, ``.formula``, ``.options``, ``.number_format``,
``.used_range``, ``.visible``, ``sheets.add``; App with ``status_bar``, ``alert`` and the
calculation state), over in-memory cells, and it behaves like Excel where that matters:

- every call is COUNTED (``excel.calls``; writes end in "="), as each is a round trip to Excel;
- a text written into a cell not formatted "@" is parsed: "00935.781" becomes 935.781 and
  "=..." a formula, so code that forgets the text format fails here as in Excel;
- while ``excel.calculating`` every write is refused with COM's RPC_E_SERVERCALL_RETRYLATER;
- objects belong to the thread that got them: another thread gets RPC_E_WRONG_THREAD;
- conditional formatting through ``.api`` as COM has it on Windows (``FormatConditions``:
  Count, Item, Add, Delete; Interior and Font colours), recorded per sheet in ``rules``.

The "disk" (``excel.disk``) holds saved workbooks: ``save``, ``close`` and ``open`` move
workbooks between it and Excel, so reopening and closing without saving can be tested.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .xlwings_fake_pictures import FakePictures, PictureState
    from .xlwings_fake_rules import RuleState

RPC_E_SERVERCALL_RETRYLATER = -2147418111
RPC_E_WRONG_THREAD = -2147417842
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


class FakeComError(Exception):
    """What pywin32 raises when Excel refuses a call."""

    def __init__(self, hresult: int, text: str) -> None:
        super().__init__(hresult, text, None, None)
        self.hresult = hresult


@dataclass
class SheetState:
    name: str
    values: dict[tuple[int, int], Any] = field(default_factory=dict)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    formats: dict[tuple[int, int], str] = field(default_factory=dict)
    visible: bool = True
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (r1, c1, r2, c2)
    autofitted: set[int] = field(default_factory=set)  # columns Excel fitted to their content
    fills: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)  # cell colours
    bold: set[tuple[int, int]] = field(default_factory=set)
    rules: list[RuleState] = field(default_factory=list)  # conditional formatting (xlwings_fake_rules)
    pictures: list[PictureState] = field(default_factory=list)  # (xlwings_fake_pictures)
    row_heights: dict[int, float] = field(default_factory=dict)
    column_widths: dict[int, float] = field(default_factory=dict)


@dataclass
class BookState:
    fullname: str
    sheets: list[SheetState]
    active: int = 0
    selection: str = "$A$1"

    @property
    def name(self) -> str:
        return self.fullname.replace("\\", "/").rsplit("/", 1)[-1]


class FakeExcel:
    """One running Excel instance."""

    def __init__(self, disk: dict[str, BookState] | None = None) -> None:
        self.disk: dict[str, BookState] = disk if disk is not None else {}
        self.open_books: dict[str, BookState] = {}
        self.calls: Counter[str] = Counter()
        self.calculating = False
        self.alerts: list[tuple[str, str | None]] = []
        self.status_bar_history: list[Any] = []
        self.pid = 4242
        self.user_name = "Ann Accountant"  # File > Options > General > User name
        self._lock = threading.Lock()

    # --- the test's side ---------------------------------------------------------------------
    def create(self, fullname: str, sheets: dict[str, list[list[Any]]]) -> FakeBook:
        """Open a new workbook holding ``sheets`` (name -> rows from A1), saved to the disk."""
        state = BookState(fullname, [SheetState(name) for name in sheets])
        for sheet, rows in zip(state.sheets, sheets.values()):
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row, start=1):
                    if value is not None:
                        sheet.values[(r, c)] = value
        self.open_books[fullname] = state
        self.save(fullname)
        return self.book(fullname)

    def book(self, fullname: str) -> FakeBook:
        """A Book object for the calling thread, as ``xw.Book.caller()`` gives one."""
        return FakeBook(self, self.open_books[fullname])

    def books_here(self) -> list[FakeBook]:
        """Every open workbook, through objects for the calling thread (``xw.apps`` ... ``books``)."""
        return [FakeBook(self, state) for state in list(self.open_books.values())]

    def save(self, fullname: str) -> None:
        self.disk[fullname] = copy.deepcopy(self.open_books[fullname])

    def close(self, fullname: str) -> None:
        del self.open_books[fullname]

    def open(self, fullname: str) -> FakeBook:
        self.open_books[fullname] = copy.deepcopy(self.disk[fullname])
        return self.book(fullname)

    def select(self, fullname: str, address: str) -> None:
        self.open_books[fullname].selection = address

    def rows(self, fullname: str, sheet: str, on_disk: bool = False) -> list[list[Any]]:
        """A sheet's values as the user sees them, A1 to the last used cell."""
        state = (self.disk if on_disk else self.open_books)[fullname]
        s = next(s for s in state.sheets if s.name == sheet)
        if not s.values:
            return []
        last_row = max(r for r, _ in s.values)
        last_col = max(c for _, c in s.values)
        return [[s.values.get((r, c)) for c in range(1, last_col + 1)] for r in range(1, last_row + 1)]

    def sheet_state(self, fullname: str, sheet: str) -> SheetState:
        return next(s for s in self.open_books[fullname].sheets if s.name == sheet)

    @property
    def range_calls(self) -> int:
        """Calls that touch cells (everything but the status bar, alerts and calculation state)."""
        return sum(n for op, n in self.calls.items() if not op.startswith("app."))

    # --- Excel's side ------------------------------------------------------------------------
    def call(self, op: str, owner: int, write: bool = False) -> None:
        if threading.get_ident() != owner:
            raise FakeComError(RPC_E_WRONG_THREAD, "The application called an interface that was "
                                                   "marshalled for a different thread.")
        with self._lock:
            self.calls[op + ("=" if write else "")] += 1
        if write and self.calculating:
            raise FakeComError(RPC_E_SERVERCALL_RETRYLATER, "Call was rejected by callee.")


class _Proxy:
    def __init__(self, excel: FakeExcel) -> None:
        self._excel = excel
        self._owner = threading.get_ident()

    def _call(self, op: str, write: bool = False) -> None:
        self._excel.call(op, self._owner, write)


class FakeApp(_Proxy):
    def __init__(self, excel: FakeExcel) -> None:
        super().__init__(excel)
        self.pid = excel.pid

    @property
    def api(self) -> Any:
        self._call("app.api")
        excel = self._excel
        return type("Application", (), {"CalculationState": 1 if excel.calculating else 0, "Ready": True,
                                        "UserName": excel.user_name})()

    @property
    def status_bar(self) -> Any:
        self._call("app.status_bar")
        return self._excel.status_bar_history[-1] if self._excel.status_bar_history else False

    @status_bar.setter
    def status_bar(self, value: Any) -> None:
        self._call("app.status_bar")
        self._excel.status_bar_history.append(value)

    def alert(self, prompt: str, title: str | None = None, *args: Any, **kwargs: Any) -> str:
        self._call("app.alert")
        self._excel.alerts.append((prompt, title))
        return "ok"


class FakeBook(_Proxy):
    def __init__(self, excel: FakeExcel, state: BookState) -> None:
        super().__init__(excel)
        self._state = state

    def _book_call(self, op: str, write: bool = False) -> BookState:
        self._call(op, write)
        if self._excel.open_books.get(self._state.fullname) is not self._state:
            raise FakeComError(-2147417848, "The object invoked has disconnected from its clients.")
        return self._state

    @property
    def fullname(self) -> str:
        return self._book_call("book.fullname").fullname

    @property
    def name(self) -> str:
        return self._book_call("book.name").name

    @property
    def app(self) -> FakeApp:
        return FakeApp(self._excel)

    @property
    def sheets(self) -> FakeSheets:
        return FakeSheets(self)

    @property
    def selection(self) -> FakeRange:
        state = self._book_call("book.selection")
        sheet = FakeSheet(self, state.sheets[state.active])
        return FakeRange(sheet, state.selection)


class FakeSheets(_Proxy):
    def __init__(self, book: FakeBook) -> None:
        super().__init__(book._excel)
        self._book = book

    def _states(self) -> list[SheetState]:
        return self._book._book_call("sheets").sheets

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter([FakeSheet(self._book, s) for s in self._states()])

    def __len__(self) -> int:
        return len(self._states())

    def __getitem__(self, index: int) -> FakeSheet:
        return FakeSheet(self._book, self._states()[index])

    @property
    def active(self) -> FakeSheet:
        state = self._book._book_call("sheets.active")
        return FakeSheet(self._book, state.sheets[state.active])

    def add(self, name: str, after: FakeSheet | None = None) -> FakeSheet:
        state = self._book._book_call("sheets.add", write=True)
        if any(s.name.casefold() == name.casefold() for s in state.sheets):
            raise FakeComError(-2146827284, "That name is already taken.")
        index = state.sheets.index(after._state) + 1 if after is not None else state.active
        state.sheets.insert(index, SheetState(name))
        state.active = index  # Excel shows the sheet it just added
        return FakeSheet(self._book, state.sheets[index])


class FakeSheet(_Proxy):
    def __init__(self, book: FakeBook, state: SheetState) -> None:
        super().__init__(book._excel)
        self.book = book
        self._state = state

    @property
    def name(self) -> str:
        self._call("sheet.name")
        return self._state.name

    @property
    def visible(self) -> bool:
        self._call("sheet.visible")
        return self._state.visible

    @visible.setter
    def visible(self, value: bool) -> None:
        self._call("sheet.visible", write=True)
        self._state.visible = bool(value)

    def activate(self) -> None:
        book = self.book._book_call("sheet.activate", write=True)
        book.active = book.sheets.index(self._state)

    def range(self, first: Any, last: Any = None) -> FakeRange:
        self._call("sheet.range")
        return FakeRange(self, first, last)

    @property
    def pictures(self) -> FakePictures:
        from .xlwings_fake_pictures import FakePictures

        return FakePictures(self)

    def clear(self) -> None:
        from .xlwings_fake_pictures import clear

        clear(self)

    @property
    def api(self) -> Any:
        """COM's Worksheet, here only ``Cells`` (the whole sheet, for its FormatConditions)."""
        self._call("sheet.api")
        whole = FakeRange(self, (1, 1), (1_048_576, 16_384))
        return type("Worksheet", (), {"Cells": whole.api})()

    @property
    def used_range(self) -> FakeRange:
        self._call("sheet.used_range")
        cells = set(self._state.values) | set(self._state.formulas) | set(self._state.formats)
        if not cells:
            return FakeRange(self, (1, 1))
        return FakeRange(self, (min(r for r, _ in cells), min(c for _, c in cells)),
                         (max(r for r, _ in cells), max(c for _, c in cells)))


class FakeRange(_Proxy):
    def __init__(self, sheet: FakeSheet, first: Any, last: Any = None, ndim: int | None = None) -> None:
        super().__init__(sheet._excel)
        self._sheet = sheet
        self._ndim = ndim
        if isinstance(first, str):
            self.areas = [_parse_area(a) for a in first.replace("$", "").split(",")]
        else:
            last = last or first
            self.areas = [(first[0], first[1], last[0], last[1])]

    @property
    def _cells(self) -> SheetState:
        return self._sheet._state

    def options(self, ndim: int | None = None, **kwargs: Any) -> FakeRange:
        rng = FakeRange(self._sheet, (1, 1), ndim=ndim)
        rng.areas = self.areas
        return rng

    @property
    def row(self) -> int:
        self._call("range.row")
        return self.areas[0][0]

    @property
    def column(self) -> int:
        self._call("range.column")
        return self.areas[0][1]

    @property
    def last_cell(self) -> FakeRange:
        self._call("range.last_cell")
        r1, c1, r2, c2 = self.areas[0]
        return FakeRange(self._sheet, (r2, c2))

    @property
    def address(self) -> str:
        self._call("range.address")
        return ",".join(_address(a) for a in self.areas)

    @property
    def value(self) -> Any:
        self._call("range.value")
        r1, c1, r2, c2 = self.areas[0]
        rows = [[self._cells.values.get((r, c)) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
        if self._ndim == 2:
            return rows
        if r1 == r2 and c1 == c2:
            return rows[0][0]
        return rows[0] if r1 == r2 else [row[0] for row in rows] if c1 == c2 else rows

    @value.setter
    def value(self, data: Any) -> None:
        self._call("range.value", write=True)
        r1, c1, _, _ = self.areas[0]
        grid = data if isinstance(data, list) and data and isinstance(data[0], list) else [[data]]
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                self._store((r1 + i, c1 + j), v)

    @property
    def formula(self) -> Any:
        self._call("range.formula")
        r1, c1, r2, c2 = self.areas[0]

        def text(cell: tuple[int, int]) -> str:
            if cell in self._cells.formulas:
                return self._cells.formulas[cell]
            v = self._cells.values.get(cell)
            return "" if v is None else str(v)

        rows = tuple(tuple(text((r, c)) for c in range(c1, c2 + 1)) for r in range(r1, r2 + 1))
        return rows[0][0] if r1 == r2 and c1 == c2 else rows

    @property
    def number_format(self) -> str | None:
        self._call("range.number_format")
        r1, c1, _, _ = self.areas[0]
        return self._cells.formats.get((r1, c1), "General")

    @number_format.setter
    def number_format(self, fmt: str) -> None:
        self._call("range.number_format", write=True)
        for r1, c1, r2, c2 in self.areas:
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    self._cells.formats[(r, c)] = fmt

    @property
    def merge_cells(self) -> bool:
        """xlwings: True if the range contains merged cells."""
        self._call("range.merge_cells")
        return any(m[0] <= r2 and m[2] >= r1 and m[1] <= c2 and m[3] >= c1
                   for r1, c1, r2, c2 in self.areas for m in self._cells.merged)

    @property
    def color(self) -> tuple[int, int, int] | None:
        """xlwings: the fill colour (RGB) of the range, None when it has none."""
        self._call("range.color")
        r1, c1, _, _ = self.areas[0]
        return self._cells.fills.get((r1, c1))

    @color.setter
    def color(self, rgb: tuple[int, int, int] | None) -> None:
        self._call("range.color", write=True)
        for cell in self._each():
            if rgb is None:
                self._cells.fills.pop(cell, None)
            else:
                self._cells.fills[cell] = rgb

    @property
    def api(self) -> Any:
        """COM's Range, here only ``FormatConditions``."""
        from .xlwings_fake_rules import FormatConditions

        self._call("range.api")
        return type("Range", (), {"FormatConditions": FormatConditions(self)})()

    @property
    def font(self) -> _FakeFont:
        """xlwings: the range's Font (here only bold)."""
        return _FakeFont(self)

    def _each(self) -> list[tuple[int, int]]:
        return [(r, c) for r1, c1, r2, c2 in self.areas for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]

    @property
    def row_height(self) -> float:
        return self._cells.row_heights.get(self.areas[0][0], 15.0)

    @row_height.setter
    def row_height(self, points: float) -> None:
        from .xlwings_fake_pictures import set_row_height

        set_row_height(self, points)

    @property
    def column_width(self) -> float:
        return self._cells.column_widths.get(self.areas[0][1], 8.43)

    @column_width.setter
    def column_width(self, chars: float) -> None:
        from .xlwings_fake_pictures import set_column_width

        set_column_width(self, chars)

    @property
    def columns(self) -> _FakeColumns:
        """xlwings: the range's columns (RangeColumns), here only for autofit()."""
        return _FakeColumns(self)

    def _store(self, cell: tuple[int, int], v: Any) -> None:
        """What Excel does with a value written into a cell."""
        cells = self._cells
        cells.formulas.pop(cell, None)
        if isinstance(v, str) and cells.formats.get(cell) != "@":
            if v.startswith("="):
                cells.formulas[cell] = v
                cells.values[cell] = None  # nothing here evaluates formulas
                return
            if _NUMBER.match(v.strip()):
                v = float(v)
        if v is None or v == "":
            cells.values.pop(cell, None)
        else:
            cells.values[cell] = float(v) if isinstance(v, int) and not isinstance(v, bool) else v


class _FakeFont:
    def __init__(self, rng: FakeRange) -> None:
        self._rng = rng

    @property
    def bold(self) -> bool:
        self._rng._call("range.font.bold")
        r1, c1, _, _ = self._rng.areas[0]
        return (r1, c1) in self._rng._cells.bold

    @bold.setter
    def bold(self, value: bool) -> None:
        self._rng._call("range.font.bold", write=True)
        for cell in self._rng._each():
            (self._rng._cells.bold.add if value else self._rng._cells.bold.discard)(cell)


class _FakeColumns:
    def __init__(self, rng: FakeRange) -> None:
        self._rng = rng

    def autofit(self) -> None:
        self._rng._call("range.columns.autofit", write=True)
        for _, c1, _, c2 in self._rng.areas:
            self._rng._cells.autofitted.update(range(c1, c2 + 1))


def _parse_area(text: str) -> tuple[int, int, int, int]:
    first, _, last = text.partition(":")
    r1, c1 = _cell(first)
    r2, c2 = _cell(last or first)
    return (r1, c1, r2, c2)


def _cell(text: str) -> tuple[int, int]:
    match = _CELL.match(text)
    if not match:
        raise FakeComError(-2146827284, f"Bad address {text!r}")
    col = 0
    for ch in match.group(1):
        col = col * 26 + ord(ch) - 64
    return int(match.group(2)), col


def _address(area: tuple[int, int, int, int]) -> str:
    from openpyxl.utils import get_column_letter as column_letter

    r1, c1, r2, c2 = area
    first = f"${column_letter(c1)}${r1}"
    return first if (r1, c1) == (r2, c2) else f"{first}:${column_letter(c2)}${r2}"
