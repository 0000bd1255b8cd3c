"""Writes that must wait until Excel has finished calculating.

A worksheet function may not change any cell while Excel calculates: Excel refuses the call.
So METERREAD only records new readings in memory and asks for a write; this class does the
write from a background thread once Excel is idle, as one batch for a whole recalculation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from xlwings_meter.excel.book import ExcelBusyError

log = logging.getLogger(__name__)


class AfterCalculation:
    """Runs ``write`` once ``idle()`` says Excel is done, however many times it was requested.

    Requests that arrive while waiting, or while a write runs, are served by one more write
    afterwards: nothing requested is ever left unwritten while the worker can reach Excel.
    ``write`` raising ExcelBusyError (Excel started calculating again) is retried; any other
    error ends the attempt and is logged, and the next request tries again.

    >>> done = []
    >>> later = AfterCalculation(lambda: done.append("written"), idle=lambda: True, poll=0.01)
    >>> later.request(); later.wait(1.0), done
    (True, ['written'])
    """

    def __init__(
        self,
        write: Callable[[], None],
        idle: Callable[[], bool],
        *,
        poll: float = 0.2,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._write = write
        self._idle = idle
        self._poll = poll
        self._sleep = sleep
        self._lock = threading.Lock()
        self._requested = False
        self._worker: threading.Thread | None = None
        self.last_error: BaseException | None = None

    def request(self) -> None:
        """Ask for a write after the current calculation; returns at once."""
        with self._lock:
            self._requested = True
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="meter-cache-write", daemon=True)
                self._worker.start()

    @property
    def pending(self) -> bool:
        """True while a requested write has not happened yet."""
        with self._lock:
            return self._requested or self._worker is not None

    def wait(self, timeout: float) -> bool:
        """Wait until nothing is pending; True if that happened within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.pending:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _run(self) -> None:
        while True:
            # Let the calculation that made the request get going (or finish) first.
            self._sleep(self._poll)
            try:
                if not self._idle():
                    continue
                with self._lock:
                    self._requested = False
                self._write()
            except ExcelBusyError:
                with self._lock:
                    self._requested = True
                continue
            except Exception as exc:  # the workbook was closed, or worse: the next request retries
                log.warning("The readings cache could not be written: %s", exc)
                self.last_error = exc
                with self._lock:
                    self._requested = False
            with self._lock:
                if not self._requested:
                    self._worker = None
                    return
