"""What one photo yields: a reading, or the reason there is none (pure: no I/O)."""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from xlwings_meter.errors import (
    BatchStopError,
    MeterError,
    NotAnImageError,
    PhotoMissingError,
    RejectedError,
    TransientServiceError,
)

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]

NUMERIC = re.compile(r"^\d+(\.\d+)?$")


class ReadingStatus(str, enum.Enum):
    """Every outcome a photo can have. The values are what the cache sheet stores."""

    READ = "read"
    NO_READING = "no_reading"  # the engine looked and found no meter digits
    FILE_MISSING = "file_missing"
    NOT_AN_IMAGE = "not_an_image"
    REJECTED = "rejected"  # the service refused this one request (a 4xx other than 400)
    FAILED = "failed"  # transient failures outlasted every retry
    NOT_READ = "not_read"  # not sent: cache only, or the batch stopped before this photo

    @property
    def label(self) -> str:
        """How summaries name the outcome: "12 read, 1 no reading, 2 file missing"."""
        return self.value.replace("_", " ").replace("rejected", "rejected by the service")

    @property
    def is_final(self) -> bool:
        """True when asking again about the same photo content would give the same answer.

        Only final outcomes are cached: a transient failure or a refusal is tried again.
        """
        return self in (ReadingStatus.READ, ReadingStatus.NO_READING)


@dataclass(frozen=True)
class Reading:
    """The reading of one photo.

    ``value`` is the counter exactly as the engine read it: a string that keeps leading zeros and
    the decimals (``"00935.781"``); ``number`` is the same as a float. ``boxes`` are the digit
    quadrilaterals in coordinates normalised to 0..1 of the photo as uploaded (after its EXIF
    orientation), left digit first, so evidence can be cropped from any size of the same photo.

    >>> r = Reading(ReadingStatus.READ, value="00935.781", confidence=0.93, angle=1.5)
    >>> r.number, r.number_format
    (935.781, '00000.000')
    """

    status: ReadingStatus
    value: str = ""
    confidence: float | None = None
    angle: float | None = None
    boxes: tuple[Quad, ...] = field(default=())
    message: str = ""  # why there is no reading, for a person; "" when read

    @property
    def number(self) -> float | None:
        """The value as a number, or None when there is no reading."""
        if self.status is not ReadingStatus.READ or not NUMERIC.match(self.value):
            return None
        return float(self.value)

    @property
    def decimals(self) -> int:
        """How many decimals the engine read (``"3245.010"`` -> 3)."""
        _, _, frac = self.value.partition(".")
        return len(frac)

    @property
    def number_format(self) -> str:
        """An Excel number format that shows the number exactly as read, zeros included."""
        if self.number is None:
            return "General"
        whole, _, frac = self.value.partition(".")
        return "0" * max(len(whole), 1) + ("." + "0" * len(frac) if frac else "")

    @classmethod
    def failure(cls, status: ReadingStatus, message: str) -> Reading:
        """A reading that did not happen, with the reason a person will see in the row."""
        return cls(status=status, message=message)


NO_READING_MESSAGE = "No reading: no meter counter was found in the photo"


def failure_for(exc: MeterError) -> Reading:
    """The reading a row gets when ``exc`` kept its photo from being read: the one mapping.

    >>> failure_for(TransientServiceError("Service error 503 after 4 tries", attempts=4)).message
    'Failed: Service error 503 after 4 tries'
    >>> failure_for(PhotoMissingError("File not found: m.jpg")).status.value
    'file_missing'
    """
    if isinstance(exc, PhotoMissingError):
        return Reading.failure(ReadingStatus.FILE_MISSING, str(exc))
    if isinstance(exc, NotAnImageError):
        return Reading.failure(ReadingStatus.NOT_AN_IMAGE, str(exc))
    if isinstance(exc, TransientServiceError):
        return Reading.failure(ReadingStatus.FAILED, f"Failed: {exc}")
    if isinstance(exc, RejectedError):
        return Reading.failure(ReadingStatus.REJECTED, f"Rejected: {exc}")
    if isinstance(exc, BatchStopError):
        return Reading.failure(ReadingStatus.NOT_READ, f"Not read: the batch stopped ({exc})")
    return Reading.failure(ReadingStatus.NOT_READ, f"Not read: {exc}")


def count_outcomes(readings: Iterable[Reading]) -> str:
    """How many rows got each outcome, in a fixed order, for every summary a person reads.

    >>> count_outcomes([Reading(ReadingStatus.READ), Reading.failure(ReadingStatus.FAILED, "x")])
    '1 read, 1 failed'
    >>> count_outcomes([Reading.failure(ReadingStatus.NO_READING, "x")]), count_outcomes([])
    ('0 read, 1 no reading', '0 read')
    """
    counts = Counter(r.status for r in readings)
    return ", ".join(f"{counts[s]} {s.label}" for s in ReadingStatus
                     if counts[s] or s is ReadingStatus.READ)
