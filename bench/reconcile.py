"""How long a 200-row bill takes to reconcile entirely from the cache (nothing sent, no network).

    python -m bench.reconcile [--rows 200] [--photo-mb 3] [--repeat 5]

Makes ROWS phone-sized JPEGs (about --photo-mb each: what a phone writes), a workbook listing
them with a Previous column and a few corrections typed in Corrected, and puts a reading of
every photo on its cache sheet, as a first paid run would have. Then times, on the same files:

1. ``read`` as the command runs it, in-process: open, hash every photo, answer from the cache,
   write results, Consumption, Check, the highlight rules, the audit and the summary, save;
2. the same workbook without its Previous column (no reconciling): the ratio of the two is
   what reconciling adds, measured in this one run;
3. hashing the photos one by one (what a cached run cannot skip, a photo may have changed;
   ``read`` hashes on every core at once);
4. ``xlwings-meter read --cache-only`` once in its own process, as a user runs it.

Prints the median and fastest of --repeat runs of 1-3 and the one run of 4.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
from PIL import Image

from xlwings_meter.photos import file_digest
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.job import read_sheet

HEADER = ["Meter", "Previous", "Image", None, None, None, None, None, None, "Corrected"]


def make(folder: Path, rows: int, photo_mb: float) -> tuple[Path, Path]:
    """Photos, a workbook with Previous and Corrected (and one without), readings in the cache."""
    base = _phone_jpeg(photo_mb)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Photos"
    ws.append(HEADER)
    entries = []
    for i in range(rows):
        photo = folder / f"meter-{i:03d}.jpg"
        photo.write_bytes(base + i.to_bytes(4, "big"))  # after the JPEG's end: a distinct file, same picture
        previous = 1000 + 7 * i
        value = f"{previous + 12.5 + (i % 9):09.3f}" if i % 50 else f"{previous - 3:09.3f}"  # some go backwards
        ws.append([f"M{i:03d}", previous, photo.name] + [None] * 6 + [previous + 13 if i % 40 == 7 else None])
        reading = Reading(ReadingStatus.READ, value=value, confidence=0.7 if i % 25 == 3 else 0.95, angle=1.0)
        entries.append(CacheEntry(file_digest(photo), str(photo), reading, "2026-11-01T10:00:00Z", "aigen-v2"))
    bill = folder / "bill.xlsx"
    wb.save(bill)
    with FileBook(bill) as book:
        cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
        cache.merge(entries)
        cache.flush()
        book.save()
    plain = folder / "plain.xlsx"
    wb = openpyxl.load_workbook(bill)
    wb["Photos"]["B1"] = "Earlier"  # no column headed Previous: nothing to reconcile
    wb.save(plain)
    return bill, plain


def _phone_jpeg(mb: float) -> bytes:
    """A JPEG of about ``mb`` megabytes, by growing a noisy picture until it is that big."""
    side = 800
    while True:
        image = Image.effect_noise((side * 4 // 3, side), 60).convert("RGB")
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90)
        if out.tell() >= mb * 1e6 or side >= 4000:
            return out.getvalue()
        side = int(side * min(2.0, (mb * 1e6 / out.tell()) ** 0.5 * 1.05))


def run(path: Path) -> float:
    started = time.perf_counter()
    with FileBook(path) as book:
        result = read_sheet(book, None)
        book.save()
    assert result.from_cache == len(result.readings), "every photo must come from the cache"
    return time.perf_counter() - started


def hash_all(folder: Path) -> float:
    started = time.perf_counter()
    for photo in sorted(folder.glob("*.jpg")):
        file_digest(photo)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--photo-mb", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        bill, plain = make(folder, args.rows, args.photo_mb)
        size = (folder / "meter-000.jpg").stat().st_size
        times: dict[str, list[float]] = {"reconciled": [], "plain": [], "hashing": []}
        for _ in range(args.repeat):  # interleaved, so a busy moment weighs on each alike
            times["reconciled"].append(run(bill))
            times["plain"].append(run(plain))
            times["hashing"].append(hash_all(folder))
        copy = folder / "as-a-user-runs-it.xlsx"
        shutil.copy(bill, copy)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "xlwings_meter.cli", "read", str(copy), "--cache-only", "-q"],
                       check=True, capture_output=True)
        command = time.perf_counter() - started
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.rows} rows, photos of {size / 1e6:.1f} MB, every reading from the cache, "
          f"median (fastest) of {args.repeat} runs:")
    for key, what in (("reconciled", "read with Previous (reconciled)"), ("plain", "read without Previous"),
                      ("hashing", "hashing the photos, one by one")):
        print(f"  {what:34s} {med[key]:6.2f} s ({min(times[key]):.2f} s), "
              f"{med[key] / args.rows * 1e3:5.1f} ms a row")
    print(f"  reconciling adds {med['reconciled'] / med['plain'] - 1:+.0%} to a cached read "
          f"({(med['reconciled'] - med['plain']) * 1e3:.0f} ms)")
    print(f"  xlwings-meter read --cache-only, its own process, once: {command:.2f} s")


if __name__ == "__main__":
    main()
