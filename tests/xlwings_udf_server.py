"""xlwings' UDF server running worksheet functions over the fake Excel (tests/xlwings_fake.py).

Modelled on ``call_udf``, ``async_thread`` and ``ComRange`` in xlwings/udfs.py (0.37), because
neither Excel nor pywin32 runs here:

- Excel's calculation calls the server on one thread (the COM server's); the calculation lasts
  as long as those calls, and Excel is frozen meanwhile (``calculate`` measures it);
- the function is found by name in its module and described by the ``__xlfunc__`` that
  xlwings' own decorators write (``registered_module`` applies the real ones off Windows);
- omitted optional arguments get their defaults; the reserved argument ``caller`` gets the
  calling cell as a ComRange: marshalled, usable from the COM thread and one other thread;
- a function with ``async_mode="threading"``: the cache key is name + str(args) + Excel's pid
  + book + sheet + address. A hit is popped and returned. A miss returns xlwings' placeholder
  ``#N/A waiting...`` at once and runs the function in xlwings' ``com_executor`` (a
  ThreadPoolExecutor of default size); its result is cached and the cell's formula written
  again, so Excel recalculates that cell, which now hits the cache;
- any other function runs right there, inside the calculation.

What each cell shows is in ``shown``; the fake Excel's cells are not touched.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import time
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import xlwings as xw

from .xlwings_fake import (
    RPC_E_WRONG_THREAD,
    FakeBook,
    FakeComError,
    FakeExcel,
    FakeSheet,
)

PENDING = "#N/A waiting..."  # what xlwings returns for a cell whose async function runs
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Formula:
    """``=NAME(args...)`` in one cell."""

    fullname: str
    sheet: str
    address: str  # "$B$2"
    name: str
    args: tuple[Any, ...]


class MarshalledRange:
    """xlwings' ComRange: the calling cell, usable from the thread that made it and one other."""

    def __init__(self, excel: FakeExcel, cell: Formula) -> None:
        self._excel = excel
        self._cell = cell
        self._book_name = excel.open_books[cell.fullname].name
        self._ser_thread = threading.get_ident()
        self._deser_thread: int | None = None

    def __repr__(self) -> str:  # xlwings.Range's repr, which the cache key includes
        return f"<Range [{self._book_name}]{self._cell.sheet}!{self._cell.address}>"

    @property
    def sheet(self) -> FakeSheet:
        here = threading.get_ident()
        if here != self._ser_thread:
            if self._deser_thread is None:
                self._deser_thread = here  # CoGetInterfaceAndReleaseStream: single use
            elif here != self._deser_thread:
                raise FakeComError(RPC_E_WRONG_THREAD, "marshalled for a different thread")
        state = self._excel.open_books.get(self._cell.fullname)
        if state is None:
            raise FakeComError(-2147417848, "The object invoked has disconnected from its clients.")
        book = FakeBook(self._excel, state)
        return FakeSheet(book, next(s for s in state.sheets if s.name == self._cell.sheet))

    @property
    def address(self) -> str:
        return self._cell.address


class UdfServer:
    """The functions of ``module`` as Excel calculates them through xlwings."""

    def __init__(self, excel: FakeExcel, module: types.ModuleType, workers: int | None = None) -> None:
        """``workers``: the size of xlwings' executor; by default xlwings' default for this machine
        (min(32, CPUs + 4)), so 32 stands for a machine with 28 cores or more."""
        self.excel = excel
        self.module = module
        self.cache: dict[str, Any] = {}
        self.shown: dict[Formula, Any] = {}
        self.com_executor = ThreadPoolExecutor(workers, thread_name_prefix="com_executor")
        self._com_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="com-server")
        self._lock = threading.Lock()
        self._outstanding = 0  # async runs not yet written back
        self.async_runs = 0

    def calculate(self, cells: list[Formula]) -> float:
        """Excel calculates ``cells`` (the user pressed Enter or F9); returns the seconds it took."""
        start = time.monotonic()
        self._com_thread.submit(self._calculate, cells).result()
        return time.monotonic() - start

    def settle(self, timeout: float) -> bool:
        """Wait until every async run is written back and recalculated; True if within ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._outstanding == 0:
                    return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self.com_executor.shutdown(wait=True, cancel_futures=True)
        self._com_thread.shutdown(wait=True)

    # --- the COM server thread -------------------------------------------------------------

    def _calculate(self, cells: list[Formula]) -> None:
        was = self.excel.calculating
        self.excel.calculating = True
        try:
            for cell in cells:
                if cell.fullname in self.excel.open_books:
                    self.shown[cell] = self.call_udf(cell)
        finally:
            self.excel.calculating = was

    def call_udf(self, cell: Formula) -> Any:
        func = getattr(self.module, cell.name)
        info = func.__xlfunc__
        args = list(cell.args)
        for arg in info["args"][len(args):]:  # VBA passes Missing: the default
            args.append(arg.get("optional"))
        for arg in info["args"]:
            if arg["name"] == "caller":
                args[arg["pos"]] = MarshalledRange(self.excel, cell)
        if info["async_mode"] == "threading":
            state = self.excel.open_books[cell.fullname]
            key = func.__name__ + str(args) + str(self.excel.pid) + state.name + cell.sheet + cell.address
            if key in self.cache:
                return self.cache.pop(key)
            with self._lock:
                self._outstanding += 1
                self.async_runs += 1
            self.com_executor.submit(self._async_thread, func, args, key, cell)
            return PENDING
        return func(*args)

    # --- xlwings' com_executor -------------------------------------------------------------

    def _async_thread(self, func: Any, args: list[Any], key: str, cell: Formula) -> None:
        try:
            self.cache[key] = func(*args)
            if cell.fullname in self.excel.open_books:  # set_formula: Excel recalculates the cell
                self._com_thread.submit(self._calculate, [cell]).result()
        except Exception:  # xlwings logs "async_thread failed" and goes on
            log.exception("async_thread failed")
        finally:
            with self._lock:
                self._outstanding -= 1


@contextmanager
def _real_xlwings_decorators() -> Iterator[None]:
    """xlwings' real ``func``/``arg``/``ret`` (xlwings.udfs), importable off Windows with pywin32
    stubbed out, in place of the no-op ones xlwings gives other systems; all undone after."""
    stubs = ("pythoncom", "pywintypes", "win32com", "win32com.client")
    saved = {name: sys.modules.get(name) for name in (*stubs, "xlwings.udfs")}
    saved_attrs = {name: getattr(xw, name) for name in ("func", "arg", "ret")}
    try:
        for name in stubs:
            sys.modules[name] = types.ModuleType(name)
        sys.modules["pythoncom"].CoInitialize = lambda: None  # type: ignore[attr-defined]
        sys.modules["win32com.client"].Dispatch = None  # type: ignore[attr-defined]
        sys.modules.pop("xlwings.udfs", None)
        real = importlib.import_module("xlwings.udfs")
        xw.func, xw.arg, xw.ret = real.xlfunc, real.xlarg, real.xlret  # type: ignore[assignment]
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        for name, value in saved_attrs.items():
            setattr(xw, name, value)


def registered_module(name: str) -> types.ModuleType:
    """A fresh copy of module ``name`` with its functions registered as xlwings registers them."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None
    copy_spec = importlib.util.spec_from_file_location(f"{name}__as_registered", spec.origin)
    assert copy_spec is not None and copy_spec.loader is not None
    module = importlib.util.module_from_spec(copy_spec)
    with _real_xlwings_decorators():
        copy_spec.loader.exec_module(module)
    return module
