"""Checking a workbook's readings against its photos as they are now, without sending anything.

Every photo is hashed again: a row whose photo was replaced, moved away, or never read by the
engine now chosen is listed, and so is a row whose Value, Confidence and Angle are not the
cached reading of its photo (two photos swapped between rows, a number typed over the reading),
unless a person typed the right value in Corrected. So a bill is never defended with a reading
of another photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xlwings_meter.errors import PhotoError, PhotoMissingError
from xlwings_meter.photos import file_digest, resolve_path
from xlwings_meter.reading import ReadingStatus
from xlwings_meter.reconcile import number, typed_number
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.columns import locate_photo_column
from xlwings_meter.workbook.edits import shows
from xlwings_meter.workbook.reconciling import find_layout
from xlwings_meter.workbook.references import photo_cells
from xlwings_meter.workbook.sheet import BookIO, Cell


@dataclass(frozen=True)
class RowFinding:
    """A row that needs a person's look, and why."""

    row: int
    photo: str
    why: str

    def __str__(self) -> str:
        return f"row {self.row} ({self.photo}): {self.why}"


@dataclass(frozen=True)
class Verification:
    """The result of checking one sheet."""

    rows: int
    findings: list[RowFinding]

    @property
    def holds(self) -> bool:
        """True when every row's reading is a reading of its photo as it is now."""
        return not self.findings


def verify_sheet(book: BookIO, engine_label: str, *, sheet_name: str | None = None,
                 column: str | None = None) -> Verification:
    """Hash every photo of the sheet again and compare it with the cache sheet (read only)."""
    sheet = book.sheet(sheet_name)
    header, col, listed = locate_photo_column(sheet, column)
    cells = photo_cells(sheet, header + 1, header + len(listed), col)  # paths as the person sees them
    last = header + len(listed)
    results = sheet.read_block(header + 1, col + 1, last, col + 4) if listed else []
    corrected_col = find_layout(sheet, header, col, None).corrected
    corrected = ([row[0] for row in sheet.read_shown(header + 1, corrected_col, last, corrected_col)]
                 if corrected_col and listed else [None] * len(cells))
    names = book.sheet_names()
    entries = ReadingCache(book.hidden_sheet(CACHE_SHEET)).entries() if CACHE_SHEET in names else []
    cache: dict[str, CacheEntry] = {}
    for e in entries:  # the chosen engine's entry for a photo, else another's to name it
        if e.digest not in cache or e.engine == engine_label:
            cache[e.digest] = e
    by_path: dict[str, CacheEntry] = {}
    for entry in cache.values():
        by_path.setdefault(entry.path, entry)
    findings = []
    for row, (cell, shown, fix) in enumerate(zip(cells, results or [[]] * len(cells), corrected), start=header + 1):
        why = _why(cell, book.folder, cache, by_path, engine_label, shown, fix)
        if why:
            label = getattr(cell, "url", None) or getattr(cell, "formula", None) or cell
            findings.append(RowFinding(row, str(label or "").strip() or "empty cell", why))
    return Verification(len(cells), findings)


def _why(cell: object, folder: Path | None, cache: dict[str, CacheEntry], by_path: dict[str, CacheEntry],
         engine_label: str, shown: list[Cell], corrected: Cell) -> str:
    if isinstance(cell, PhotoMissingError):  # a web address, a formula never computed
        return f"the photo is gone ({cell})"
    try:
        path = resolve_path(cell, folder)
        digest = file_digest(path)
    except PhotoMissingError as exc:
        return f"the photo is gone ({exc})"
    except PhotoError as exc:  # a video or a file too large for a photo: refused unread
        return f"not a photo ({exc})"
    entry = cache.get(digest)
    if entry is None:
        earlier = by_path.get(str(path))
        if earlier is not None:
            return f"the photo changed after it was read on {earlier.read_at[:10]}: its reading is of another photo"
        return "not read yet"
    if entry.engine != engine_label:
        return f"read by {entry.engine or 'an unknown engine'}, not by {engine_label}"
    if typed_number(corrected) is not None:  # a person's correction stands, whatever Value shows
        return ""
    value = (list(shown) + [None])[0]
    if entry.reading.status is not ReadingStatus.READ:
        if number(value) is not None:
            return (f"the row shows {value}, but {entry.engine} found no reading in its photo: "
                    "it is not this photo's reading (type the right one in Corrected)")
        return f"{entry.engine} found no reading in it"
    if not shows(shown, entry.reading):
        if value in (None, ""):
            return f"the row does not show its reading ({entry.reading.value}): run read again"
        return (f"the row shows {value}, not its photo's reading {entry.reading.value}: photos swapped "
                "between rows, or a number typed over the reading (type a correction in Corrected)")
    return ""
