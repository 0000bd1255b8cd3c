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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlwings_meter import __version__
from xlwings_meter.engines import ENGINES, engine_label, make_engine
from xlwings_meter.errors import (
    AuthError,
    ColumnNotFoundError,
    MeterError,
    OfflineError,
    QuotaError,
    WorkbookChangedError,
    WorkbookError,
)
from xlwings_meter.reading import count_outcomes
from xlwings_meter.reconcile import DEFAULT_MEDIAN_MULTIPLE, DEFAULT_MIN_CONFIDENCE
from xlwings_meter.workbook.batch import DEFAULT_CONCURRENCY
from xlwings_meter.workbook.journal import LOCK_WAIT, Journal, locked

# What reads and writes workbooks (lxml) and photos is imported by the command that runs:
# `read --help` and a mistyped option answer at once.
if TYPE_CHECKING:
    from xlwings_meter.workbook.batch import BatchResult

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
        "Readings are cached on a hidden sheet: a photo is never paid for twice. With a column "
        "headed 'Previous', Consumption and Check follow Status, flagged rows are highlighted, "
        "a value typed under 'Corrected' wins, and a Meter summary block is kept on the sheet.",
    )
    read.add_argument("workbook", type=Path, help=".xlsx or .xlsm file (with --into: a folder of photos)")
    read.add_argument("--into", type=Path, metavar="WORKBOOK",
                      help="read the photos of the folder given instead of a workbook: list them, in the "
                      "order they were taken, under Image in WORKBOOK (made if missing, .xlsx), then read")
    _photo_column_options(read)
    read.add_argument("--previous", metavar="COLUMN",
                      help="header or letter of the previous readings (default: a column headed 'Previous'); "
                      "with one, Consumption and Check follow Status and flagged rows are highlighted")
    read.add_argument("--max-consumption", type=_non_negative, metavar="AMOUNT",
                      help="flag a consumption above this (default: the workbook's METER_MAX_CONSUMPTION, "
                      f"else {DEFAULT_MEDIAN_MULTIPLE:g} times the sheet's median)")
    read.add_argument("--min-confidence", type=_fraction, metavar="FRACTION",
                      help="flag a reading less sure than this, 0 to 1 (default: the workbook's "
                      f"METER_MIN_CONFIDENCE, else {DEFAULT_MIN_CONFIDENCE:g})")
    read.add_argument("--review", action=argparse.BooleanOptionalAction, default=None,
                      help="write the Review sheet: each photo's thumbnail and digit window beside its "
                      "reading, confidence and Check (default: when the sheet has a Previous column)")
    read.add_argument("--no-pictures", action="store_true",
                      help="the Review sheet without pictures (a smaller workbook)")
    read.add_argument("--output", type=Path, help="save to this file instead of WORKBOOK")
    read.add_argument("--concurrency", type=_positive, default=DEFAULT_CONCURRENCY,
                      help=f"photos read at once (default {DEFAULT_CONCURRENCY})")
    read.add_argument("--refresh", action="store_true",
                      help="read every photo again, ignoring the cache (costs credit)")
    read.add_argument("--cache-only", action="store_true",
                      help="send nothing: answer from the cache only (no key needed)")
    _engine_option(read, "aigen (the AIGEN service, default) or local (offline, needs the [local] extra)")
    read.add_argument("--wait", type=_non_negative, default=LOCK_WAIT, metavar="SECONDS",
                      help="if another run is reading the same workbook, wait this long for it "
                      f"to finish before giving up (default {LOCK_WAIT:g})")
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

    verify = sub.add_parser(
        "verify",
        help="check, without sending anything, that every row's reading is of its photo as it is now",
        description="Hash every photo listed in the workbook again and list the rows whose photo "
        "changed or vanished since it was read, or that have no reading by the engine now chosen. "
        "Exit 0 when every row holds, 1 when any needs a look.",
    )
    verify.add_argument("workbook", type=Path, help=".xlsx or .xlsm file")
    _photo_column_options(verify)
    _engine_option(verify, "the engine whose readings count")

    template = sub.add_parser(
        "template",
        help="write a copy of the Excel workbook with the Meter buttons and METERREAD",
        description="Write the Excel template (the Meter tab, METERREAD, instructions) to DEST, "
        "never over an existing file. A copy written here is not blocked by Office as a "
        "downloaded file would be.",
    )
    template.add_argument("dest", type=Path, nargs="?", metavar="DEST",
                          help="a .xlsm file or a folder (default: ./meter-readings.xlsm)")
    return parser


def _photo_column_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sheet", help="sheet name (default: the first visible sheet)")
    parser.add_argument("--column", help="header or letter of the photo column (default: 'Image')")


