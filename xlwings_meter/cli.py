"""The command line: parses options, runs the library, turns its errors into one-line messages.

Exit codes: 0 the batch ran (rows that could not be read say why in Status); 1 it could not
run (a message says why); 2 bad usage; 70 an internal error; 3 the key was refused; 4 the credit ran out or the
service kept saying "too many requests"; 5 the service could not be reached; 130 stopped with Ctrl+C. In every case but 1 and 2
what was read is saved.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from xlwings_meter import __version__
from xlwings_meter.engines import ENGINES, make_engine
from xlwings_meter.errors import AuthError, MeterError, OfflineError, QuotaError
from xlwings_meter.reading import ReadingStatus
from xlwings_meter.workbook.batch import DEFAULT_CONCURRENCY, BatchResult
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.job import read_sheet
from xlwings_meter.workbook.journal import Journal
from xlwings_meter.workbook.settings import read_workbook_settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_AUTH, EXIT_QUOTA, EXIT_OFFLINE = 0, 1, 2, 3, 4, 5
EXIT_INTERNAL, EXIT_INTERRUPTED = 70, 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``xlwings-meter``."""
    parser = argparse.ArgumentParser(
        prog="xlwings-meter", description="Read water-meter photos listed in a workbook."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    read = sub.add_parser(
        "read",
        help="read the photos listed in a workbook and write Value, Confidence, Angle, Status",
        description="Read the photos whose paths are in the column headed 'Image' (or --column) "
        "and write Value, Confidence, Angle and Status into the four columns to its right. "
        "Readings are cached on a hidden sheet: a photo is never paid for twice.",
    )
    read.add_argument("workbook", type=Path, help=".xlsx or .xlsm file")
    read.add_argument("--sheet", help="sheet name (default: the first visible sheet)")
    read.add_argument("--column", help="header or letter of the photo column (default: 'Image')")
    read.add_argument("--output", type=Path, help="save to this file instead of WORKBOOK")
    read.add_argument("--concurrency", type=_positive, default=DEFAULT_CONCURRENCY,
                      help=f"photos read at once (default {DEFAULT_CONCURRENCY})")
    read.add_argument("--refresh", action="store_true",
                      help="read every photo again, ignoring the cache (costs credit)")
    read.add_argument("--cache-only", action="store_true",
                      help="send nothing: answer from the cache only (no key needed)")
    read.add_argument("--engine", choices=ENGINES,
                      help="aigen (the AIGEN service, default) or local (offline, needs the [local] "
                      "extra); default: the workbook's METER_ENGINE setting, else aigen")
    read.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    demo = sub.add_parser(
        "demo",
        help="generate sample meter photos and a workbook, and read them offline (no key needed)",
        description="Write sample meter photos and a workbook listing them into DIR, read them "
        "with the local engine (no key, no network) and save the filled workbook.",
    )
    demo.add_argument("folder", type=Path, nargs="?", default=Path("xlwings-meter-demo"),
                      metavar="DIR", help="where to write (default: ./xlwings-meter-demo)")
    demo.add_argument("--photos", type=_positive, default=12, help="how many photos (default 12)")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xlwings-meter`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return _demo(args) if args.command == "demo" else _read(args)
    except MeterError as exc:
        _say(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("stopped: readings already paid for are kept in the journal and used by the next run")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line, and the journal keeps what was read
        if os.environ.get("XLWINGS_METER_DEBUG"):
            raise
        _say(f"internal error ({type(exc).__name__}: {exc}); set XLWINGS_METER_DEBUG=1 for details")
        return EXIT_INTERNAL


def _read(args: argparse.Namespace) -> int:
    output = args.output or args.workbook
    journal = Journal.beside(output)
    # Readings paid for by an earlier run on the source that never got saved into it (a crash,
    # a refused save) are used too; that journal stays until they reach the source itself.
    recovered = journal.unsaved() + Journal.beside(args.workbook).unsaved()
    with FileBook(args.workbook) as book, _progress_bar(args.quiet) as progress:
        book.check_target(output)
        workbook = read_workbook_settings(book)
        for warning in workbook.warnings:
            _say(f"warning: {warning}")
        engine_name = args.engine or workbook.engine
        engine = None if args.cache_only or workbook.cache_only else make_engine(engine_name)
        result = read_sheet(
            book, engine, sheet_name=args.sheet, column=args.column,
            concurrency=args.concurrency, refresh=args.refresh, progress=progress,
            recovered=recovered, on_record=journal.append,
        )
        saved = book.save(output)
    journal.remove()
    print(summarize(result, saved))
    for line in notes(result):
        _say(line)
    if result.stopped is not None:
        _say(f"stopped: {result.stopped}")
        codes = {AuthError: EXIT_AUTH, QuotaError: EXIT_QUOTA, OfflineError: EXIT_OFFLINE}
        return next((c for kind, c in codes.items() if isinstance(result.stopped, kind)), EXIT_ERROR)
    if result.interrupted:
        _say("stopped by the user: what was read is saved; run again to read the rest")
        return EXIT_INTERRUPTED
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from xlwings_meter.demo.command import run_demo

    engine = make_engine("local")
    with _progress_bar(args.quiet) as progress:
        summary = run_demo(args.folder, engine, count=args.photos, progress=progress)
    print(summary)
    return EXIT_OK


def summarize(result: BatchResult, saved: Path) -> str:
    """One line on what a run did, for the terminal."""
    counts = Counter(r.status for r in result.readings)
    parts = [f"{counts[ReadingStatus.READ]} read"]
    parts += [f"{counts[s]} {s.label}" for s in ReadingStatus if s is not ReadingStatus.READ and counts[s]]
    size = result.bytes_uploaded
    uploaded = (f" ({size / 1e6:.1f} MB)" if size >= 1e6 else f" ({size / 1e3:.0f} kB)") if result.sent else ""
    return (f"{_count(len(result.readings), 'row')}: {', '.join(parts)}; "
            f"{_count(result.sent, 'photo')} sent{uploaded}, {result.from_cache} from the cache. "
            f"Saved {saved}")


def notes(result: BatchResult) -> list[str]:
    """What the run deliberately did not do: rows a person changed, refreshes that failed."""
    lines = []
    if result.kept:
        lines.append(f"left alone: {_rows_text(result.kept)}, whose results were changed by hand "
                     "(your edits win; clear those cells to have the photos read again)")
    if result.kept_previous:
        lines.append(f"{_count(result.kept_previous, 'photo')} could not be read again; the "
                     "previous reading is kept")
    return lines


def _rows_text(rows: Sequence[int]) -> str:
    """[5, 6, 7, 9] -> "rows 5-7, 9"."""
    spans: list[list[int]] = []
    for r in sorted(rows):
        if spans and r == spans[-1][1] + 1:
            spans[-1][1] = r
        else:
            spans.append([r, r])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
    return ("row " if len(rows) == 1 else "rows ") + text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


class _progress_bar:
    """A tqdm bar on a terminal; nothing when quiet or when output is not a terminal."""

    def __init__(self, quiet: bool) -> None:
        self._bar = None
        self._quiet = quiet or not sys.stderr.isatty()

    def __enter__(self):
        if self._quiet:
            return None

        def progress(done: int, total: int) -> None:
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="photo", file=sys.stderr)
            self._bar.n = done
            self._bar.refresh()

        return progress

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _say(message: str) -> None:
    print(f"xlwings-meter: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
