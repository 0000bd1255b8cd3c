"""The Review sheet: one row per photo, to check each reading by eye in a second.

Each row holds the photo sheet's row number, a thumbnail of the photo, the digit window cut
from the reading's digit boxes and turned upright (``xlwings_meter.evidence``), the reading,
its confidence, the flags of the Check (``xlwings_meter.reconcile``) and a link to the photo.
Without digit boxes (an engine that gave none, a reading typed by hand) the thumbnail stands
alone. The sheet is the tool's: it is written anew on every run, its old pictures replaced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from xlwings_meter import evidence
from xlwings_meter.errors import PhotoError
from xlwings_meter.photos import resolve_path, upright_image
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.reconcile import Check, RowInput, reconcile
from xlwings_meter.workbook.cache import CacheEntry
from xlwings_meter.workbook.sheet import POINTS_PER_PIXEL, BookIO, Cell, Page, Picture

REVIEW_SHEET = "Review"
#: The name taken when a person's own sheet is called Review.
OTHER_NAME = "Meter review"
#: Every picture this tool places starts with this name: how a re-run finds (and replaces) its own.
PICTURE_PREFIX = "xlwings-meter "
HEADERS = ("Row", "Photo", "Digit window", "Reading", "Corrected", "Confidence", "Check", "Photo file")
PHOTO_COL, WINDOW_COL = 2, 3
#: Rows past this many are listed without pictures: 500 rows of ~6 KB keep a workbook near 3 MB.
MAX_PICTURE_ROWS = 500
#: The digit window's widest, in pixels (a long counter is shrunk to it, never stretched).
WINDOW_MAX_WIDTH = 240
#: The photo is decoded this big for its digit window: the JPEG decoder then works at a quarter
#: scale on a 12-megapixel phone photo, and the digits still come out sharper than the 40-pixel
#: window. For the thumbnail alone, twice its size is enough (an eighth of the work, or less).
EVIDENCE_SIDE = 1000
_PADDING = 8  # pixels between a picture and its row's edges
_CONFIDENCE_FORMAT = "0%"


@dataclass(frozen=True)
class ReviewItem:
    """One photo row: where it is, its photo cell, the reading the row shows and its Check."""

    row: int
    photo: object  # the photo cell's text, or the failure it already is (a missing file)
    reading: Reading
    check: Check | None = None
    corrected: Cell = None  # a person's correction, as typed in Corrected


def review_items(first: int, refs: Sequence[object], readings: Mapping[int, Reading],
                 checks: Mapping[int, Check], cached: Iterable[CacheEntry],
                 folder: Path | None, corrected: Mapping[int, Cell] | None = None) -> list[ReviewItem]:
    """The Review rows of photo rows ``first``... (``refs``: their photo cells).

    ``readings`` are the rows' readings as written (this run's, or what a row shows); a row
    whose reading came from the cells gets the cached reading of its photo back, with its digit
    boxes, when the values agree. Rows without a Check (no Previous column) are checked alone.
    """
    by_path = {e.path: e.reading for e in cached}
    items = []
    for i, ref in enumerate(refs):
        row = first + i
        reading = readings.get(row) or Reading.failure(ReadingStatus.NOT_READ, "Not read")
        if not reading.boxes and reading.status is ReadingStatus.READ:
            known = by_path.get(str(_path(ref, folder)))
            if known is not None and known.number == reading.number:
                reading = known
        fix = (corrected or {}).get(row)
        check = checks.get(row) or reconcile([RowInput(reading, None, fix)])[0]
        items.append(ReviewItem(row, ref, reading, check, fix))
    return items


def review_page(items: Sequence[ReviewItem], folder: Path | None, pictures: bool = True,
                max_rows: int = MAX_PICTURE_ROWS, reuse: Mapping[str, Picture] | None = None) -> Page:
    """The Review sheet for ``items``; with ``pictures``, the first ``max_rows`` rows get theirs.
    ``reuse`` holds pictures made before, by key: one made of the same photo file and reading is
    taken as it is, its photo not decoded again."""
    cells: list[list[Cell]] = [list(HEADERS)]
    formats: list[list[str | None]] = [[None] * len(HEADERS)]
    placed: list[Picture] = []
    links = {}
    shown = list(items[:max_rows]) if pictures else []
    # Decoding the photos is most of the work; Pillow lets go of the GIL while it decodes.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        made_for = list(pool.map(lambda n_item: _pictures(n_item[1], n_item[0], folder, reuse or {}),
                                 enumerate(shown, start=2)))
    for n, item in enumerate(items, start=2):
        reading = item.reading
        link = str(item.photo) if isinstance(item.photo, (str, int, float)) and item.photo != "" else None
        note: Cell = None
        if n - 2 < len(made_for):
            made = made_for[n - 2]
            placed += made
            note = None if made else "(no photo)"
        elif pictures:
            note = f"(past {max_rows} rows: no picture)"
        value: Cell = reading.number if reading.number is not None else reading.message or reading.status.label
        cells.append([item.row, note, None, value, item.corrected, reading.confidence,
                      (item.check.text or None) if item.check else None, link or (reading.message or None)])
        formats.append([None, None, None, reading.number_format if reading.number is not None else None,
                        None, _CONFIDENCE_FORMAT, None, None])
        if link:
            links[(n, len(HEADERS))] = link
    height = max((p.height for p in placed), default=0)
    row_height = (height + 2 * _PADDING) * POINTS_PER_PIXEL if placed else None
    thumb_width = max((p.width for p in placed if p.col == PHOTO_COL), default=evidence.THUMB_SIDE)
    window_width = max((p.width for p in placed if p.col == WINDOW_COL), default=80)
    widths = [6.0, _chars(thumb_width), _chars(window_width), 14.0, 11.0, 11.0,
              float(min(max([len(str(c[6] or "")) for c in cells] + [8]), 60)) + 2,
              float(min(max(len(str(c[7] or "")) for c in cells), 60)) + 2]
    return Page(cells, formats, widths, row_height, links, placed)


def write_review(book: BookIO, items: Sequence[ReviewItem], pictures: bool = True) -> tuple[str | None, int]:
    """Write the Review sheet; returns (its name, pictures placed), or (None, 0) when both
    names are taken by sheets of a person's (never overwritten)."""
    name = review_sheet_name(book)
    if name is None:
        return None, 0
    reuse = book.page_pictures(name) if name.casefold() in {n.casefold() for n in book.sheet_names()} else {}
    page = review_page(items, book.folder, pictures, reuse=reuse)
    book.write_page(name, page, PICTURE_PREFIX)
    return name, len(page.pictures)


