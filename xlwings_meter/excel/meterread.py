"""Worksheet functions: ``=METERREAD(path, [field])``.

A photo is paid for once: METERREAD answers from the workbook's cache (held in memory after the
first call), sends a photo only on a miss, and sends it once however many cells ask for it. The
new readings reach the hidden cache sheet after Excel has finished calculating (see
``xlwings_meter.excel.session``). Cells show short texts, never a traceback.
"""

from __future__ import annotations

from typing import Any

import xlwings as xw

from xlwings_meter.errors import MeterError, MissingKeyError
from xlwings_meter.excel.session import BookSession, excel_session
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.sheet import Cell

FIELDS = ("value", "confidence", "angle", "status", "all")
MAX_TEXT = 120


@xw.func
@xw.arg("path", doc="The photo: its path, or the cell holding it (relative to this workbook's folder)")
@xw.arg("field", doc='"value" (default), "confidence", "angle", "status", or "all" '
                     "(value, confidence and angle in one row)")
def METERREAD(path, field="value"):
    """Reads the water meter in a photo; each photo is paid for once, then read from the cache."""
    try:
        return meter_read(excel_session(xw.Book.caller()), path, field)
    except Exception as exc:  # a cell shows a short text, never a traceback
        return error_text(exc)


def meter_read(session: BookSession, path: Cell, field: Cell = "value") -> Any:
    """What METERREAD shows, for any workbook backend. Checks ``field`` before spending anything."""
    which = choose_field(field)
    return field_value(session.read(path), which)


def choose_field(field: Cell) -> str:
    """The field asked for, normalised; ValueError with a text for the cell if unknown.

    >>> choose_field(None), choose_field(" Confidence ")
    ('value', 'confidence')
    """
    text = "value" if field is None else str(field).strip().lower() or "value"
    if text not in FIELDS:
        raise ValueError(f"Unknown field {str(field)!r}: use {', '.join(FIELDS)}")
    return text


def field_value(reading: Reading, field: str) -> Any:
    """One field of a reading as a cell shows it; without a reading, why not (a short text).

    >>> r = Reading(ReadingStatus.READ, value="00935.781", confidence=0.93, angle=1.5)
    >>> field_value(r, "value"), field_value(r, "status"), field_value(r, "all")
    (935.781, 'Read', [[935.781, 0.93, 1.5]])
    """
    if reading.status is not ReadingStatus.READ or reading.number is None:
        why = _short(reading.message or "Not read")
        return [[why, None, None]] if field == "all" else why
    if field == "all":
        return [[reading.number, reading.confidence, reading.angle]]
    return {"value": reading.number, "confidence": reading.confidence,
            "angle": reading.angle, "status": "Read"}[field]


def error_text(exc: BaseException) -> str:
    """What a cell shows when METERREAD could not run: one short sentence.

    >>> from pathlib import Path
    >>> error_text(MissingKeyError("No AIGEN API key. Set ...", config_file=Path("xlwings.conf")))
    'No API key set: see Meter > Settings/Help'
    """
    if isinstance(exc, MissingKeyError):
        return "No API key set: see Meter > Settings/Help"
    if isinstance(exc, (MeterError, ValueError)):
        return _short(str(exc))
    return f"Error ({type(exc).__name__}): see Meter > Settings/Help"


def _short(text: str) -> str:
    first = text.split(". ")[0].strip().rstrip(".")
    return first if len(first) <= MAX_TEXT else first[: MAX_TEXT - 1] + "…"
