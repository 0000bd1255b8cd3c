"""Decoding the text recogniser's per-column scores (CTC) over digits only, into a candidate
reading of a strip: its digits, where they sit, their drums' colours.

Pure array logic: the local engine feeds it strips and the recogniser's probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from xlwings_meter.engines.local.colours import drum_share, looks_like_drum, red_on_left
from xlwings_meter.engines.local.colours import red_cells as _red_cells
from xlwings_meter.engines.local.geometry import REC_HEIGHT, REC_STRIDE, Strip

#: Digits read less surely than this are read again at vertical shifts (see ``reread``).
DOUBTFUL = 0.9


#: Those shifts, in strip heights: enough to centre the larger part of a drum caught between
#: two digits, not enough to centre the smaller one.
REREAD_SHIFTS = (-0.3, -0.15, 0.15, 0.3)


#: A drum-like slot past the row's end is taken as a digit when a shift reads one this surely.
UNREAD_TAKEN = 0.5


_BLANK, _OTHER = -2, -1


@dataclass(frozen=True)
class Digit:
    """One digit read off a strip, with its probability and its centre column in the strip."""

    char: str
    prob: float
    x: float
    guessed: bool = False  # filled in where the recogniser saw no digit: a drum between two


@dataclass(frozen=True)
class CounterRead:
    """What one strip says: digits in order, which are red, and how believable it is."""

    strip: Strip
    digits: tuple[Digit, ...]
    red: tuple[bool, ...]
    foreign: int  # characters inside the row that are not digits (letters, symbols)
    pitch: float  # median distance between digit centres, strip pixels
    gaps: int  # drums past the ends of the strip, which could not be read
    drums: float  # share of the row's background that is dark or red, as drums are
    backwards: bool  # red drums sit on the left: the row is being read upside down
    unread: tuple[float, ...] = ()  # strip columns of those drums past the ends
    letters: tuple[float, ...] = ()  # strip columns of characters that are not digits

    @property
    def decimals(self) -> int:
        """Trailing red drums: the decimals."""
        n = 0
        for is_red in reversed(self.red):
            if not is_red:
                break
            n += 1
        return n

    @property
    def red_elsewhere(self) -> bool:
        """Red drums that are not at the right end: the sign of a row read backwards."""
        return any(self.red[: len(self.red) - self.decimals])

    @property
    def value(self) -> str:
        """The digits as a meter value string, decimal point placed before the red drums."""
        chars = "".join(d.char for d in self.digits)
        n_dec = self.decimals
        if n_dec == 0 or n_dec >= len(chars):
            return chars
        return chars[:-n_dec] + "." + chars[-n_dec:]


def read_strip(strip: Strip, probs: np.ndarray, digit_index: np.ndarray) -> CounterRead:
    """Decode one strip's CTC probabilities (T x C), digits only, and look at drum colours.

    ``digit_index[d]`` is the recogniser's class for digit ``d``; class 0 is the CTC blank.
    A column whose best class is another character with some certainty is *foreign*; foreign
    characters between the first and the last digit count against the row (a counter has none;
    a unit after it or a label before it is fine).
    """
    width = strip.pixels.shape[1]
    probs = probs[: max(1, math.ceil(width / REC_STRIDE))]
    digit_p = probs[:, digit_index]
    best_digit, best_digit_p = digit_p.argmax(1), digit_p.max(1)
    top = probs.argmax(1)
    other = ~np.isin(top, np.concatenate([[0], digit_index])) & (probs.max(1) > 0.5)
    labels = np.where(other, _OTHER, np.where(best_digit_p > probs[:, 0], best_digit, _BLANK))

    runs: list[list[float]] = []  # [label, first column, last column, best probability]
    for t, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1][2] = t
            runs[-1][3] = max(runs[-1][3], float(best_digit_p[t]))
        else:
            runs.append([int(label), t, t, float(best_digit_p[t])])
    if strip.row.source == "window":  # a drum window holds digits only: glare may look foreign
        digit_runs = [i for i, run in enumerate(runs) if run[0] >= 0]
    else:
        digit_runs = _longest_segment(runs)
    digits = tuple(
        Digit(str(int(runs[i][0])), runs[i][3], (runs[i][1] + runs[i][2] + 1) / 2 * REC_STRIDE)
        for i in digit_runs
    )
    inside = runs[digit_runs[0] : digit_runs[-1]] if digit_runs else []
    foreign = sum(1 for run in inside if run[0] == _OTHER)

    pitch = _pitch(digits)
    digits = _fill_gaps(digits, pitch, digit_p)
    if strip.row.source == "window":  # the window's own ends bound its drums
        bounds = (strip.margin + 0.35 * pitch, strip.pixels.shape[1] - strip.margin - 0.35 * pitch)
    else:
        bounds = (0.5 * pitch, strip.pixels.shape[1] - 0.5 * pitch)
    unread: tuple[float, ...] = ()
    if strip.row.source == "window":  # text rows end where the text does: guess nothing past
        digits, unread = _fill_ends(strip.pixels, digits, pitch, digit_p, bounds)
    xs = np.array([d.x for d in digits])
    red = _red_cells(strip.pixels, [d.x for d in digits], pitch)
    return CounterRead(
        strip,
        digits,
        red,
        foreign,
        pitch,
        len(unread),
        drum_share(strip.pixels, xs),
        red_on_left(strip.pixels, xs, pitch),
        unread,
        tuple((run[1] + run[2] + 1) / 2 * REC_STRIDE for run in runs if run[0] == _OTHER),
    )


def _longest_segment(runs: list[list[float]]) -> list[int]:
    """Indices of the digit runs in the longest stretch not broken by a foreign character:
    a unit (``m3``) or a label (``No.``) beside a counter ends it, and what lies past it,
    such as the unit's superscript, is not a drum."""
    segments: list[list[int]] = [[]]
    for i, run in enumerate(runs):
        if run[0] == _OTHER:
            segments.append([])
        elif run[0] >= 0:
            segments[-1].append(i)
    return max(segments, key=len)


