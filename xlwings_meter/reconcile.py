"""Reconciling readings with the previous ones: consumption, and the flags a person must look at.

Pure: rows in, checks out. A person's correction, where there is one, wins over the machine's
reading in everything computed here. The same flags are also given as spreadsheet formulas
(``highlight_rules``), so the highlight in the workbook follows a person's later edits.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from xlwings_meter.reading import Reading

DEFAULT_MIN_CONFIDENCE = 0.8
#: Without a fixed limit, consumption above this many times the sheet's median is flagged.
DEFAULT_MEDIAN_MULTIPLE = 5.0
#: Fewer positive consumptions than this and the median says nothing about the sheet.
_MEDIAN_MIN_ROWS = 3

# The kinds of flag, as the summary counts them.
NEGATIVE = "negative consumption"
ABOVE_LIMIT = "consumption above the limit"
LOW_CONFIDENCE = "low confidence"
DIGITS = "digit count unlike the previous reading"
NO_READING = "no reading"
NOT_A_NUMBER = "not a number"
FLAG_KINDS = (NEGATIVE, ABOVE_LIMIT, LOW_CONFIDENCE, DIGITS, NO_READING, NOT_A_NUMBER)
#: In every highlight rule this tool writes: how a re-run finds its own rules (and a person
#: reads what a rule is for in Excel's rules manager). N(text) is 0, so it changes nothing.
RULE_MARK = "xlwings-meter"
_NUM = r"-?\d+(?:\.\d+)?"
_FLAG_TEXT = re.compile(rf"no reading|negative consumption \({_NUM}\)"
                        rf"|consumption {_NUM} above (?:the limit|{_NUM} times the median \({_NUM}\))"
                        r"|confidence \d+% under \d+%|\d+ digits, the previous reading has \d+ \(a lost or extra drum\?\)"
                        r"|(?:previous reading|correction) is not a number \([^;]*\)")
#: A Previous or Corrected formula a file holds without its value: never computed (a file no
#: spreadsheet program saved).
NOT_COMPUTED = "formula without a value"


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
    kinds: tuple[str, ...] = ()  # the kind (FLAG_KINDS) of each flag, in the same order

    @property
    def text(self) -> str:
        """The flags in words, for the Check column; "" when the row needs no look."""
        return "; ".join(self.flags)


def is_flag_text(text: object) -> bool:
    """True when a Check cell holds only flags as this tool words them (or nothing): anything
    else there is a person's note.

    >>> is_flag_text("no reading"), is_flag_text("confidence 55% under 80%; no reading"), is_flag_text("ok, Ann")
    (True, True, False)
    >>> is_flag_text("consumption 200 above 5 times the median (11)"), is_flag_text("consumption 5 above normal")
    (True, False)
    """
    if text is None or text == "":
        return True
    return isinstance(text, str) and all(_FLAG_TEXT.fullmatch(part) for part in text.split("; "))


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


def typed_number(value: object) -> float | None:
    """A Previous or Corrected cell as a number: only a number cell counts. Text is never
    parsed: "1,005" may be 1005 or 1.005, and the highlight rules (ISNUMBER) see text as text.

    >>> typed_number(12), typed_number("12"), typed_number(True), typed_number(None)
    (12.0, None, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def not_a_number(value: object) -> bool:
    """True for a filled cell that is not a number: text, an error like #N/A, TRUE/FALSE."""
    return value is not None and value != "" and typed_number(value) is None


def reconcile(rows: Sequence[RowInput], limits: Limits = Limits()) -> list[Check]:
    """The consumption and flags of every row; the median limit looks at the whole sheet."""
    consumptions = [_consumption(r) for r in rows]
    limit, limit_words = _limit(consumptions, limits)
    return [_check(r, _used_value(r), c, limits, limit, limit_words) for r, c in zip(rows, consumptions)]


def consumption_limit(rows: Sequence[RowInput], limits: Limits = Limits()) -> float | None:
    """The consumption above which a row is flagged: the fixed limit, else the multiple of the
    sheet's median; None when there is neither (too few rows to say)."""
    return _limit([_consumption(r) for r in rows], limits)[0]


def _limit(consumptions: Sequence[float | None], limits: Limits) -> tuple[float | None, str]:
    if limits.max_consumption is not None:
        return limits.max_consumption, "the limit"
    positive = [c for c in consumptions if c is not None and c > 0]
    if len(positive) < _MEDIAN_MIN_ROWS:
        return None, ""
    median = statistics.median(positive)
    return median * limits.median_multiple, f"{limits.median_multiple:g} times the median ({_fmt(median)})"


def _used_value(row: RowInput) -> float | None:
    corrected = typed_number(row.corrected)
    return corrected if corrected is not None else row.reading.number


def _consumption(row: RowInput) -> float | None:
    """None where a cell it needs is missing, or is not a number (never the machine's reading
    in place of a correction the tool cannot read)."""
    value, previous = _used_value(row), typed_number(row.previous)
    if value is None or previous is None or not_a_number(row.corrected):
        return None
    return value - previous


def _shown(value: object) -> str:
    """A cell's value in a flag: short, no "; " (it separates flags), spaces named."""
    return str(value).replace(";", ",").replace("\n", " ").strip()[:24] or "spaces"


def _check(row: RowInput, value: float | None, consumption: float | None, limits: Limits,
           limit: float | None, limit_words: str) -> Check:
    bad = [f"{what} is not a number ({_shown(v)})" for what, v in
           (("previous reading", row.previous), ("correction", row.corrected)) if not_a_number(v)]
    corrected = typed_number(row.corrected) is not None
    if value is None:
        return Check(None, ("no reading", *bad), (NO_READING,) + (NOT_A_NUMBER,) * len(bad))
    flags: dict[str, str] = {}  # kind -> words
    previous = None if not_a_number(row.corrected) else typed_number(row.previous)
    if consumption is not None and consumption < 0:
        flags[NEGATIVE] = f"negative consumption ({_fmt(consumption)})"
    if consumption is not None and limit is not None and consumption > limit:
        flags[ABOVE_LIMIT] = f"consumption {_fmt(consumption)} above {limit_words}"
    confidence = row.reading.confidence
    if not corrected and confidence is not None and confidence < limits.min_confidence:
        flags[LOW_CONFIDENCE] = f"confidence {confidence:.0%} under {limits.min_confidence:.0%}"
    if previous is not None and previous >= 1:
        now, before = _whole_digits(value), _whole_digits(previous)
        # One more digit is a meter passing 999 to 1000; a power of ten more is a drum too many.
        if now < before or (now > before and value >= 10 * previous):
            flags[DIGITS] = f"{now} digits, the previous reading has {before} (a lost or extra drum?)"
    return Check(consumption, tuple(flags.values()) + tuple(bad), tuple(flags) + (NOT_A_NUMBER,) * len(bad))


def _whole_digits(value: float) -> int:
    """Digits of the whole part, leading zeros aside: 935.7 -> 3, 0.5 -> 1."""
    return len(str(int(abs(value)))) if abs(value) >= 1 else 1


def _fmt(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")



@dataclass(frozen=True)
class Columns:
    """Where a sheet's cells are, as column letters, for the highlight rules."""

    photo: str
    value: str
    confidence: str
    previous: str
    corrected: str | None = None


def highlight_rules(cols: Columns, first_row: int, limit: float | None,
                    limits: Limits = Limits()) -> list[tuple[str, str]]:
    """(flag kind, formula) of each flag, as conditional-formatting formulas for a range whose
    top row is ``first_row``: each is true on a row the flag applies to, computed from the
    cells themselves (a correction typed later moves the highlight at once). Without "=";
    each carries RULE_MARK."""
    r = first_row
    photo, value, conf, prev = (f"${c}{r}" for c in (cols.photo, cols.value, cols.confidence, cols.previous))
    corrected = f"${cols.corrected}{r}" if cols.corrected else None
    used = f"IF(ISNUMBER({corrected}),{corrected},{value})" if corrected else value
    sure = f"NOT(ISNUMBER({corrected}))," if corrected else ""
    # Filled but not a number: text, TRUE/FALSE, or an error (LEN of an error is an error).
    bad = [f"AND(NOT(ISNUMBER({c})),IFERROR(LEN({c})>0,TRUE))" for c in (prev, corrected) if c]
    both = f"ISNUMBER({prev}),ISNUMBER({used})" + (f",NOT({bad[1]})" if corrected else "")
    digits_now, digits_before = f"LEN(INT(ABS({used})))", f"LEN(INT({prev}))"
    rules = [
        (NEGATIVE, f"AND({both},{used}-{prev}<0)"),
        (LOW_CONFIDENCE, f"AND({sure}ISNUMBER({conf}),{conf}<{limits.min_confidence:g})"),
        (DIGITS, f"AND({both},{prev}>=1,OR({digits_now}<{digits_before},"
                 f"AND({digits_now}>{digits_before},{used}>=10*{prev})))"),
        (NO_READING, f'AND({photo}<>"",NOT(ISNUMBER({used})))'),
        (NOT_A_NUMBER, f"OR({','.join(bad)})"),
    ]
    if limit is not None:
        rules.insert(1, (ABOVE_LIMIT, f"AND({both},{used}-{prev}>{limit:.10g})"))
    return [(kind, f'{formula}+N("{RULE_MARK}: {kind}")') for kind, formula in rules]


@dataclass
class Summary:
    """What a sheet holds after a run: rows per outcome and per flag, total consumption."""

    rows: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # outcome label -> rows
    flags: Counter[str] = field(default_factory=Counter)  # flag kind -> rows
    flagged: int = 0  # rows with at least one flag
    corrected: int = 0  # rows with a person's correction
    consumption: float | None = None  # sum of the Consumption cells after the run; None without Previous
    left_alone: int = 0  # rows whose Consumption and Check hold a person's note: counted as their cell shows
    left_out: int = 0  # of those, rows whose Consumption is not a number: not in the total

    def lines(self) -> list[str]:
        """What the counts per outcome do not say, one fact a line, for the terminal and the
        message box: corrections, total consumption, flagged rows per flag."""
        out = []
        if self.corrected:
            out.append(f"{self.corrected} corrected by hand (Corrected column)")
        if self.consumption is not None:
            out.append(f"total consumption {_fmt(self.consumption)}" + (
                f" ({self.left_alone} row{'s' if self.left_alone != 1 else ''} left alone counted as "
                f"{'its' if self.left_alone == 1 else 'their'} Consumption cell shows"
                + (f", {self.left_out} not a number left out" if self.left_out else "") + ")"
                if self.left_alone else ""))
            out.append(f"{self.flagged} flagged" + (": " + ", ".join(
                f"{self.flags[k]} {k}" for k in FLAG_KINDS if self.flags[k]) if self.flagged else ""))
        return out


def summarize(statuses: Sequence[str], checks: Sequence[Check] | None,
              corrected: int = 0, left_alone: Mapping[int, object] | None = None) -> Summary:
    """The summary of a sheet: ``statuses`` holds each row's outcome label, ``checks`` each
    row's check (None when the sheet has no Previous column), and ``left_alone`` the Consumption
    cell of each row the run leaves alone (a person's note), by its index in ``checks``: the total
    is what the Consumption column shows, a number there counted, text left out."""
    summary = Summary(rows=len(statuses), corrected=corrected)
    summary.statuses.update(statuses)
    if checks is not None:
        left_alone = left_alone or {}
        kept = [typed_number(v) for v in left_alone.values()]
        shown = [round(c.consumption, 6) for i, c in enumerate(checks)
                 if c.consumption is not None and i not in left_alone]
        summary.consumption = round(sum(shown) + sum(v for v in kept if v is not None), 9)
        summary.left_alone, summary.left_out = len(kept), sum(1 for v in kept if v is None)
        summary.flagged = sum(1 for c in checks if c.flags)
        for c in checks:
            summary.flags.update(set(c.kinds))
    return summary
