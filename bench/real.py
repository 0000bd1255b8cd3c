"""The local engine on real meter photos, against raw RapidOCR, on one core.

    python -m bench.real                      # ../shared/realphotos (next to the repository)
    python -m bench.real FOLDER               # any folder with a truth.csv
    python -m bench.real --each               # also one line per photo
    python -m bench.real --only nohn_         # only photos whose file name has nohn_
    python -m bench.real --turn 180           # each photo turned (losslessly) before reading
    python -m bench.real --jpeg 95            # each photo compressed once more, at quality 95

``truth.csv`` has ``file, reading, source, licence, notes``; ``accept=A|B`` in the notes lists the
readings that count when a drum is caught between two digits. Photos are grouped by source (the
file name up to its first ``_``). Prints a Markdown table: strict exact (the ``reading`` column),
lenient exact (any ``accept=`` reading), per-digit accuracy, how many readings had confidence
>= 0.9 and how many of those were right (lenient), the no-reading rate and seconds per photo
(wall clock of ``engine.read``, one thread). In the same run, the baseline: RapidOCR's own
pipeline on the photo turned 0, 90, 180 and 270 degrees, keeping the longest run of digits; it
has no decimal point, so it counts as right when its digits are those of an accepted reading.

``--turn`` and ``--jpeg`` change each photo as a user's copy of it might differ (taken the other
way up, saved once more) and so say how steady the readings are: the engine and the baseline
read the upload image turned by a multiple of 90 degrees without loss, or compressed again.
"""

from __future__ import annotations

import os

# One core, as the target says: set before ONNX Runtime or OpenCV is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import dataclasses  # noqa: E402
import difflib  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from xlwings_meter.engines.local.engine import LocalEngine  # noqa: E402
from xlwings_meter.photos import Photo, load_photo  # noqa: E402
from xlwings_meter.reading import ReadingStatus  # noqa: E402

DEFAULT_FOLDER = ROOT.parent / "shared" / "realphotos"
SURE = 0.9


@dataclass(frozen=True)
class Truth:
    """One photo's known reading and the readings that count as right."""

    file: str
    reading: str
    accept: tuple[str, ...]

    @property
    def source(self) -> str:
        return self.file.split("_")[0]


@dataclass(frozen=True)
class Outcome:
    """What one reader made of one photo."""

    truth: Truth
    value: str  # "" when no reading
    confidence: float
    seconds: float

    @property
    def strict(self) -> bool:
        return self.value == self.truth.reading

    @property
    def lenient(self) -> bool:
        return self.value in self.truth.accept


