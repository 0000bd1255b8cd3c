"""How the AIGEN Water Meter API's replies become readings (pure: no I/O)."""

from __future__ import annotations

import json
import math
from typing import Any

from xlwings_meter.errors import RejectedError, TransientServiceError
from xlwings_meter.reading import (
    NO_READING_MESSAGE,
    NUMERIC,
    Quad,
    Reading,
    ReadingStatus,
)

#: A reading with more digits than this is no meter's (a float holds 15 exactly).
MAX_DIGITS = 15
#: How far outside 0..1 a normalised corner may lie (rounding) before the box is left out.
_SLACK = 0.02


def parse_response(http_status: int, body: bytes | str) -> Reading:
    """Turn one reply of the AIGEN Water Meter API into a Reading.

    "No reading" (final, cached) is only what the documentation says it is: the ``bad_request``
    error body, sent with a 400 or a 200, or a 200 whose value is "" with confidence -1. A 400
    without that body (a proxy's error page, another error code) raises RejectedError, and a
    200 whose body is not the documented JSON raises TransientServiceError (the service may
    have billed it): neither is cached, so the photo is tried again later. Other status codes
    are the client's business.

    A 200 whose value is a number is a reading, paid for: an optional field the service got
    wrong (a null confidence, a digit box with three corners) is left out, never a reason to
    ask (and pay) again.

    >>> body = '{"data": [{"numbers": {"value": "0042.7", "confidence": null, "angle": "?"}}]}'
    >>> r = parse_response(200, body)
    >>> r.status.value, r.value, r.confidence, r.angle
    ('read', '0042.7', None, None)
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
        raise _garbled() from exc

    if isinstance(errors, list) and any(_is_bad_request(e) for e in errors):
        return Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE)
    if http_status == 400:
        raise RejectedError("the service refused the photo (400) without the documented reply")
    if not isinstance(numbers, dict):
        raise _garbled()

    raw_value = numbers.get("value")
    if isinstance(raw_value, bool) or not isinstance(raw_value, (str, int, float, type(None))):
        raise _garbled()
    value = "" if raw_value is None else str(raw_value).strip()
    confidence = _number(numbers.get("confidence"))
    angle = _number(numbers.get("angle"))
    if value == "" or (confidence is not None and confidence < 0):
        return Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE)
    if not NUMERIC.match(value):
        return Reading.failure(
            ReadingStatus.NO_READING, f"No reading: the service read {value!r}, which is not a number"
        )
    digits = len(value) - ("." in value)
    if digits > MAX_DIGITS:  # no counter has them; a spreadsheet cell could not hold them exactly
        return Reading.failure(
            ReadingStatus.NO_READING,
            f"No reading: the service read a number of {digits} digits, more than a meter shows",
        )
    boxes = numbers.get("bboxes_norm")
    quads = tuple(q for q in map(_quad, boxes if isinstance(boxes, list) else ()) if q is not None)
    return Reading(ReadingStatus.READ, value=value, confidence=confidence, angle=angle, boxes=quads)


def _garbled() -> TransientServiceError:
    return TransientServiceError("the service sent a reply that is not the documented JSON",
                                 may_have_been_charged=True)


def _is_bad_request(error: Any) -> bool:
    return isinstance(error, dict) and error.get("code") == "bad_request"


def _number(value: Any) -> float | None:
    """A finite number, or None for anything else (null, a word, NaN, an integer too large
    for a float)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _quad(points: Any) -> Quad | None:
    """Four (x, y) corners inside the photo (normalised: 0..1, give or take rounding), or None.
    Corners outside it (pixels sent in the normalised field) would cut a window of the wrong
    part of the photo, or a gigantic one."""
    try:
        pts = tuple((float(x), float(y)) for x, y in points)
    except (TypeError, ValueError, OverflowError):
        return None
    if len(pts) != 4 or not all(-_SLACK <= c <= 1 + _SLACK for p in pts for c in p):
        return None  # NaN fails the comparison too
    return tuple((min(1.0, max(0.0, x)), min(1.0, max(0.0, y))) for x, y in pts)  # type: ignore[return-value]
