"""The rolling-drum rule: digits from drum readings in tenths of a step (pure, no numpy)."""

from __future__ import annotations

import math


def roll_digits(tenths: list[float]) -> list[int]:
    """Digits from drum readings in tenths, left to right, by the rolling-drum rule.

    A drum between two digits reads the lower one unless the drum to its right has passed
    9 to 0: a drum moves on only while its right neighbour goes from 9 to 0, so a reading
    never runs ahead of the meter. The last drum reads the digit it mostly shows, rounding
    down unless it is within a fifth of a step of the next.

    >>> roll_digits([0.0, 1.0, 1.0, 8.5, 9.5])   # 8 caught half-way while 9 rolls to 0
    [0, 1, 1, 8, 9]
    >>> roll_digits([0.0, 1.0, 1.9, 0.1])        # 1.9 beside a drum just past 0: really 2
    [0, 1, 2, 0]
    """
    digits: list[int] = []
    right: float | None = None
    for value in reversed(tenths):
        if right is None:
            digit = math.floor(value + 0.2) % 10
        else:
            # How far this drum should have moved on, given where its right neighbour is.
            expected = min(1.0, max(0.0, right - 8.5) / 1.5)
            digit = math.floor(value - expected + 0.5) % 10
        digits.append(digit)
        right = value
    return digits[::-1]
