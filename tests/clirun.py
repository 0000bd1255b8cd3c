"""Running `xlwings-meter` as a user does, for the command-line tests: in this process or its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl

from tests.photos import make_photo
from xlwings_meter.workbook.journal import Journal

from .workbooks import photo_book

ROOT = Path(__file__).resolve().parents[1]


def rows_of(path: Path, sheet: str = "Photos") -> list[tuple[object, ...]]:
    """The values of a saved workbook's sheet, row by row."""
    return list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))


def book_of_photos(tmp_path: Path, n: int) -> Path:
    """A workbook listing n generated meter photos under Image."""
    names = [make_photo(tmp_path / f"meter {i}.jpg", seed=i).name for i in range(n)]
    return photo_book(tmp_path / "readings.xlsx", [[name] for name in names])


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`xlwings-meter ARGS...` run to its end in its own process."""
    return subprocess.run([sys.executable, "-m", "xlwings_meter.cli", *args], cwd="/",
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=timeout)


def cli_process(book: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    """`xlwings-meter read BOOK ARGS...` started in its own process, as a user starts it."""
    return subprocess.Popen([sys.executable, "-m", "xlwings_meter.cli", "read", str(book), *args],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal, **popen)  # type: ignore[call-overload]


def _ctrl_c_as_in_a_terminal() -> None:
    """Ctrl+C (SIGINT) handled as in a terminal, whoever started the tests: a shell runs a job
    started in the background with SIGINT ignored, its children inherit that, and Python then
    never turns SIGINT into KeyboardInterrupt (the Ctrl+C test saw exit 0 for 130)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(condition, timeout: float = 20.0) -> None:
    """Wait until ``condition()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def killed_after_journalling(book: Path, readings: int) -> Journal:
    """Run the command on BOOK one photo at a time and SIGKILL it once ``readings`` are journalled."""
    journal = Journal.beside(book)
    proc = cli_process(book, "--concurrency", "1")
    wait_for(lambda: len(journal.entries()) >= readings)
    proc.kill()  # SIGKILL: no clean-up runs
    proc.wait()
    return journal
