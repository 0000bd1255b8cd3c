"""What the Review sheet's evidence pictures add to a workbook: bytes per row, and seconds.

    python -m bench.review [--rows 50] [--side 3000]

Generates ROWS meter photos (the demo's generator, scaled up to --side pixels on the long side
as a phone writes them), lists them with a Previous column and their readings (with digit
boxes) on the cache sheet, then reads the workbook from the cache in this one run: without a
Review sheet, with the Review without pictures, with its pictures, and once more over the last
result (a re-run, which reuses the pictures of unchanged photos). Prints the workbook's size and
the time of each, and the bytes and milliseconds the pictures add per row.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import openpyxl
from PIL import Image

from xlwings_meter.demo.synth import write_meter_photos
from xlwings_meter.photos import file_digest
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.job import read_sheet


def make_book(folder: Path, rows: int, side: int | None = None) -> Path:
    """A workbook listing ``rows`` generated photos, each's reading (boxes too) in its cache."""
    photos = write_meter_photos(folder / "photos", rows, seed=11)
    if side:
        for path, _ in photos:
            img = Image.open(path)
            scale = side / max(img.size)
            img.resize((round(img.width * scale), round(img.height * scale))).save(path, quality=92)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Image", None, None, None, None, None, None, "Previous"])
    for path, truth in photos:
        ws.append([path.relative_to(folder).as_posix()] + [None] * 6 + [max(0.0, float(truth.value) - 7)])
    book_path = folder / "bill.xlsx"
    wb.save(book_path)
    with FileBook(book_path) as book:
        cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
        cache.merge(CacheEntry(file_digest(path), str(path), Reading(
            ReadingStatus.READ, value=truth.value, confidence=0.93, angle=truth.angle, boxes=truth.boxes),
            "2026-11-01T10:00:00Z", "bench") for path, truth in photos)
        cache.flush()
        book.save()
    return book_path


def timed_read(book_path: Path, out: Path, review: bool, pictures: bool) -> tuple[int, float]:
    """(bytes of the saved workbook, seconds) of one read from the cache."""
    start = time.perf_counter()
    with FileBook(book_path) as book:
        read_sheet(book, None, review=review, pictures=pictures)
        book.save(out)
    return out.stat().st_size, time.perf_counter() - start


def bytes_per_row(folder: Path, rows: int = 20, side: int | None = None) -> float:
    """The bytes the pictures add per row: with pictures minus without, over the rows."""
    book = make_book(folder, rows, side)
    without, _ = timed_read(book, folder / "plain.xlsx", review=True, pictures=False)
    with_pictures, _ = timed_read(book, folder / "pictures.xlsx", review=True, pictures=True)
    return (with_pictures - without) / rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--side", type=int, default=3000, help="long side of the photos, pixels")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        book = make_book(folder, args.rows, args.side)
        results = {name: timed_read(book, folder / f"{name}.xlsx", review, pictures)
                   for name, review, pictures in (("no review", False, False), ("review, no pictures", True, False),
                                                  ("review with pictures", True, True))}
        results["re-run (pictures reused)"] = timed_read(folder / "review with pictures.xlsx", folder / "again.xlsx",
                                                         True, True)
    for name, (size, seconds) in results.items():
        print(f"{name:>26}: {size / 1e3:8.1f} kB  {seconds:6.2f} s")
    (plain, t0), (full, t1) = results["review, no pictures"], results["review with pictures"]
    print(f"{args.rows} rows, photos {args.side} px: the pictures add {(full - plain) / args.rows / 1e3:.1f} kB "
          f"and {(t1 - t0) / args.rows * 1e3:.0f} ms a row")


if __name__ == "__main__":
    main()