def _engine_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--engine", choices=ENGINES,
                        help=f"{what}; default: the workbook's METER_ENGINE setting, else aigen")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xlwings-meter`` console script."""
    args = build_parser().parse_args(argv)
    try:
        commands = {"demo": _demo, "read": _read, "template": _template, "verify": _verify}
        return commands[args.command](args)
    except MeterError as exc:
        _say(f"error: {error_message(exc)}")
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
    from xlwings_meter.workbook.listing import new_listing_book

    folder = None
    if args.into is not None:  # read FOLDER --into WORKBOOK
        folder, args.workbook = args.workbook, args.into
        if not folder.is_dir():
            raise WorkbookError(f"{folder} is not a folder of photos")
    # One run per workbook at a time: a second one would pay again for every photo.
    with locked(args.workbook, args.output or args.workbook, wait=args.wait):
        if folder is not None and not args.workbook.exists():
            new_listing_book(args.workbook)
        return _read_locked(args, folder)


def _read_locked(args: argparse.Namespace, folder: Path | None) -> int:
    from xlwings_meter.workbook.files import FileBook
    from xlwings_meter.workbook.job import read_sheet
    from xlwings_meter.workbook.listing import add_folder
    from xlwings_meter.workbook.settings import limits, read_workbook_settings

    output = args.output or args.workbook
    journal = Journal.beside(output)
    # Readings paid for by an earlier run on the source that never got saved into it (a crash,
    # a refused save) are used too; that journal stays until they reach the source itself.
    recovered = journal.unsaved() + Journal.beside(args.workbook).unsaved()
    with FileBook(args.workbook) as book, _progress_bar(args.quiet) as progress:
        book.check_target(output)
        if folder is not None:
            added = add_folder(book, folder, sheet_name=args.sheet, column=args.column)
            _say(f"{_count(added, 'photo')} of {folder} added to {args.workbook.name}")
        workbook = read_workbook_settings(book)
        for warning in workbook.warnings:
            _say(f"warning: {warning}")
        engine_name = args.engine or workbook.engine
        engine = None if args.cache_only or workbook.cache_only else make_engine(engine_name)
        result = read_sheet(
            book, engine, sheet_name=args.sheet, column=args.column,
            concurrency=args.concurrency, refresh=args.refresh, progress=progress,
            recovered=recovered, on_record=journal.append, previous=args.previous,
            limits=limits(workbook, args.max_consumption, args.min_confidence),
            review=args.review, pictures=not args.no_pictures,
        )
        saved = book.save(output)
    journal.remove()
    print(summarize(result, saved))
    for line in result.summary.lines() if result.summary else ():
        print(line[:1].upper() + line[1:])
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


def _verify(args: argparse.Namespace) -> int:
    from xlwings_meter.workbook.files import FileBook
    from xlwings_meter.workbook.settings import read_workbook_settings
    from xlwings_meter.workbook.verify import verify_sheet

    with FileBook(args.workbook) as book:
        label = engine_label(args.engine or read_workbook_settings(book).engine)
        result = verify_sheet(book, label, sheet_name=args.sheet, column=args.column)
    for finding in result.findings:
        print(finding)
    looks = len(result.findings)
    print(f"{_count(result.rows, 'row')}: " + ("every reading is of its photo as it is now, by " + label
          if result.holds else f"{looks} need{'s' if looks == 1 else ''} a look"))
    return EXIT_OK if result.holds else EXIT_ERROR


def _template(args: argparse.Namespace) -> int:
    from xlwings_meter.excel.template import write_template

    written = write_template(args.dest)
    print(f"Wrote {written}. Open it in Excel (the xlwings add-in must be installed: "
          "xlwings addin install), list your photos under Image and click Meter > Read meters.")
    return EXIT_OK


def summarize(result: BatchResult, saved: Path) -> str:
    """One line on what a run did, for the terminal."""
    return (f"{_count(len(result.readings), 'row')}: {count_outcomes(result.readings)}; "
            f"{paid_calls(result)}, {result.from_cache} from the cache. Saved {saved}")


def paid_calls(result: BatchResult) -> str:
    """What left the machine: "3 photos sent (4 uploads, 1.2 MB)", every retry counted; for the
    local engine "3 photos read on this machine", since nothing was sent.

    >>> from xlwings_meter.workbook.batch import BatchResult
    >>> paid_calls(BatchResult([], sent=2, uploads=3, bytes_uploaded=912_000))
    '2 photos sent (3 uploads, 912 kB)'
    """
    if result.on_this_machine:
        return f"{_count(result.sent, 'photo')} read on this machine"
    size = result.bytes_uploaded
    amount = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
    uploads = f" ({_count(result.uploads, 'upload')}, {amount})" if result.uploads else ""
    return f"{_count(result.sent, 'photo')} sent{uploads}"


def notes(result: BatchResult) -> list[str]:
    """What the run deliberately did not do: rows a person changed, refreshes that failed."""
    lines = []
    if result.kept:
        lines.append(f"left alone: {_rows_text(result.kept)}, whose results were changed by hand "
                     "(your edits win; clear those cells to have the photos read again)")
    if result.summary_blocked:
        lines.append("the Meter summary block was not updated: it would have covered cells of yours "
                     "below it; move them, or the block")
    if result.kept_previous:
        lines.append(f"{_count(result.kept_previous, 'photo')} could not be read again; the "
                     "previous reading is kept")
    if result.review:
        lines.append(f"sheet {result.review!r}: each reading beside its evidence "
                     f"({_count(result.pictures, 'picture')})")
    elif result.review_blocked:
        lines.append("no Review sheet: sheets of yours are called Review and Meter review")
    return lines + result.remarks


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


def error_message(exc: MeterError) -> str:
    """How the command line words an error that stopped it (one line, with the option to use)."""
    if isinstance(exc, ColumnNotFoundError) and exc.column is not None and not exc.named:
        return f"{exc}; name the column of photo paths with --column"
    if isinstance(exc, WorkbookChangedError):
        journal = Journal.beside(exc.path)
        read = len(journal.entries())
        kept = (f"the {_count(read, 'reading')} paid for are kept in {journal.path.name} beside it "
                "and go in at the next run, with nothing paid again" if read else "no new reading was lost")
        close = "close it in Excel, then " if exc.lock is not None else ""
        return f"{exc}; {kept}: {close}run again (or use --output to write a copy)"
    return str(exc)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


class _progress_bar:
    """A tqdm bar on a terminal; nothing when quiet or when output is not a terminal."""

    def __init__(self, quiet: bool) -> None:
        self._bar: Any = None  # a tqdm bar, imported only when one is shown
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


def _non_negative(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1 (0.8 is 80%)")
    return value


def _say(message: str) -> None:
    print(f"xlwings-meter: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