def is_doubtful(read: CounterRead) -> bool:
    """Whether some digit of ``read`` is guessed or unsure, or a drum was left unread."""
    return bool(read.unread) or any(d.guessed or d.prob < DOUBTFUL for d in read.digits)


def reread(
    read: CounterRead, shifted_probs: list[np.ndarray], digit_index: np.ndarray
) -> CounterRead:
    """Revise the doubtful digits of ``read`` with the recogniser's scores for its strip cut
    at ``REREAD_SHIFTS`` (``shifted_probs``, one T x C array per shift).

    A drum caught between two digits shows part of each, both off-centre; the recogniser reads
    a digit best when it is centred, and the digit with more of itself in the window then
    scores highest at one of the shifts. A doubtful digit becomes the best-scored digit at any
    shift when that beats what was read, and then counts as guessed (split evidence). A drum
    left unread past the row's end becomes a guessed digit when a shift shows one there.
    """
    columns = max(1, math.ceil(read.strip.pixels.shape[1] / REC_STRIDE))
    scores = np.stack([p[:columns, digit_index] for p in shifted_probs]).max(0)  # T x 10

    def best_at(x: float) -> tuple[str, float]:
        lo = max(0, int((x - 0.4 * read.pitch) / REC_STRIDE))
        hi = min(len(scores), int((x + 0.4 * read.pitch) / REC_STRIDE) + 1)
        if hi <= lo:
            return "", 0.0
        slot = scores[lo:hi].max(0)
        return str(int(slot.argmax())), float(slot.max())

    digits = []
    for d in read.digits:
        if d.guessed or d.prob < DOUBTFUL:
            char, prob = best_at(d.x)
            if char != d.char and prob > d.prob:
                # Split evidence: the new digit counts as guessed, whatever its score.
                d = replace(d, char=char, prob=prob, guessed=True)
        digits.append(d)
    # A drum past the window's end (which glare can hide) is taken if a shift shows a digit
    # of its own there: one emitted nearer to it than to any digit already read.
    emitted = [e for p in shifted_probs for e in _emissions(p, digit_index, columns)]
    unread = []
    for x in read.unread:
        own = [
            e
            for e in emitted
            if abs(e.x - x) < 0.5 * read.pitch
            and all(abs(e.x - x) < abs(e.x - d.x) for d in read.digits)
        ]
        best = max(own, key=lambda e: e.prob, default=None)
        if best is not None and best.prob > UNREAD_TAKEN:
            digits.append(Digit(best.char, best.prob, x, guessed=True))
        else:
            unread.append(x)
    if len(unread) == len(read.unread):
        return replace(read, digits=tuple(digits))
    digits.sort(key=lambda d: d.x)
    pixels, pitch = read.strip.pixels, read.pitch
    return replace(
        read,
        digits=tuple(digits),
        red=_red_cells(pixels, [d.x for d in digits], pitch),
        gaps=len(unread),
        unread=tuple(unread),
    )