def load_truth(folder: Path) -> list[Truth]:
    """The rows of ``folder/truth.csv``."""
    with open(folder / "truth.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        found = re.search(r"accept=([0-9.|]+)", row.get("notes") or "")
        accept = tuple(found.group(1).split("|")) if found else ()
        out.append(Truth(row["file"], row["reading"], tuple(dict.fromkeys((row["reading"], *accept)))))
    return out


_TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
          270: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class Change:
    """What is done to each photo before it is read: turned (degrees anticlockwise, without
    loss) and compressed once more (JPEG quality, 0 for not)."""

    turn: int = 0
    jpeg: int = 0

    def apply(self, photo: Photo) -> Photo:
        """``photo`` with its upload image changed; itself when nothing is asked."""
        if not self.turn and not self.jpeg:
            return photo
        img = photo.image.convert("RGB")
        if self.turn:
            img = img.transpose(_TURNS[self.turn])
        buf = io.BytesIO()
        if self.jpeg:
            img.save(buf, "JPEG", quality=self.jpeg)
        else:
            img.save(buf, "PNG")  # lossless: the engine sees exactly the turned pixels
        return dataclasses.replace(photo, data=buf.getvalue(), width=img.width, height=img.height)


def digit_accuracy(read: str, truth: str) -> float:
    """Share of the true digits read in their place (a dropped digit costs one, not all after)."""
    a, b = read.replace(".", ""), truth.replace(".", "")
    matched = sum(block.size for block in difflib.SequenceMatcher(None, a, b).get_matching_blocks())
    return matched / max(len(a), len(b), 1)


def run_engine(folder: Path, truths: list[Truth], change: Change = Change()) -> list[Outcome]:
    """Read every photo with the local engine, one thread."""
    engine = LocalEngine(threads=1)
    out = []
    for t in truths:
        photo = change.apply(load_photo(folder / t.file))
        start = time.perf_counter()
        reading = engine.read(photo)
        seconds = time.perf_counter() - start
        value = reading.value if reading.status is ReadingStatus.READ and reading.value else ""
        out.append(Outcome(t, value, reading.confidence or 0.0, seconds))
    return out


def run_baseline(folder: Path, truths: list[Truth], change: Change = Change()) -> list[Outcome]:
    """Raw RapidOCR at four rotations, longest digit string; compared without the point."""
    import rapidocr

    ocr = rapidocr.RapidOCR(
        params={
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )
    out = []
    for t in truths:
        photo = change.apply(load_photo(folder / t.file))
        bgr = cv2.cvtColor(np.asarray(photo.image.convert("RGB")), cv2.COLOR_RGB2BGR)
        start = time.perf_counter()
        best = ""
        for turn in range(4):
            img = np.ascontiguousarray(np.rot90(bgr, turn))
            result = ocr(img)
            for text in result.txts or ():
                for run in re.findall(r"\d+", text):
                    if len(run) > len(best):
                        best = run
        seconds = time.perf_counter() - start
        plain = {a.replace(".", ""): a for a in t.accept}
        value = plain.get(best, best)  # its digits, with the point of the reading they match
        out.append(Outcome(t, value, 0.0, seconds))
    return out


def line(name: str, group: list[Outcome]) -> str:
    """One row of the table."""
    n = len(group)
    sure = [o for o in group if o.confidence >= SURE]
    sure_right = f"{sum(o.lenient for o in sure)}/{len(sure)}" if sure else "0/0"
    per_digit = statistics.mean(digit_accuracy(o.value, o.truth.reading) for o in group)
    return (
        f"| {name} | {n} | {sum(o.strict for o in group)} ({sum(o.strict for o in group) / n:.0%}) "
        f"| {sum(o.lenient for o in group)} ({sum(o.lenient for o in group) / n:.0%}) "
        f"| {per_digit:.0%} | {sure_right} | {sum(not o.value for o in group) / n:.0%} "
        f"| {statistics.mean(o.seconds for o in group):.2f} |"
    )


def table(engine: list[Outcome], baseline: list[Outcome]) -> str:
    """The Markdown table: the engine by source and in all, then the baseline in all."""
    head = (
        "| reader / source | photos | exact (strict) | exact (lenient) | per digit "
        "| right among conf >= 0.9 | no reading | s/photo |\n|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for source in sorted({o.truth.source for o in engine}):
        lines.append(line(f"local: {source}", [o for o in engine if o.truth.source == source]))
    lines.append(line("**local: all**", engine))
    if baseline:
        for source in sorted({o.truth.source for o in baseline}):
            group = [o for o in baseline if o.truth.source == source]
            lines.append(line(f"raw RapidOCR: {source}", group))
        lines.append(line("**raw RapidOCR: all**", baseline))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--each", action="store_true", help="one line per photo as well")
    parser.add_argument("--no-baseline", action="store_true", help="skip raw RapidOCR")
    parser.add_argument("--only", metavar="TEXT", help="only photos whose file name has TEXT")
    parser.add_argument("--turn", type=int, choices=[0, *_TURNS], default=0,
                        help="turn each photo by this many degrees first (without loss)")
    parser.add_argument("--jpeg", type=int, default=0, metavar="QUALITY",
                        help="compress each photo once more at this JPEG quality first")
    args = parser.parse_args(argv)
    if not (args.folder / "truth.csv").is_file():
        print(f"no truth.csv in {args.folder}", file=sys.stderr)
        return 2
    cv2.setNumThreads(1)
    truths = [t for t in load_truth(args.folder) if not args.only or args.only in t.file]
    change = Change(args.turn, args.jpeg)
    engine = run_engine(args.folder, truths, change)
    baseline = [] if args.no_baseline else run_baseline(args.folder, truths, change)
    if args.each:
        for o in engine:
            mark = "ok" if o.lenient else "--"
            print(f"{mark} {o.truth.file:42} {o.value or '(none)':>12} {o.confidence:.2f} "
                  f"truth {o.truth.reading}  {o.seconds:.2f}s")
    print(table(engine, baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
