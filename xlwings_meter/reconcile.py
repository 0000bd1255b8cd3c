"""Reconciling readings with the previous ones: consumption, and the flags a person must look at.

Pure: rows in, checks out. A person's correction, where there is one, wins over the machine's
reading in everything computed here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from xlwings_meter.reading import Reading

DEFAULT_MIN_CONFIDENCE = 0.8
#: Without a fixed limit, consumption above this many times the sheet's median is flagged.
DEFAULT_MEDIAN_MULTIPLE = 5.0
#: Fewer positive consumptions than this and the median says nothing about the sheet.
_MEDIAN_MIN_ROWS = 3


@dataclass(frozen=True)
class Limits:
    """When a row is flagged."""

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    max_consumption: float | None = None  # a fixed limit; None: a multiple of the median
    median_multiple: float = DEFAULT_MEDIAN_MULTIPLE


@dataclass(frozen=True)
class RowInput:
    """One photo row: the machine's reading, the previous reading and a person's correction."""

    reading: Reading
    previous: object = None  # as typed in the Previous column: a number, text, or nothing
    corrected: object = None  # as typed in the Corrected column


@dataclass(frozen=True)
class Check:
    """What reconciliation says of one row."""

    consumption: float | None
    flags: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The flags in words, for the Check column; "" when the row needs no look."""
        return "; ".join(self.flags)


def number(value: object) -> float | None:
    """A cell's value as a number: numbers as they are, text like "00935.5" or "1 234,5" parsed.

    >>> number(12), number(" 00935.50 "), number("1 234,5"), number("n/a"), number(True)
    (12.0, 935.5, 1234.5, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip().replace(" ", "").replace("\u00a0", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        result = float(text)
    except ValueError:
        return None
    return result if math.isfinite(result) else None


def reconcile(rows: Sequence[RowInput], limits: Limits = Limits()) -> list[Check]:
    """The consumption and flags of every row; the median limit looks at the whole sheet."""
    used = [_used_value(r) for r in rows]
    consumptions = [None if value is None or (prev := number(r.previous)) is None else value - prev
                    for r, value in zip(rows, used)]
    limit, limit_words = limits.max_consumption, "the limit"
    if limit is None:
        positive = [c for c in consumptions if c is not None and c > 0]
        if len(positive) >= _MEDIAN_MIN_ROWS:
            median = statistics.median(positive)
            limit = median * limits.median_multiple
            limit_words = f"{limits.median_multiple:g} times the median ({_fmt(median)})"
    return [_check(r, value, c, limits, limit, limit_words) for r, value, c in zip(rows, used, consumptions)]


def _used_value(row: RowInput) -> float | None:
    corrected = number(row.corrected)
    return corrected if corrected is not None else row.reading.number


def _check(row: RowInput, value: float | None, consumption: float | None, limits: Limits,
           limit: float | None, limit_words: str) -> Check:
    flags: list[str] = []
    corrected = number(row.corrected) is not None
    if value is None:
        flags.append("no reading")
        return Check(None, tuple(flags))
    previous = number(row.previous)
    if consumption is not None and consumption < 0:
        flags.append(f"negative consumption ({_fmt(consumption)})")
    if consumption is not None and limit is not None and consumption > limit:
        flags.append(f"consumption {_fmt(consumption)} above {limit_words}")
    confidence = row.reading.confidence
    if not corrected and confidence is not None and confidence < limits.min_confidence:
        flags.append(f"confidence {confidence:.0%} under {limits.min_confidence:.0%}")
    if previous is not None and previous >= 1:
        now, before = _whole_digits(value), _whole_digits(previous)
        # One more digit is a meter passing 999 to 1000; a power of ten more is a drum too many.
        if now < before or (now > before and value >= 10 * previous):
            flags.append(f"{now} digits, the previous reading has {before} (a lost or extra drum?)")
    return Check(consumption, tuple(flags))


def _whole_digits(value: float) -> int:
    """Digits of the whole part, leading zeros aside: 935.7 -> 3, 0.5 -> 1."""
    return len(str(int(abs(value)))) if abs(value) >= 1 else 1


def _fmt(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")

