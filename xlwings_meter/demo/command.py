"""`xlwings-meter demo`: the whole job on a fresh machine, with no key and no network.

Writes generated meter photos and a water bill listing them with last period's readings
(Previous), reads them with the local engine through the same job as `xlwings-meter read`, then
does what an accountant does next: types a correction into Corrected for a reading that is
wrong (or the least sure one) and reads again, from the cache. The saved workbook shows it all:
each reading with its confidence, Consumption and the Check flags (one previous reading is
typed too high, so its meter seems to run backwards), the highlighted rows, the correction and
its audit on the cache sheet, the Meter summary, and the Review sheet with every photo's
thumbnail and digit window. Beside the results, a column gives each photo's true reading as a
number in the same format (known because the photos were generated).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill

from xlwings_meter.engines.base import Engine
from xlwings_meter.errors import WorkbookError
from xlwings_meter.reading import Reading, ReadingStatus, count_outcomes
from xlwings_meter.reconcile import Summary
from xlwings_meter.workbook.batch import BatchResult, Progress
from xlwings_meter.workbook.columns import CORRECTED_HEADER, PREVIOUS_HEADER
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.job import read_sheet

DEMO_WORKBOOK = "meters-demo.xlsx"
DEMO_SHEET = "Meters"
TRUTH_HEADER = "True value (generator)"
#: Columns: the photo, six results (Value... Check), Previous, Corrected, the truth.
PREVIOUS_COL, CORRECTED_COL, TRUTH_COL = 8, 9, 10
_BACKWARDS_ROW = 2  # the photo (0-based) whose previous reading is typed too high


@dataclass(frozen=True)
class DemoSummary:
    """What the demo did, for a few lines on the terminal."""

    workbook: Path
    photos: int
    outcomes: str  # "11 read, 1 no reading"
    mean_confidence: float | None
    matches: int  # readings equal to the generator's truth, digit for digit
    corrected_row: int | None = None  # the row a correction was typed into
    sheet: Summary | None = None  # the bill after the correction
    review: str | None = None  # the Review sheet's name
    pictures: int = 0

    def __str__(self) -> str:
        conf = "n/a" if self.mean_confidence is None else f"{self.mean_confidence:.2f}"
        lines = [f"{self.photos} photos: {self.outcomes}, mean confidence {conf}; "
                 f"{self.matches} of {self.photos} exactly as generated."]
        if self.corrected_row is not None:
            lines.append(f"A correction typed in row {self.corrected_row} ({CORRECTED_HEADER}), then read again "
                         "from the cache:")
        lines += [line[:1].upper() + line[1:] for line in (self.sheet.lines() if self.sheet else [])]
        if self.review:
            lines.append(f"Sheet {self.review!r}: {self.pictures} evidence pictures.")
        lines.append(f"Open {self.workbook}")
        return "\n".join(lines)


def run_demo(folder: Path, engine: Engine, count: int = 12, seed: int = 2026,
             progress: Progress | None = None) -> DemoSummary:
    """Generate ``count`` photos under ``folder``, list them in a bill, read it, correct one
    reading, read again from the cache and save."""
    from xlwings_meter.demo.synth import meter_photo_files, write_meter_photos

    workbook = folder / DEMO_WORKBOOK
    if workbook.exists():  # a person may have worked in it since: never written over
        raise WorkbookError(f"{workbook} exists already (it may hold your edits); nothing was overwritten: "
                            "delete it, or name another folder: xlwings-meter demo DIR")
    # The photos folder may hold a person's files under the names the demo writes: never written over
    taken = [p for p in meter_photo_files(folder / "photos", count) if p.exists()]
    if taken:
        raise WorkbookError(f"{taken[0]} exists already ({len(taken)} file{'s' if len(taken) != 1 else ''} the "
                            "demo would write); nothing was overwritten: delete the photos folder, or name "
                            "another folder: xlwings-meter demo DIR")
    folder.mkdir(parents=True, exist_ok=True)
    photos = write_meter_photos(folder / "photos", count, seed)
    truths = [truth.value for _, truth in photos]
    _write_bill(workbook, folder, [p for p, _ in photos], truths, seed)

    with FileBook(workbook) as book:
        first = read_sheet(book, engine, progress=progress)
        book.save()
    row = _correct(workbook, first.readings, truths)
    with FileBook(workbook) as book:  # as a person's next click: nothing is read twice
        again = read_sheet(book, None)
        book.save()
    return _summarize(workbook, first, truths, row, again)


def _write_bill(workbook: Path, folder: Path, paths: list[Path], truths: list[str], seed: int) -> None:
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = DEMO_SHEET
    ws.append(["Image"] + [None] * 6 + [PREVIOUS_HEADER, CORRECTED_HEADER, TRUTH_HEADER])
    for i, (path, value) in enumerate(zip(paths, truths)):
        truth = float(value)
        used = round(min(rng.uniform(4, 20), truth / 2), 1)  # last period's consumption
        previous = round(truth + 25, 1) if i == _BACKWARDS_ROW else max(0.0, round(truth - used, 1))
        ws.append([path.relative_to(folder).as_posix()] + [None] * 6 + [previous, None, truth])
        # The truth as a number shown digit for digit like the reading, so they compare at a glance.
        ws.cell(ws.max_row, TRUTH_COL).number_format = Reading(ReadingStatus.READ, value=value).number_format
    for cell in ws[1]:  # the reading's headers take this style from the Image header
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
        cell.alignment = Alignment(horizontal="center")
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["J"].width = len(TRUTH_HEADER) + 2
    wb.save(workbook)


def _correct(workbook: Path, readings: list[Reading], truths: list[str]) -> int | None:
    """Type the true value into Corrected, as a person would, for the first wrong reading (else
    the least sure one); returns its row."""
    wrong = [i for i, (r, t) in enumerate(zip(readings, truths)) if r.status is ReadingStatus.READ and r.value != t]
    read = [i for i, r in enumerate(readings) if r.status is ReadingStatus.READ]
    pick = wrong[0] if wrong else min(read, key=lambda i: readings[i].confidence or 0, default=None)
    if pick is None:
        return None
    with FileBook(workbook) as book:
        book.sheet(DEMO_SHEET).write_block(pick + 2, CORRECTED_COL, [[float(truths[pick])]])
        book.save()
    return pick + 2


def _summarize(workbook: Path, result: BatchResult, truths: list[str], corrected_row: int | None,
               again: BatchResult) -> DemoSummary:
    readings = result.readings
    read = [r for r in readings if r.status is ReadingStatus.READ]
    confidences = [r.confidence for r in read if r.confidence is not None]
    return DemoSummary(
        workbook=workbook,
        photos=len(readings),
        outcomes=count_outcomes(readings),
        mean_confidence=sum(confidences) / len(confidences) if confidences else None,
        matches=sum(r.value == t for r, t in zip(readings, truths)),
        corrected_row=corrected_row,
        sheet=again.summary,
        review=again.review,
        pictures=again.pictures,
    )
