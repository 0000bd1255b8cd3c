"""`xlwings-meter demo`: the whole job on a fresh machine, with no key and no network.

Writes generated meter photos and a workbook listing them, reads them with the local engine
through the same job as `xlwings-meter read`, and saves the filled workbook. Beside the
results, a column gives each photo's true reading as a number in the same format (known because
the photos were generated), so a person can check the engine's work at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill

from xlwings_meter.engines.base import Engine
from xlwings_meter.reading import Reading, ReadingStatus, count_outcomes
from xlwings_meter.workbook.batch import BatchResult, Progress
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.job import read_sheet

DEMO_WORKBOOK = "meters-demo.xlsx"
DEMO_SHEET = "Meters"
TRUTH_HEADER = "True value (generator)"


@dataclass(frozen=True)
class DemoSummary:
    """What the demo did, for one line on the terminal."""

    workbook: Path
    photos: int
    outcomes: str  # "11 read, 1 no reading"
    mean_confidence: float | None
    matches: int  # readings equal to the generator's truth, digit for digit

    def __str__(self) -> str:
        conf = "n/a" if self.mean_confidence is None else f"{self.mean_confidence:.2f}"
        return (f"{self.photos} photos: {self.outcomes}, mean confidence {conf}; {self.matches} of {self.photos} exactly as generated. "
                f"Open {self.workbook}")


def run_demo(folder: Path, engine: Engine, count: int = 12, seed: int = 2026,
             progress: Progress | None = None) -> DemoSummary:
    """Generate ``count`` photos under ``folder``, list them in a workbook, read and save it."""
    from xlwings_meter.demo.synth import write_meter_photos

    folder.mkdir(parents=True, exist_ok=True)
    photos = write_meter_photos(folder / "photos", count, seed)
    workbook = folder / DEMO_WORKBOOK
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = DEMO_SHEET
    ws.append(["Image", None, None, None, None, TRUTH_HEADER])
    for path, truth in photos:
        # The truth as a number shown digit for digit like the reading, so they compare at a glance.
        ws.append([path.relative_to(folder).as_posix(), None, None, None, None, float(truth.value)])
        ws.cell(ws.max_row, 6).number_format = Reading(ReadingStatus.READ, value=truth.value).number_format
    for cell in ws[1]:  # the reading's headers take this style from the Image header
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
        cell.alignment = Alignment(horizontal="center")
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["F"].width = len(TRUTH_HEADER) + 2
    wb.save(workbook)

    with FileBook(workbook) as book:
        result = read_sheet(book, engine, progress=progress)
        book.save()
    return _summarize(workbook, result, [truth.value for _, truth in photos])


def _summarize(workbook: Path, result: BatchResult, truths: list[str]) -> DemoSummary:
    readings = result.readings
    read = [r for r in readings if r.status is ReadingStatus.READ]
    confidences = [r.confidence for r in read if r.confidence is not None]
    return DemoSummary(
        workbook=workbook,
        photos=len(readings),
        outcomes=count_outcomes(readings),
        mean_confidence=sum(confidences) / len(confidences) if confidences else None,
        matches=sum(r.value == t for r, t in zip(readings, truths)),
    )
