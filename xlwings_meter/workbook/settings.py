"""Settings a workbook may carry on its ``xlwings.conf`` sheet.

A workbook's own settings live on its ``xlwings.conf`` sheet (xlwings' convention: column A the
name, column B the value). Only harmless ones are honoured there. The API key and the endpoint
are the user's (environment variables or the user's xlwings.conf file, see ``config``): a
workbook travels by e-mail, so a key in it would travel too, and an endpoint in it could send
every photo, with the user's key, to someone else's server. Those are refused and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xlwings_meter.engines.aigen.config import CONFIG_FILE_VAR, KEY_VAR, URL_VAR
from xlwings_meter.reconcile import DEFAULT_MIN_CONFIDENCE, Limits, number
from xlwings_meter.workbook.sheet import BookIO, Cell

CONF_SHEET = "xlwings.conf"
CACHE_ONLY = "METER_CACHE_ONLY"
ENGINE = "METER_ENGINE"
MAX_CONSUMPTION = "METER_MAX_CONSUMPTION"
MIN_CONFIDENCE = "METER_MIN_CONFIDENCE"
#: Never taken from a workbook: each would let the workbook decide where the key goes.
REFUSED = (KEY_VAR, URL_VAR, CONFIG_FILE_VAR)
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off", ""}


@dataclass(frozen=True)
class WorkbookSettings:
    """What a workbook's xlwings.conf sheet asks for, and the warnings to show its user."""

    cache_only: bool = False
    engine: str = "aigen"
    warnings: tuple[str, ...] = ()
    max_consumption: float | None = None  # flag a consumption above this (None: by the median)
    min_confidence: float | None = None  # flag a reading less sure than this (None: the default)


def limits(settings: WorkbookSettings, max_consumption: float | None = None,
           min_confidence: float | None = None) -> Limits:
    """When a row is flagged: the options given (the command line's), else the workbook's settings."""
    return Limits(
        min_confidence=next((v for v in (min_confidence, settings.min_confidence) if v is not None),
                            DEFAULT_MIN_CONFIDENCE),
        max_consumption=max_consumption if max_consumption is not None else settings.max_consumption)


def parse_workbook_settings(rows: Sequence[Sequence[Cell]]) -> WorkbookSettings:
    """Read the A/B rows of an xlwings.conf sheet (pure; values are never echoed for refused names).

    >>> parse_workbook_settings([["METER_CACHE_ONLY", True], ["METER_ENGINE", "Local"]])
    WorkbookSettings(cache_only=True, engine='local', warnings=(), max_consumption=None, min_confidence=None)
    >>> limits(parse_workbook_settings([["METER_MAX_CONSUMPTION", 40], ["METER_MIN_CONFIDENCE", "0.9"]]))
    Limits(min_confidence=0.9, max_consumption=40.0, median_multiple=5.0)
    >>> warning, = parse_workbook_settings([["AIGEN_API_KEY", "s3cret"]]).warnings
    >>> "AIGEN_API_KEY (row 1)" in warning, "s3cret" in warning
    (True, False)
    """
    cache_only, engine, warnings = False, "aigen", []
    limits: dict[str, float | None] = {MAX_CONSUMPTION: None, MIN_CONFIDENCE: None}
    for i, row in enumerate(rows, start=1):
        name = str(row[0]).strip().upper() if row and row[0] is not None else ""
        value = row[1] if len(row) > 1 else None
        if name in REFUSED:
            warnings.append(
                f"This workbook's xlwings.conf sheet sets {name} (row {i}). It was ignored: "
                f"the key and the address of the service come only from your own settings "
                f"(environment variables or your xlwings.conf file), never from a workbook that "
                f"others may send you. Delete row {i} of that sheet."
            )
        elif name == CACHE_ONLY:
            text = str(value).strip().lower() if value is not None else ""
            if text in _TRUE or text not in _FALSE:
                cache_only = True
            if text not in _TRUE | _FALSE:
                warnings.append(f"{CACHE_ONLY} is {value!r} on the xlwings.conf sheet; use TRUE or "
                                f"FALSE. Until then nothing is sent (cache only)")
        elif name == ENGINE:
            engine = str(value or "aigen").strip().lower()
        elif name in limits:
            found = number(value)
            top = 1.0 if name == MIN_CONFIDENCE else float("inf")
            if found is None or not 0 <= found <= top:
                warnings.append(f"{name} is {value!r} on the xlwings.conf sheet; use a number "
                                + ("from 0 to 1 (0.8 is 80%)" if name == MIN_CONFIDENCE else "of 0 or more")
                                + ". Until then the default is used")
            else:
                limits[name] = found
    return WorkbookSettings(cache_only, engine, tuple(warnings), limits[MAX_CONSUMPTION], limits[MIN_CONFIDENCE])


def read_workbook_settings(book: BookIO) -> WorkbookSettings:
    """The settings on the workbook's xlwings.conf sheet; defaults when it has none."""
    name = next((n for n in book.sheet_names() if n.casefold() == CONF_SHEET), None)
    if name is None:
        return WorkbookSettings()
    sheet = book.sheet(name)
    last_row, _ = sheet.extent()
    return parse_workbook_settings(sheet.read_block(1, 1, last_row, 2) if last_row else [])
