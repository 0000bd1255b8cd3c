"""Accuracy and speed of the local engine on generated meter photos, on one core.

    python -m bench.accuracy                 # 216 photos: 3 rotations x 3 blurs x 3 glares x 8
    python -m bench.accuracy --per-cell 2    # a quick look
    python -m bench.accuracy --drums white   # white drums with dark digits (and colour casts)

Prints a Markdown table: for each level of each condition, the exact-reading rate, the
per-digit accuracy, how many readings had confidence >= 0.9 and how many of those were exact,
the median angle error, and seconds per photo (wall clock of ``engine.read``, one thread).
The photos differ from the tests' (seeds from 100000 on).
"""

from __future__ import annotations

import os

# One core, as the target says: set before ONNX Runtime or OpenCV is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import difflib  # noqa: E402
import itertools  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import cv2  # noqa: E402

from xlwings_meter.demo.synth import PhotoConditions, generate_meter_photo  # noqa: E402
from xlwings_meter.engines.local.engine import LocalEngine  # noqa: E402
from xlwings_meter.reading import ReadingStatus  # noqa: E402

ROTATIONS = {"upright": 0.0, "tilted <=15deg": 15.0, "any angle": None}
BLURS = {"sharp": 0.0, "blur 1px": 1.0, "blur 2px": 2.0}
GLARES = {"no glare": 0.0, "glare 0.4": 0.4, "glare 0.8": 0.8}
SURE = 0.9


@dataclass(frozen=True)
class Outcome:
    """One photo's result."""

    labels: tuple[str, str, str]
    exact: bool
    digit_accuracy: float
    confidence: float
    angle_error: float | None
    seconds: float


def conditions_for(
    seed: int, rotation: float | None, blur: float, glare: float, drums: str = "dark"
) -> PhotoConditions:
    """The grid's conditions, with the rest (tilt, noise, perspective, JPEG) drawn from the seed."""
    rng = random.Random(seed)
    if rotation == 15.0:
        rotation = rng.uniform(-15, 15)
    return PhotoConditions(
        rotation=rotation,
        blur=blur,
        glare=glare,
        noise=rng.choice([2.0, 5.0, 10.0]),
        perspective=rng.uniform(0.0, 0.6),
        jpeg_quality=rng.choice([60, 75, 90]),
        drums=None if drums == "any" else drums,
        # Dark drums without a cast are the photos this benchmark always read (same bytes).
        cast=(1.0, 1.0, 1.0) if drums == "dark" else None,
    )


def digit_accuracy(read: str, truth: str) -> float:
    """Share of the true digits read in their place (a dropped digit costs one, not all after)."""
    a, b = read.replace(".", ""), truth.replace(".", "")
    matched = sum(block.size for block in difflib.SequenceMatcher(None, a, b).get_matching_blocks())
    return matched / max(len(a), len(b), 1)


def run(per_cell: int, first_seed: int, drums: str = "dark") -> list[Outcome]:
    """Read ``per_cell`` photos for every combination of rotation, blur and glare."""
    cv2.setNumThreads(1)
    engine = LocalEngine(threads=1)
    outcomes = []
    seed = first_seed
    grid = itertools.product(ROTATIONS.items(), BLURS.items(), GLARES.items())
    for (rot_name, rot), (blur_name, blur), (glare_name, glare) in grid:
        for _ in range(per_cell):
            synth = generate_meter_photo(seed, conditions_for(seed, rot, blur, glare, drums))
            seed += 1
            photo = synth.as_photo()
            start = time.perf_counter()
            reading = engine.read(photo)
            seconds = time.perf_counter() - start
            read = reading.value if reading.status is ReadingStatus.READ else ""
            angle_error = None
            if reading.angle is not None:
                angle_error = abs((reading.angle - synth.truth.angle + 180) % 360 - 180)
            outcomes.append(
                Outcome(
                    (rot_name, blur_name, glare_name),
                    read == synth.truth.value,
                    digit_accuracy(read, synth.truth.value),
                    reading.confidence or 0.0,
                    angle_error,
                    seconds,
                )
            )
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    """The Markdown table: all photos, then each level of each condition."""
    head = (
        "| photos | n | exact | per digit | conf >= 0.9 | exact among them | angle err (median) "
        "| s/photo |\n|---|---|---|---|---|---|---|---|"
    )
    lines = [head, _line("**all**", outcomes)]
    for axis, levels in enumerate((ROTATIONS, BLURS, GLARES)):
        for name in levels:
            lines.append(_line(name, [o for o in outcomes if o.labels[axis] == name]))
    return "\n".join(lines)


def _line(name: str, group: list[Outcome]) -> str:
    n = len(group)
    sure = [o for o in group if o.confidence >= SURE]
    errors = [o.angle_error for o in group if o.angle_error is not None]
    angle = f"{statistics.median(errors):.1f} deg" if errors else "-"
    sure_exact = f"{sum(o.exact for o in sure) / len(sure):.1%}" if sure else "-"
    return (
        f"| {name} | {n} | {sum(o.exact for o in group) / n:.1%} "
        f"| {statistics.mean(o.digit_accuracy for o in group):.1%} "
        f"| {len(sure)} ({len(sure) / n:.0%}) | {sure_exact} | {angle} "
        f"| {statistics.mean(o.seconds for o in group):.2f} |"
    )


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--per-cell", type=int, default=8, help="photos per condition cell (27 cells)"
    )
    parser.add_argument("--seed", type=int, default=100_000, help="seed of the first photo")
    parser.add_argument(
        "--drums",
        choices=["dark", "white", "any"],
        default="dark",
        help="drum style: dark (default: the photos this benchmark always read), white "
        "(dark digits on white drums, any colour cast), any (drawn from the seed)",
    )
    args = parser.parse_args()
    outcomes = run(args.per_cell, args.seed, args.drums)
    print(table(outcomes))


if __name__ == "__main__":
    main()
