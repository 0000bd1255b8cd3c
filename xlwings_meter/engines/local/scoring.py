"""Scoring candidate readings: which row is the counter, and how sure the engine is of it.

Pure arithmetic on :class:`~xlwings_meter.engines.local.ctc.CounterRead` values (no numpy),
so the rules can be read, and tested, on their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from xlwings_meter.engines.local.geometry import REC_HEIGHT

#: Readings scored below this are not readings: the engine says it found no counter.
MIN_SCORE = 0.25
#: How many drums counters have: a reading with more or fewer is less sure of itself.
USUAL_DRUMS = (5, 8)
#: The confidence of a reading on which the recogniser and the drum classifier disagree is
#: scaled by this: never sure.
DISAGREE = 0.85


@dataclass(frozen=True)
class Candidate:
    """A candidate reading and its score (0..1)."""

    read: Any  # ctc.CounterRead
    score: float
    agrees: bool = True  # the classifier's reading is the recogniser's (or there is only one)


def score_read(read: Any) -> float:
    """How much a strip's reading looks like a meter counter, 0..1 (see the module doc).

    Drums matter more than crisp digits: a serial number printed on the dial reads perfectly,
    while a counter with a drum caught between two digits does not.
    """
    n = len(read.digits)
    if n < 3 or n > 10 or read.pitch < 0.3 * REC_HEIGHT:  # a drum is not that narrow
        return 0.0
    # A guessed digit is evidence of a drum, whatever its score: confidence deals with it.
    probs = [max(d.prob, 0.5) if d.guessed else d.prob for d in read.digits]
    score = math.exp(sum(math.log(max(p, 1e-6)) for p in probs) / n)
    on_drums = read.strip.row.source == "window"
    score *= (0.6 if on_drums else 0.3) ** read.foreign * 0.6**read.gaps
    if read.backwards:
        score *= 0.15
    if read.red_elsewhere:
        score *= 0.3
    if not on_drums and upside_down_zeros(read.value):
        score *= 0.3
    if not on_drums:
        # Printed text, not drums; and four digits in print are more often a year.
        score *= 0.75 if n > 4 else 0.35
    return score * (0.5 + 0.5 * min(1.0, read.drums / 0.45))


def prescore(read: Any) -> float:
    """A first look at a candidate, before its drums are classified: digit count, pitch,
    foreign characters, red drums in the wrong place; not the drums' colour."""
    n = len(read.digits)
    if n < 3 or n > 10 or read.pitch < 0.3 * REC_HEIGHT:
        return 0.0
    probs = [max(d.prob, 0.5) if d.guessed else d.prob for d in read.digits]
    score = math.exp(sum(math.log(max(p, 1e-6)) for p in probs) / n)
    score *= 0.5**read.foreign
    if read.backwards or read.red_elsewhere:
        score *= 0.3
    return score


def score_drums(first: Any, read: Any, drums: list[Any], tallest: float) -> float:
    """How much a classified candidate looks like the counter, 0..1: the classifier's
    sureness, the recogniser's, the digit count and the row's size among the others."""
    n = len(drums)
    sure = math.exp(sum(math.log(max(d.sure, 1e-6)) for d in drums) / n)
    count = 1.0 if 5 <= n <= 9 else 0.5 if n == 4 else 0.3  # a year, a page number: 4 digits
    size = min(1.0, read.strip.row.height / tallest) ** 0.5
    lead = 0.5 if upside_down_zeros(read.value) else 1.0 if read.value.startswith("0") else 0.7
    return sure * prescore(first) ** 0.5 * count * size * lead


def confidence(best: Candidate, candidates: list[Candidate]) -> float:
    """How sure the engine is of ``best``: its least sure digit, lowered when another reading
    (another row, or the same row read another way) scores close to it.

    A digit guessed on a drum caught between two digits counts as at most 0.5 sure, and so does
    a drum left unread past the end of the row (a digit may be missing); a reading with an
    unusual number of drums is less sure.
    """
    read = best.read
    weakest = min(min(d.prob, 0.5) if d.guessed else d.prob for d in read.digits)
    if read.gaps:
        weakest = min(weakest, 0.5)
    rival = max(
        (
            c.score * _rival_weight(best, c)
            for c in candidates
            if not _same_reading(read.value, c.read.value)
        ),
        default=0.0,
    )
    lead = min(1.0, (best.score - rival) / 0.3)
    quality = min(1.0, best.score / 0.6)
    # Counters have 5 to 8 drums; fewer or more, and a drum may be missing or a stray mark
    # read as one: the digit count is doubtful.
    count = 1.0 if USUAL_DRUMS[0] <= len(read.digits) <= USUAL_DRUMS[1] else 0.8
    # One or two red drums where counters have three or four: the last may be missing. And a
    # counter that reads zeros but for one digit is more often a misread than a new meter.
    if read.decimals in (1, 2) or len(read.value.replace("0", "").replace(".", "")) < 2:
        count = min(count, 0.8)
    # Where the two readers disagree on the digits, neither is sure.
    agree = 1.0 if best.agrees else DISAGREE
    return max(0.0, weakest * lead * quality * count * agree)


