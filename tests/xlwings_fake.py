"""A small stand-in for Excel as xlwings shows it, because Excel cannot run here.

It implements only what ``xlwings_meter.excel.book``, ``udfs`` and ``ribbon`` touch (Book,
Sheets, Sheet, Range with ``.value``, ``.formula``, ``.hyperlink``, ``.options``, ``.number_format``,
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
Ranges live in tests/xlwings_fake_range.py.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .xlwings_fake_pictures import FakePictures, PictureState
    from .xlwings_fake_rules import RuleState

from .xlwings_fake_range import FakeComError, FakeRange, _Proxy

RPC_E_SERVERCALL_RETRYLATER = -2147418111
RPC_E_WRONG_THREAD = -2147417842


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
    links: dict[tuple[int, int], str] = field(default_factory=dict)  # Insert > Link: Hyperlinks(1).Address
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
