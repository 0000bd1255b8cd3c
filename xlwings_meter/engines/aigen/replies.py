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
    if not NUMERIC.match(value) or not math.isfinite(confidence) or not math.isfinite(angle):
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
    return pts  # type: ignore[return-value,unused-ignore]  # four points, checked just above