def review_sheet_name(book: BookIO) -> str | None:
    """Review, or Meter review when a person's sheet is called Review: a name that is free or
    names a sheet this tool wrote (its first row is the Review headers); None if neither."""
    names = {n.casefold() for n in book.sheet_names()}
    for name in (REVIEW_SHEET, OTHER_NAME):
        if name.casefold() not in names:
            return name
        sheet = book.sheet(name)
        last_row, _ = sheet.extent()
        if not last_row or tuple(sheet.read_block(1, 1, 1, len(HEADERS))[0]) == HEADERS:
            return name
    return None


def evidence_images(path: Path, reading: Reading) -> tuple[Image.Image, Image.Image | None]:
    """(the photo's thumbnail, its digit window or None without boxes). Raises PhotoError."""
    image = upright_image(path, EVIDENCE_SIDE if reading.boxes else 2 * evidence.THUMB_SIDE)
    window = evidence.digit_window(image, reading.boxes, reading.angle) if reading.boxes else None
    if window is not None and window.width > WINDOW_MAX_WIDTH:
        window.thumbnail((WINDOW_MAX_WIDTH, evidence.WINDOW_HEIGHT), Image.Resampling.LANCZOS)
    return evidence.thumbnail(image), window


def _pictures(item: ReviewItem, n: int, folder: Path | None, reuse: Mapping[str, Picture]) -> list[Picture]:
    path = _path(item.photo, folder)
    keys = _keys(path, item.reading) if path is not None else None
    if path is None or keys is None:
        return []
    thumb_key, window_key = keys
    wanted = [thumb_key] + ([window_key] if item.reading.boxes else [])
    if all(k in reuse for k in wanted):
        return [dataclasses.replace(reuse[k], name=f"{PICTURE_PREFIX}{kind} {n}", row=n, col=col)
                for k, kind, col in zip(wanted, ("photo", "digits"), (PHOTO_COL, WINDOW_COL))]
    try:
        thumb, window = evidence_images(path, item.reading)
    except (PhotoError, OSError, ValueError):  # a photo gone or changed since: the row says so
        return []
    placed = [Picture(f"{PICTURE_PREFIX}photo {n}", evidence.jpeg_bytes(thumb), *thumb.size, n, PHOTO_COL,
                      thumb_key)]
    if window is not None:
        placed.append(Picture(f"{PICTURE_PREFIX}digits {n}", evidence.jpeg_bytes(window), *window.size,
                              n, WINDOW_COL, window_key))
    return placed


def _keys(path: Path, reading: Reading) -> tuple[str, str] | None:
    """Keys of the thumbnail and the digit window: the photo file as it is now (path, size, time
    of change), the reading's geometry and the pictures' sizes; None for a photo not there."""
    try:
        st = path.stat()
    except OSError:
        return None
    made = json.dumps([str(path), st.st_size, st.st_mtime_ns, EVIDENCE_SIDE, evidence.THUMB_SIDE,
                       evidence.WINDOW_HEIGHT, WINDOW_MAX_WIDTH, evidence.JPEG_QUALITY])
    window = json.dumps([made, reading.angle, reading.boxes])
    return ("photo " + hashlib.sha256(made.encode()).hexdigest()[:24],
            "digits " + hashlib.sha256(window.encode()).hexdigest()[:24])


def _path(ref: object, folder: Path | None) -> Path | None:
    if not isinstance(ref, (str, int, float)):  # a failure already (a missing file)
        return None
    try:
        return resolve_path(ref, folder)
    except PhotoError:
        return None


def _chars(pixels: int) -> float:
    """A column width in characters that holds ``pixels`` plus padding (Calibri 11: 7 px a character)."""
    return round((pixels + 2 * _PADDING) / 7 + 0.7, 1)
