"""parse_response against the documented bodies, and against bodies that are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_aigen import FIXTURES, NO_DETECTION_BODY, SUCCESS_BODY
from xlwings_meter.engines.aigen.replies import parse_response
from xlwings_meter.errors import RejectedError, TransientServiceError
from xlwings_meter.reading import ReadingStatus

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "api" / "fixtures"


@pytest.mark.skipif(not SHARED_FIXTURES.is_dir(), reason="the shared API folder is not beside the repo")
@pytest.mark.parametrize("name", ["success.json", "no_detection.json"])
def test_committed_fixtures_are_the_documented_ones(name: str) -> None:
    assert (FIXTURES / name).read_bytes() == (SHARED_FIXTURES / name).read_bytes()


def test_documented_success_body_gives_the_reading() -> None:
    reading = parse_response(200, SUCCESS_BODY)

    assert reading.status is ReadingStatus.READ
    assert reading.value == "3245.010"
    assert reading.number == 3245.01
    assert reading.number_format == "0000.000"
    assert reading.confidence == 0.7603056856564113
    assert reading.angle == 83.69637298583984
    assert len(reading.boxes) == 7
    assert reading.boxes[0][0] == (0.5296012252431698, 0.37202890352182316)
    assert reading.message == ""


@pytest.mark.parametrize("status", [200, 400])
def test_documented_no_detection_body_is_no_reading(status: int) -> None:
    reading = parse_response(status, NO_DETECTION_BODY)

    assert reading.status is ReadingStatus.NO_READING
    assert reading.value == "" and reading.number is None
    assert reading.message.startswith("No reading")


@pytest.mark.parametrize("body", [
    b"<html>Bad Request</html>",  # a proxy's page: it says nothing about the photo
    b'{"status": "error", "error": [{"code": "invalid_image"}], "data": []}',
])
def test_a_400_without_the_documented_body_is_a_refusal_tried_again_not_no_reading(body: bytes) -> None:
    with pytest.raises(RejectedError, match="400"):
        parse_response(400, body)


def test_a_200_with_no_data_is_not_the_documented_reply() -> None:
    with pytest.raises(TransientServiceError):
        parse_response(200, b'{"status": "success", "error": [], "data": []}')


def test_a_value_that_is_not_a_number_is_no_reading_and_says_what_was_read() -> None:
    body = SUCCESS_BODY.replace(b'"3245.010"', b'"32A5.0l0"')

    reading = parse_response(200, body)

    assert reading.status is ReadingStatus.NO_READING
    assert "'32A5.0l0'" in reading.message


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body>502 Bad Gateway</body></html>", b"[]", b'{"data": "x"}', b"\xff\xfe\x00"],
    ids=["empty", "html", "list", "data-not-a-list", "binary"],
)
def test_a_200_with_a_garbage_body_is_a_transient_failure(body: bytes) -> None:
    with pytest.raises(TransientServiceError, match="not the documented JSON"):
        parse_response(200, body)


def test_a_usable_value_is_a_reading_even_when_an_optional_field_is_odd() -> None:
    doc = json.loads(SUCCESS_BODY)
    numbers = doc["data"][0]["numbers"]
    numbers["confidence"] = None
    numbers["angle"] = "high"
    numbers["bboxes_norm"][2] = numbers["bboxes_norm"][2][:3]  # a digit box with three corners

    reading = parse_response(200, json.dumps(doc))

    assert (reading.status, reading.value, reading.confidence, reading.angle) == (
        ReadingStatus.READ, "3245.010", None, None)
    assert len(reading.boxes) == 6  # the six boxes that parse are kept


def test_huge_numbers_and_boxes_outside_the_photo_are_left_out_of_a_reading() -> None:
    """Found by a hostile review: an integer too large for a float in an optional field ended
    the run with an internal error (and every later run paid again); boxes in pixels in the
    normalised field made every later Review sheet fail."""
    doc = json.loads(SUCCESS_BODY)
    numbers = doc["data"][0]["numbers"]
    numbers["confidence"] = 10**400
    numbers["angle"] = -(10**400)
    numbers["bboxes_norm"][0][0] = [10**400, 0.5]
    numbers["bboxes_norm"][1] = [[412, 380], [440, 380], [440, 420], [412, 420]]  # pixels
    numbers["bboxes_norm"][2][0] = [1.01, -0.005]  # rounding: kept, inside the photo

    reading = parse_response(200, json.dumps(doc))

    assert (reading.status, reading.value, reading.confidence, reading.angle) == (
        ReadingStatus.READ, "3245.010", None, None)
    assert len(reading.boxes) == 5
    assert reading.boxes[0][0] == (1.0, 0.0)
    assert all(0 <= c <= 1 for quad in reading.boxes for point in quad for c in point)


def test_a_value_with_more_digits_than_a_meter_has_is_no_reading() -> None:
    """400 digits became `inf` in the workbook's XML, which no spreadsheet opens."""
    body = SUCCESS_BODY.replace(b'"3245.010"', b'"' + b"9" * 400 + b'"')

    reading = parse_response(200, body)

    assert reading.status is ReadingStatus.NO_READING
    assert "400 digits" in reading.message
    assert parse_response(200, SUCCESS_BODY.replace(b'"3245.010"', b'"123456789012.345"')).value == (
        "123456789012.345")


def test_a_200_without_a_value_object_is_a_failure_that_may_have_cost() -> None:
    with pytest.raises(TransientServiceError) as err:
        parse_response(200, b'{"status": "success", "data": [{"numbers": ["3245"]}]}')
    assert err.value.may_have_been_charged
