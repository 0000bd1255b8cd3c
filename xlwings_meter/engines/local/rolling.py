"""The rolling-drum rule: digits from drum readings in tenths of a step (pure, no numpy).

A counter's drum moves on only while the drum to its right goes from 9 to 0, so a drum caught
between two digits reads the lower one unless the drum to its right has passed 9 to 0: a
reading never runs ahead of the meter.
"""

from __future__ import annotations

import math

#: A drum read within this much below the next digit is taken as that digit (the classifier's
#: own error on a whole digit is about a tenth).
_SLACK = 0.3
#: The last drum has no neighbour to tell: it rounds up only this close to the next digit.
_LAST_SLACK = 0.2
#: A right neighbour resolved to a digit below this has passed 9 to 0.
_PASSED_BELOW = 2.5
#: From this reading on, a right neighbour is carrying its left neighbour along.
_CARRY_FROM = 9.0


#: A row's common offset from whole digits is taken off only up to this much: more is a row
#: caught rolling, not a crop cut too high or too low.
_MAX_BIAS = 0.3


def debias(tenths: list[float]) -> list[float]:
    """Drum readings less the row's common offset from whole digits.

    Crops cut a little too high or too low make every drum of a row read a little rolled (a
    crop too high shows each digit low in it, as a drum coming in from below): 3.8, 4.8, 1.8,
    8.9 for 4, 5, 2, 9. Most drums of a counter stand still at any moment, so the median
    offset of the row is the crop's, and it is taken off every drum.

    >>> debias([3.8, 4.8, 1.8, 8.9, 3.7])
    [4.0, 5.0, 2.0, 9.1, 3.9]
    """
    if len(tenths) < 3:
        return list(tenths)
    offsets = sorted((t - round(t) + 0.5) % 1.0 - 0.5 for t in tenths)
    mid = len(offsets) // 2
    bias = offsets[mid] if len(offsets) % 2 else (offsets[mid - 1] + offsets[mid]) / 2
    if abs(bias) > _MAX_BIAS:
        return list(tenths)
    return [round((t - bias) % 10.0, 4) for t in tenths]


def roll_digits(tenths: list[float]) -> list[int]:
    """Digits from drum readings in tenths (each in [0, 10)), left to right.

    >>> roll_digits([0.0, 1.0, 1.0, 8.5, 9.5])   # 8 caught half-way while 9 rolls to 0
    [0, 1, 1, 8, 9]
    >>> roll_digits([0.0, 1.0, 1.9, 0.1])        # 1.9 beside a drum just past 0: really 2
    [0, 1, 2, 0]
    """
    digits: list[int] = []
    right: float | None = None  # the right neighbour, as resolved
    for value in reversed(tenths):
        if right is None:
            digit = math.floor(value + _LAST_SLACK)
        elif right < _PASSED_BELOW:
            digit = math.floor(value + 1 - _SLACK + 0.05)  # past: the upper digit
        elif right >= _CARRY_FROM:
            # Carried along part of the way: take off what the neighbour explains.
            digit = math.floor(value + _SLACK - 0.8 * (right - _CARRY_FROM))
        else:
            digit = math.floor(value + _SLACK)
        digit %= 10
        digits.append(digit)
        # A neighbour read as the next digit up (a drum all but done) counts as that digit.
        right = value if digit == math.floor(value) % 10 else float(digit)
    return digits[::-1]