#: How much a reading of the window network's own row counts, as a rival or as a candidate, beside a
#: row found in finer detail (a drum block, a text line).
COARSE = 0.8


def coarse(read: Any) -> bool:
    """Whether ``read`` is of a row the window network cut: its map is 48 cells across, so its
    rows are a little too tall or long, and a rolling drum in them is often read twice (000004
    for 00004)."""
    return bool(read.strip.row.source == "net")


def _same_reading(value: str, other: str) -> bool:
    """Whether reading ``other`` says what ``value`` says: the same, or the same digits where
    it saw no decimal point (a cut that missed the red drums does not contradict one that saw
    them)."""
    return other == value or ("." not in other and other == value.replace(".", ""))


def _rival_weight(best: Candidate, rival: Candidate) -> float:
    """1, or ``COARSE`` for a rival read on the window network's row where the winner's
    row was found in finer detail."""
    return COARSE if coarse(rival.read) and not coarse(best.read) else 1.0


def doubled(read: Any) -> bool:
    """Whether a drum window's reading has a pitch no drum has: a window seen at a slant,
    cut too short for its width, so that each broad digit was read twice."""
    return (
        read.strip.row.source == "window" and len(read.digits) > 3 and read.pitch < 0.3 * REC_HEIGHT
    )


def upside_down_zeros(value: str) -> bool:
    """Whether ``value`` looks like a counter read upside down: counters show their leading
    zeros, and a row turned round ends in them instead (0, 1, 6, 8 and 9 read as digits both
    ways up)."""
    return "." not in value and value.endswith("0") and not value.startswith("0")


#: How far past the last digit (in drum pitches) a unit such as ``m3`` is taken as the counter's.
_UNIT_REACH = 2.5
#: The weight of a row read the other way round from the one that shows the unit after it.
UNIT_BEFORE = 0.35


def unit_after(read: Any) -> bool:
    """Whether the recogniser saw letters just after the row's last digit: a unit (``m3``)."""
    if not read.digits or read.strip.row.source == "window":  # glare on drums looks foreign
        return False
    last = read.digits[-1].x
    return any(last < x <= last + _UNIT_REACH * read.pitch for x in read.letters)


def upright_by_layout(read: Any) -> bool:
    """Whether ``read`` shows its row the right way up by layout: a unit just after its
    digits, or red decimal drums at its right end (read upside down, they are on the left)."""
    return unit_after(read) or (read.decimals > 0 and not read.red_elsewhere)


def unit_weights(candidates: list[Candidate]) -> list[float]:
    """1 for each candidate, or ``UNIT_BEFORE`` where the same row (or another cut of it),
    read the other way round, shows by its layout that it is upright and this reading does not.

    Meters print their unit after the counter, and put their red decimal drums at its right
    end; the recogniser reads a unit only the right way up. This settles 0 versus 180 degrees
    where the digits cannot: 0, 1, 6, 8 and 9 read as digits both ways up (01189 turned round
    is 68110).
    """
    upright = [(c.read.strip.row, c.read.strip.angle) for c in candidates
               if upright_by_layout(c.read)]
    weights = []
    for c in candidates:
        row, turned = c.read.strip.row, c.read.strip.angle + 180
        flipped = any(
            _same_line(row, other) and _turn(turned, angle) < 10 for other, angle in upright
        )
        weights.append(UNIT_BEFORE if flipped and not upright_by_layout(c.read) else 1.0)
    return weights


def _turn(a: float, b: float) -> float:
    """The angle between two directions, degrees, 0..180."""
    return abs((a - b + 180) % 360 - 180)


def _same_line(a: Any, b: Any) -> bool:
    """Whether two rows are cuts of one line of the photo: along one axis, centres close."""
    near = math.hypot(a.cx - b.cx, a.cy - b.cy) < 0.5 * max(a.height, b.height)
    turn = _turn(a.angle, b.angle)
    return near and min(turn, 180 - turn) < 10
