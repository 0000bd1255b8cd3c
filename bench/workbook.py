"""Time of a cache-only run on a big workbook: open, find, write the results, save.

    python -m bench.workbook            # 5000 photo rows
    python -m bench.workbook --rows 20000

A workbook written by xlsxwriter with N photo rows, each with a hyperlink, a formula column
and a second sheet of data is read twice: the first run writes "not in the cache" into every
row (new cells), the second rewrites them (cells that exist). Prints seconds for each run and
the size of the file; the numbers measure the file backend, not any engine (nothing is sent).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import xlsxwriter

from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.job import read_sheet


def make(path: Path, rows: int) -> None:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Photos")
    ws.write_row(0, 0, ["Image", None, None, None, None, "Units", "Note"])
    for r in range(1, rows + 1):
        ws.write_url(r, 0, f"external:photos/m{r}.jpg", string=f"photos/m{r}.jpg")
        ws.write_number(r, 5, r * 1.5)
        ws.write_formula(r, 6, f"=F{r + 1}*2", None, r * 3.0)
    other = wb.add_worksheet("Bills")
    for r in range(rows):
        other.write_row(r, 0, [r, f"customer {r}", r * 2.5])
    wb.close()


def run(path: Path) -> float:
    started = time.perf_counter()
    with FileBook(path) as book:
        read_sheet(book, None)
        book.save()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.xlsx"
        make(path, args.rows)
        size = path.stat().st_size
        first = run(path)
        second = run(path)
        print(f"{args.rows} rows, {size / 1e3:.0f} kB -> {path.stat().st_size / 1e3:.0f} kB: "
              f"first run {first:.2f} s (new cells), second run {second:.2f} s (cells rewritten)")


if __name__ == "__main__":
    main()
