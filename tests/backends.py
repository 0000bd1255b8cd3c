"""One behavioural suite, two workbook backends: a real file (openpyxl) and Excel (the fake).

As xlwings runs one test suite against every engine, tests that take the ``backend`` fixture run
once per backend. Each backend gives a BookIO, a METERREAD to call as Excel would, a way to let
Excel finish calculating, and a save-close-reopen.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwings as xw

from tests.photos import make_photo
from xlwings_meter.excel import book as excel_module
from xlwings_meter.excel import meterread as udfs
from xlwings_meter.excel import session as session_module
from xlwings_meter.excel.book import ExcelBook
from xlwings_meter.excel.session import BookSession, Sessions
from xlwings_meter.photos import file_digest
from xlwings_meter.reading import Reading
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.journal import Journal
from xlwings_meter.workbook.sheet import BookIO

from .xlwings_fake import FakeExcel
from .xlwings_udf_server import Formula, UdfServer, registered_module

SHEET = "Photos"


class FileBackend:
    """A workbook file; METERREAD runs through the same session code on it."""

    name = "file"

    def __init__(self, folder: Path) -> None:
        self.path = folder / "readings.xlsx"
        self._book: FileBook | None = None
        self._session: BookSession | None = None

    def create(self, rows: list[list[Any]], header: tuple[Any, ...] = ("Image",),
               extra_sheets: dict[str, list[list[Any]]] | None = None) -> BookIO:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = SHEET
        for row in [list(header)] + rows:
            ws.append(row)
        for name, sheet_rows in (extra_sheets or {}).items():
            extra = wb.create_sheet(name)
            for row in sheet_rows:
                extra.append(row)
        wb.save(self.path)
        return self.reopen(save=False)

    @property
    def book(self) -> FileBook:
        assert self._book is not None
        return self._book

    def session(self) -> BookSession:
        if self._session is None:
            self._session = BookSession(self.book, journal=Journal.beside(self.path))
        return self._session

    def meterread(self, path: Any, field: Any = "value") -> Any:
        try:
            return udfs.meter_read(self.session(), path, field)
        except Exception as exc:  # what METERREAD itself does around meter_read
            return udfs.error_text(exc)

    def after_calculation(self) -> None:
        assert self.session().later.wait(5.0)

    def reopen(self, save: bool = True) -> BookIO:
        """Save (or not), close and open again: a new Python process, no memory of the last one."""
        if save and self._book is not None:
            self._book.save()
        self._book = FileBook(self.path)
        self._session = None
        return self._book

    def rename_sheet(self, old: str, new: str, copy: str | None = None) -> BookIO:
        """Rename a sheet as a person would (and, with ``copy``, add a copy of it by that name)."""
        if self._book is not None:
            self._book.save()
        wb = openpyxl.load_workbook(self.path)
        wb[old].title = new
        if copy is not None:
            wb.copy_worksheet(wb[new]).title = copy
        wb.save(self.path)
        return self.reopen(save=False)

    def rows(self, sheet: str = SHEET) -> list[list[Any]]:
        if self._book is None:
            ws = openpyxl.load_workbook(self.path)[sheet]
            return [list(r) for r in ws.iter_rows(values_only=True)]
        found = self._book.sheet(sheet)
        last_row, last_col = found.extent()
        return found.read_block(1, 1, last_row, last_col)


class ExcelBackend:
    """A workbook open in (fake) Excel, reached as the add-in reaches it: ``xw.Book.caller()``
    for the buttons, and xlwings' UDF server (tests/xlwings_udf_server.py) for METERREAD."""

    name = "excel"

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fullname = str(folder / "readings.xlsm")
        self.excel = FakeExcel()
        self.udf = UdfServer(self.excel, registered_module("xlwings_meter.excel.meterread"))
        self._cells = itertools.count(2)
        self._monkeypatch = monkeypatch
        monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: self.excel.book(self.fullname)))
        monkeypatch.setattr(excel_module, "open_books", lambda: self.excel.books_here())
        self.new_process()

    def new_process(self) -> None:
        """Python restarted: no session in memory."""
        self._monkeypatch.setattr(session_module, "SESSIONS", Sessions())
        self._monkeypatch.setattr(session_module, "_latest", {})

    def create(self, rows: list[list[Any]], header: tuple[Any, ...] = ("Image",),
               extra_sheets: dict[str, list[list[Any]]] | None = None) -> BookIO:
        self.excel.create(self.fullname, {SHEET: [list(header)] + rows, **(extra_sheets or {})})
        return self.book

    @property
    def book(self) -> ExcelBook:
        return ExcelBook(self.excel.book(self.fullname))

    def session(self) -> BookSession:
        return session_module.excel_session(self.excel.book(self.fullname))

    def meterread(self, path: Any, field: Any = "value") -> Any:
        """A new cell ``=METERREAD(path, field)``, once Excel and xlwings are done with it."""
        cell = Formula(self.fullname, SHEET, f"$Z${next(self._cells)}", "METERREAD", (path, field))
        self.udf.calculate([cell])
        assert self.udf.settle(20.0), "METERREAD never came back"
        return self.udf.shown[cell]

    def after_calculation(self) -> None:
        self.excel.calculating = False
        session = session_module.SESSIONS._sessions.get(self.fullname)
        if session is not None:
            assert session.later.wait(5.0)

    def reopen(self, save: bool = True) -> BookIO:
        if save:
            self.excel.save(self.fullname)
        self.excel.close(self.fullname)
        self.excel.open(self.fullname)
        return self.book

    def rename_sheet(self, old: str, new: str, copy: str | None = None) -> BookIO:
        state = self.excel.open_books[self.fullname]
        sheet = next(s for s in state.sheets if s.name == old)
        sheet.name = new
        if copy is not None:
            twin = deepcopy(sheet)
            twin.name = copy
            state.sheets.append(twin)
        return self.book

    def rows(self, sheet: str = SHEET) -> list[list[Any]]:
        return self.excel.rows(self.fullname, sheet)


@pytest.fixture(params=["file", "excel"])
def backend(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[FileBackend | ExcelBackend]:
    """The workbook backend under test; the photos live in ``tmp_path``, beside the workbook."""
    monkeypatch.setattr(session_module, "AFTER_CALCULATION_POLL", 0.01)
    if request.param == "file":
        yield FileBackend(tmp_path)
    else:
        excel = ExcelBackend(tmp_path, monkeypatch)
        yield excel
        excel.udf.close()



def cached_bill(backend: FileBackend | ExcelBackend, folder: Path, header: tuple[Any, ...],
                rows: list[tuple[Any, Reading]]) -> None:
    """A bill whose photos' readings are already in the cache (nothing needs sending): one
    generated photo per row, ``(previous, reading)``, the previous reading in the 8th column."""
    sheet_rows, entries = [], []
    for i, (previous, reading) in enumerate(rows):
        photo = make_photo(folder / f"m{i}.jpg", seed=i, size=(64, 48))
        sheet_rows.append([photo.name, None, None, None, None, None, None, previous])
        entries.append(CacheEntry(file_digest(photo), str(photo), reading, "2026-11-01T10:00:00Z", "aigen-v2"))
    book = backend.create(sheet_rows, header=header)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.merge(entries)
    cache.flush()
    backend.reopen()