def _emissions(probs: np.ndarray, digit_index: np.ndarray, columns: int) -> list[Digit]:
    """The digits a strip's CTC probabilities emit (runs of columns where a digit beats the
    blank), each at the centre of its run."""
    digit_p = probs[:columns, digit_index]
    best, best_p = digit_p.argmax(1), digit_p.max(1)
    labels = np.where(best_p > probs[:columns, 0], best, -1)
    out, t = [], 0
    while t < len(labels):
        end = t
        while end + 1 < len(labels) and labels[end + 1] == labels[t]:
            end += 1
        if labels[t] >= 0:
            x = (t + end + 1) / 2 * REC_STRIDE
            out.append(Digit(str(int(labels[t])), float(best_p[t : end + 1].max()), x))
        t = end + 1
    return out


def _pitch(digits: tuple[Digit, ...]) -> float:
    """Distance between neighbouring drums: the smaller half of the spacings is the truest
    (a skipped digit doubles one spacing, never halves one)."""
    if len(digits) < 2:
        return REC_HEIGHT * 0.8
    steps = np.sort(np.diff([d.x for d in digits]))
    return float(np.median(steps[: max(1, (len(steps) + 1) // 2 + 1)]))


def _fill_gaps(digits: tuple[Digit, ...], pitch: float, digit_p: np.ndarray) -> tuple[Digit, ...]:
    """Put back the digits the decoder skipped between two others: a drum half-way between two
    digits often scores below the blank, yet its best digit is usually the right one. The
    guessed digit keeps its low probability, which the confidence then shows."""
    out: list[Digit] = []
    for d in digits:
        if out:
            start, step = out[-1].x, d.x - out[-1].x
            missing = round(step / pitch) - 1
            for k in range(1, missing + 1):
                x = start + step * k / (missing + 1)
                lo = max(0, int((x - 0.5 * pitch) / REC_STRIDE))
                hi = min(len(digit_p), int((x + 0.5 * pitch) / REC_STRIDE) + 1)
                if hi > lo:
                    scores = digit_p[lo:hi].max(0)
                    best = int(scores.argmax())
                    out.append(Digit(str(best), float(scores[best]), x, guessed=True))
        out.append(d)
    return tuple(out)


def _fill_ends(
    pixels: np.ndarray,
    digits: tuple[Digit, ...],
    pitch: float,
    digit_p: np.ndarray,
    bounds: tuple[float, float],
) -> tuple[tuple[Digit, ...], tuple[float, ...]]:
    """Guess the digits of drums beyond either end of what was read, as ``_fill_gaps`` does
    inside. A drum is where the background one pitch further on is dark or red like a drum's;
    slots are looked for between ``bounds`` (strip columns). Returns the digits and the columns
    of the drum-like slots that lay past the bounds, unread.
    """
    if not digits:
        return digits, ()
    out, unread = list(digits), []
    for side in (-1, 1):
        for _ in range(2):
            x = (out[0] if side < 0 else out[-1]).x + side * pitch
            if not looks_like_drum(pixels, x, pitch):
                break
            if not bounds[0] <= x <= bounds[1]:
                unread.append(x)
                break
            lo = max(0, int((x - 0.4 * pitch) / REC_STRIDE))
            hi = min(len(digit_p), int((x + 0.4 * pitch) / REC_STRIDE) + 1)
            scores = digit_p[lo:hi].max(0)
            best = int(scores.argmax())
            guess = Digit(str(best), float(scores[best]), x, guessed=True)
            out.insert(0, guess) if side < 0 else out.append(guess)
    return tuple(out), tuple(unread)
