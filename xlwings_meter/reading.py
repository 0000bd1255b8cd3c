"""What one photo yields, and how the AIGEN API's replies become one (pure: no I/O)."""

from __future__ import annotations

import enum
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import RejectedError, TransientServiceError

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]

_NUMERIC = re.compile(r"^\d+(\.\d+)?$")


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
        if self.status is not ReadingStatus.READ or not _NUMERIC.match(self.value):
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


def parse_response(http_status: int, body: bytes | str) -> Reading:
    """Turn one reply of the AIGEN Water Meter API into a Reading.

    "No reading" (final, cached) is only what the documentation says it is: the ``bad_request``
    error body, sent with a 400 or a 200, or a 200 whose value is "" with confidence -1. A 400
    without that body (a proxy's error page, another error code) raises RejectedError, and a
    200 whose body is not the documented JSON raises TransientServiceError: neither is cached,
    so the photo is tried again later. Other status codes are the client's business.
    """
    if http_status not in (200, 400):
        raise ValueError(f"parse_response handles 200 and 400, not {http_status}")
    try:
        doc = json.loads(body)
        errors = doc.get("error") or []
        data = doc.get("data") or []
        numbers = data[0]["numbers"] if data else None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        if http_status == 400:
            raise RejectedError("the service refused the photo (400) without the documented reply") from exc
        raise TransientServiceError("the service sent a reply that is not the documented JSON") from exc

    if any(_is_bad_request(e) for e in errors):
        return Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE)
    if http_status == 400:
        raise RejectedError("the service refused the photo (400) without the documented reply")
    if not isinstance(numbers, dict):
        raise TransientServiceError("the service sent a reply that is not the documented JSON")
    try:
        value = str(numbers.get("value") or "")
        confidence = float(numbers.get("confidence", -1.0))
        angle = float(numbers.get("angle", 0.0))
        boxes = tuple(_quad(q) for q in numbers.get("bboxes_norm") or ())
    except (ValueError, TypeError, AttributeError) as exc:
        raise TransientServiceError("the service sent a reading in an unexpected shape") from exc

    if value == "" or confidence < 0:
        return Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE)
    if not _NUMERIC.match(value) or not math.isfinite(confidence) or not math.isfinite(angle):
        return Reading.failure(
            ReadingStatus.NO_READING, f"No reading: the service read {value!r}, which is not a number"
        )
    return Reading(ReadingStatus.READ, value=value, confidence=confidence, angle=angle, boxes=boxes)


def _is_bad_request(error: Any) -> bool:
    return isinstance(error, dict) and error.get("code") == "bad_request"


def _quad(points: Any) -> Quad:
    pts = tuple((float(x), float(y)) for x, y in points)
    if len(pts) != 4:
        raise ValueError("a digit box has four corners")
    return pts  # type: ignore[return-value]
